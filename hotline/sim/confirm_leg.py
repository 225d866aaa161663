"""The agent's confirm leg: the FastAGI connection Dial's ``U()`` Gosub opens.

Asterisk runs ``[hotline-confirm]`` on the answered agent channel before
bridging; its AGI step (hotline/contract.py: ``confirm_agi``) connects to the
runtime with the agent channel's header (``agi_callerid`` is the caller's
dialplan extension, context ``hotline-confirm``, extension ``s``, priority 2:
tests/sim/recordings/01_*_002_confirm_*.rx).  The scripted agent presses keys
and hangs up in virtual time; a caller hanging up meanwhile is not told to this
leg (tests/sim/recordings/10_*_confirm_*.rx): ``CHANNEL(checkhangup)`` of the
caller shows it, and AMI's HangupRequest (recording 20).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hotline.agi.testing import build_header
from hotline.sim import events
from hotline.sim.agents import AgentBehaviour
from hotline.sim.channels import CAUSE_NORMAL, Channel
from hotline.sim.legs import AgiLeg
from hotline.sim.media import DigitsRead, Outcome, Press
from hotline.sim.records import AgentLeg

if TYPE_CHECKING:
    from hotline.sim.call import Call


class ConfirmLeg(AgiLeg):
    """Answers the confirm route's commands as the agent's channel would."""

    def __init__(
        self,
        call: Call,
        channel: Channel,
        leg: AgentLeg,
        behaviour: AgentBehaviour,
        phone: Channel | None = None,
    ) -> None:
        super().__init__(call, channel, leg.commands, leg.played)
        self.party = leg.agent
        self.leg = leg
        self.behaviour = behaviour
        #: the agent's own end (``;2`` of a Local channel), hung up with the agent
        self.phone = phone
        whisper = call.now()
        limit = behaviour.hangup_after if behaviour.kind == "hangup" else behaviour.patience
        self.hangup_time = whisper + limit
        key = behaviour.key
        if key is not None:
            moment = whisper + behaviour.press_after
            while moment < self.hangup_time:
                self.presses.append(Press(moment, key))
                if behaviour.repeat_every <= 0:
                    break
                moment += behaviour.repeat_every

    #: virtual moment the caller hangs up during this confirm, if they do (set by the Dial)
    caller_leaves_at: float | None = None
    _caller_left_told = False

    def far_hangup_at(self, step: str, name: str, start: float, length: float) -> float | None:
        return self.hangup_time

    async def execute(self, line: str) -> str:
        reply = await super().execute(line)
        await self._tell_ami_the_caller_left()
        return reply

    async def _tell_ami_the_caller_left(self) -> None:
        """AMI hears of the caller's hang-up when it happens, while this leg still runs:
        SoftHangupRequest of the caller's own end (;2), HangupRequest of the channel the
        hotline serves (;1), Hangup of ;2 (tests/ami/recordings/20_*.raw).  This leg is
        told nothing; only ``CHANNEL(checkhangup)`` of the caller turns 1."""
        leaves = self.caller_leaves_at
        if leaves is None or self._caller_left_told or self.call.now() < leaves:
            return
        self._caller_left_told = True
        caller, peer = self.call.caller, self.call.caller_peer
        await self.call.emit(events.soft_hangup_request, peer, CAUSE_NORMAL)
        await self.call.emit(events.hangup_request, caller, CAUSE_NORMAL)
        peer.hang_up(CAUSE_NORMAL, at=leaves)
        if not peer.hangup_reported:
            peer.hangup_reported = True
            await self.call.emit(events.hangup, peer, CAUSE_NORMAL)

    async def far_end_hung_up(self, at: float, step: str) -> None:
        self.leg.agent_hung_up = True
        self.note("agent hung up")
        if self.phone is not None:
            await self.call.hang_up_channels(self.phone)

    async def runtime_hung_up(self) -> None:
        self.leg.released = True
        self.note("runtime hung up the agent channel")

    async def set_var(self, name: str, value: str, channel: Channel | None = None) -> None:
        if name == "HOTLINE_CONFIRM" and channel in (None, self.channel):
            self.leg.hotline_confirm = value
        await super().set_var(name, value, channel)

    async def _advance(self, outcome: Outcome | DigitsRead, start: float) -> None:
        await super()._advance(outcome, start)
        if isinstance(outcome, Outcome):
            if outcome.kind == "digit":
                self.leg.digits.append(outcome.digit)
        else:
            self.leg.digits.extend(outcome.digits)

    async def run(self, args: tuple[str, ...]) -> None:
        """Open the confirm leg, serve it until the runtime closes it, set AGISTATUS."""
        env = self.call.env
        count = env.confirm_args
        values = [*args[:count], *[""] * (count - len(args[:count]))]
        channel = self.channel
        channel.variables["HOTLINE_CONFIRM"] = ""  # s,1: Set(HOTLINE_CONFIRM=)
        for number, value in enumerate(args, start=1):
            channel.variables[f"ARG{number}"] = value
        header = build_header(
            env.confirm_script,
            uniqueid=channel.uniqueid,
            callerid=self.call.script.extension,
            calleridname=self.call.caller.callerid_name,
            channel=channel.name,
            context=env.confirm_context,
            extension="s",
            priority="2",
            language=channel.language,
            request=f"agi://{env.agi_host}:{env.confirm_port}/{env.confirm_script}",
            args=values,
        )
        try:
            await self.connect(header, env.confirm_port)
        except OSError as exc:
            await self.close()
            self.leg.agi_status = channel.variables["AGISTATUS"] = "FAILURE"
            self.note(f"confirm AGI could not reach the runtime ({exc.strerror or exc})")
            return
        self.leg.confirm_opened = True
        self.note(f"confirm leg opened on {channel.name}")
        try:
            await self.serve()
        finally:
            await self.close()
        status = "SUCCESS" if channel.alive() else "HANGUP"
        self.leg.agi_status = channel.variables["AGISTATUS"] = status
        shown = channel.variables.get("HOTLINE_CONFIRM", "")
        self.note(f"confirm leg closed (AGISTATUS={status}, HOTLINE_CONFIRM={shown or 'unset'})")
