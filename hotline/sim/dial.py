"""``EXEC Dial`` on the caller leg, following docs/asterisk/dialstatus_matrix.md.

What the caller leg reads back afterwards (Asterisk 22.10.1, recorded):

=========================  ==============  ==========  ============================
outcome                    EXEC Dial       DIALSTATUS  also
=========================  ==============  ==========  ============================
no answer                  ``result=0``    NOANSWER    HANGUPCAUSE 0, times empty
busy / congestion / unav.  ``result=0``    BUSY / …    at once, HANGUPCAUSE 0
caller hangs up ringing    ``result=-1``   CANCEL      then the HANGUP line
subroutine CONTINUE        ``result=0``    ANSWER      GOSUB_RETVAL = Return value
accepted, bridge ends      ``result=-1``   ANSWER      DIALEDTIME/ANSWEREDTIME =
                                                       caller channel age/up-time
caller gone in confirm     ``result=-1``   ANSWER      confirm leg was not told
agent gone, nothing set    ``result=-1``   ANSWER      bridged a dead peer (run 14)
caller already hung up     ``result=-1``   CANCEL      nobody dialled
=========================  ==============  ==========  ============================
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hotline.contract import CONTINUE
from hotline.sim import events
from hotline.sim.agents import AgentBehaviour
from hotline.sim.caller import (
    DEFAULT_BRIDGE_HANGUP,
    DEFAULT_CONFIRM_HANGUP,
    DEFAULT_RINGING_HANGUP,
)
from hotline.sim.channels import (
    CAUSE_NORMAL,
    STATE_RINGING,
    Channel,
    leg_end_causes,
)
from hotline.sim.confirm_leg import ConfirmLeg
from hotline.sim.dialplan import (
    STOPPING_GOSUB_RESULTS,
    CalleeGosub,
    DialTarget,
    SubroutineResult,
    parse_dial,
)
from hotline.sim.records import AgentLeg

if TYPE_CHECKING:
    from hotline.sim.legs import AgiLeg

#: variables Dial clears when it starts (VarSet events in the recordings)
DIAL_VARIABLES = (
    "DIALSTATUS",
    "DIALEDPEERNUMBER",
    "DIALEDPEERNAME",
    "ANSWEREDTIME",
    "ANSWEREDTIME_MS",
    "DIALEDTIME",
    "DIALEDTIME_MS",
    "RINGTIME",
    "RINGTIME_MS",
    "PROGRESSTIME",
    "PROGRESSTIME_MS",
)
#: Busy() from a Local agent gives BUSY after about 2 ms (run 04)
FAILURE_DELAY = 0.002


@dataclass
class _Attempt:
    """One target of this Dial."""

    target: DialTarget
    behaviour: AgentBehaviour
    leg: AgentLeg
    one: Channel | None = None
    two: Channel | None = None
    status: str = ""

    @property
    def channels(self) -> list[Channel]:
        return [c for c in (self.one, self.two) if c is not None]


class Dial:
    """One ``EXEC Dial`` of the caller leg."""

    def __init__(self, leg: AgiLeg, data: str) -> None:
        self.leg = leg
        self.call = leg.call
        self.env = leg.call.env
        self.caller = leg.call.caller
        self.data = data
        self.request = parse_dial(data)

    async def run(self) -> str:
        self.call.record.dialed.append(self.data)
        for name in DIAL_VARIABLES:
            await self.leg.set_var(name, "")
        if not self.caller.alive():
            await self.leg.set_var("DIALSTATUS", "CANCEL")
            await self.leg.set_var("HANGUPCAUSE", str(CAUSE_NORMAL))
            self.leg.note(f"Dial {self.data}: the caller has hung up, nobody dialled")
            return "200 result=-1"
        if not self.request.targets:
            self.leg.note("Dial without a target: Dial fails")
            return "200 result=-1"
        ring = self.request.timeout
        extra = f", music on hold {self.request.moh_class}" if self.request.moh_class else ""
        ring_text = f"ring {ring:g} s" if ring else "no ring timeout"
        self.leg.note(f"dialling {self.data} ({ring_text}{extra})")
        attempts = [self._attempt(t) for t in self.request.targets]
        start = self.call.now()
        for attempt in attempts:
            await self._originate(attempt)
        ringing = [a for a in attempts if not a.status]
        if not ringing:
            if any(a.one for a in attempts):
                self.call.clock.advance(FAILURE_DELAY)
            return await self._failed(attempts[-1].status)
        return await self._ring(ringing, start)

    # -- set-up -----------------------------------------------------------------

    def _attempt(self, target: DialTarget) -> _Attempt:
        behaviour = self.env.behaviour_for(target)
        leg = AgentLeg(target=target.raw, agent=target.number, behaviour=behaviour)
        self.call.record.agent_legs.append(leg)
        return _Attempt(target, behaviour, leg)

    async def _originate(self, attempt: _Attempt) -> None:
        target, behaviour = attempt.target, attempt.behaviour
        if not target.known_tech:
            self.leg.note(f"{target.raw}: no such channel type, CHANUNAVAIL")
            attempt.status = attempt.leg.status = "CHANUNAVAIL"
            return
        if behaviour.kind == "unavailable":
            self.leg.note(f"{target.number} is unavailable")
            attempt.status = attempt.leg.status = "CHANUNAVAIL"
            return
        one, two = self.env.new_target_channels(target, self.call.clock, self.call.linkedid)
        for channel in (one, two):
            if channel is None:
                continue
            channel.callerid_num = target.number
            channel.callerid_name = self.caller.callerid_name
            channel.connected_num = self.caller.callerid_num
            channel.connected_name = self.caller.callerid_name
            self.call.channels.append(channel)
            await self.call.emit(events.newchannel, channel)
        attempt.one, attempt.two = one, two
        attempt.leg.channel, attempt.leg.uniqueid = one.name, one.uniqueid
        dial_string = target.resource if target.tech == "Local" else target.raw
        await self.call.emit(events.dial_begin, self.caller, one, dial_string)
        if behaviour.kind in ("busy", "congestion"):
            status = behaviour.kind.upper()
            self.leg.note(f"{target.number} is {behaviour.kind}")
            attempt.status = status
            await self._end(attempt, status, released=False)

    # -- ringing ----------------------------------------------------------------

    async def _ring(self, ringing: list[_Attempt], start: float) -> str:
        for attempt in ringing:
            for channel in attempt.channels:
                channel.state = STATE_RINGING
            assert attempt.one is not None
            await self.call.emit(events.dial_state, self.caller, attempt.one, "RINGING")
            self.leg.note(f"{attempt.target.number} rings")
        number = self.call.count("ringing")
        timeout = self.request.timeout
        window_end = start + timeout if timeout else math.inf
        answering = [
            a
            for a in ringing
            if a.behaviour.answers and start + a.behaviour.answer_after < window_end
        ]
        winner = min(answering, key=lambda a: a.behaviour.answer_after, default=None)
        ring_end = start + winner.behaviour.answer_after if winner else window_end
        script = self.call.script
        gives_up: float | None = None
        if script.hangs_up_during("ringing", number):
            gives_up = start + self.call.hangup_offset(DEFAULT_RINGING_HANGUP, ring_end - start)
        elif math.isinf(ring_end):
            gives_up = start + script.patience
        if gives_up is not None and gives_up < ring_end:
            self.call.clock.advance_to(gives_up)
            await self._caller_hangs_up("ringing", "while the target rang")
            for attempt in ringing:
                await self._end(attempt, "CANCEL")
            await self.leg.set_var("DIALSTATUS", "CANCEL")
            await self.leg.set_var("HANGUPCAUSE", str(CAUSE_NORMAL))
            return "200 result=-1"
        self.call.clock.advance_to(ring_end)
        if winner is None:
            for attempt in ringing:
                self.leg.note(f"{attempt.target.number} did not answer within {timeout:g} s")
                await self._end(attempt, "NOANSWER")
            await self.leg.set_var("DIALSTATUS", "NOANSWER")
            await self.leg.set_var("HANGUPCAUSE", "0")
            return "200 result=0"
        for attempt in ringing:
            if attempt is not winner:
                await self._end(attempt, "CANCEL")
        return await self._answered(winner)

    async def _failed(self, status: str) -> str:
        await self.leg.set_var("DIALSTATUS", status)
        await self.leg.set_var("HANGUPCAUSE", "0")
        return "200 result=0"

    async def _end(self, attempt: _Attempt, status: str, *, released: bool = True) -> None:
        """DialEnd with ``status`` for this target and hang its channels up."""
        attempt.status = status
        if not attempt.leg.answered:
            attempt.leg.status = status
        if attempt.one is None:
            return
        if released and attempt.one.alive():
            attempt.leg.released = True
        await self.call.emit(events.dial_end, self.caller, attempt.one, status)
        # each half with its recorded cause (hotline/sim/channels.py LEG_END_CAUSES);
        # a target that is one channel (PJSIP/201) gets the ``;2`` cause
        causes = leg_end_causes(status)
        halves = (attempt.one, attempt.two) if attempt.two is not None else (attempt.one,)
        for channel, cause in zip(halves, causes[-len(halves) :], strict=True):
            await self.call.hang_up_channels(channel, cause=cause)

    async def _caller_hangs_up(self, step: str, when: str) -> None:
        self.caller.hang_up(CAUSE_NORMAL)
        self.call.caller_hung_up(step)
        self.leg.note(f"caller hung up {when}")
        await self.call.hang_up_channels(self.call.caller_peer)

    # -- answered ---------------------------------------------------------------

    async def _answered(self, attempt: _Attempt) -> str:
        agent = attempt.one
        assert agent is not None
        attempt.leg.answered = True
        attempt.leg.status = "ANSWER"
        for channel in attempt.channels:
            channel.answer()
            await self.call.emit(events.newstate, channel)
        self.leg.note(
            f"{attempt.target.number} answered after {attempt.behaviour.answer_after:g} s"
        )
        await self.leg.set_var("DIALSTATUS", "ANSWER")
        await self.leg.set_var("DIALEDPEERNAME", agent.name)
        await self.leg.set_var("DIALEDPEERNUMBER", attempt.target.resource)
        gosub = self.request.gosub
        if gosub is None:
            return await self._bridge(attempt)
        if gosub.context != self.env.confirm_context:
            self.leg.note(
                f"U({gosub.context}…): no such subroutine in the simulated dialplan; "
                "Gosub fails and Dial bridges anyway"
            )
            return await self._bridge(attempt)
        sub = await self._confirm(attempt, gosub)
        result = (sub.gosub_result or "").upper()
        if not self.caller.alive():
            status = CONTINUE if result == CONTINUE else "ANSWER"
            await self._end(attempt, status)
            await self.leg.set_var("HANGUPCAUSE", str(CAUSE_NORMAL))
            self.leg.note(f"{attempt.target.number} released: the caller had hung up")
            return "200 result=-1"
        if result == CONTINUE or result in STOPPING_GOSUB_RESULTS:
            await self._end(attempt, CONTINUE if result == CONTINUE else result)
            if result != CONTINUE:
                await self.leg.set_var("DIALSTATUS", result)
            await self.leg.set_var("HANGUPCAUSE", str(CAUSE_NORMAL))
            self.leg.note(f"{attempt.target.number} not connected (GOSUB_RESULT={result})")
            return "200 result=0"
        return await self._bridge(attempt)

    async def _confirm(self, attempt: _Attempt, gosub: CalleeGosub) -> SubroutineResult:
        agent = attempt.one
        assert agent is not None
        number = self.call.count("confirm")
        script = self.call.script
        caller_gone: float | None = None
        if script.hangs_up_during("confirm", number):
            caller_gone = self.call.now() + self.call.hangup_offset(DEFAULT_CONFIRM_HANGUP, None)
            self.caller.hang_up(CAUSE_NORMAL, at=caller_gone)  # checkhangup sees it then
        confirm = ConfirmLeg(self.call, agent, attempt.leg, attempt.behaviour, attempt.two)
        confirm.caller_leaves_at = caller_gone
        await confirm.run(gosub.args)
        if caller_gone is not None:
            self.caller.hang_up(CAUSE_NORMAL, at=min(caller_gone, self.call.now()))
            self.call.caller_hung_up("confirm")
            self.leg.note(f"caller hung up while {attempt.target.number} was asked to confirm")
            await self.call.hang_up_channels(self.call.caller_peer)
        sub = self.env.subroutine(
            agent.variables.get("HOTLINE_CONFIRM", ""),
            agent.variables.get("GOSUB_RESULT"),
            agent.alive(),
        )
        if sub.completed and sub.gosub_result != agent.variables.get("GOSUB_RESULT"):
            await self.leg.set_var("GOSUB_RESULT", sub.gosub_result or "", agent)
        attempt.leg.gosub_result = sub.gosub_result
        attempt.leg.gosub_retval = sub.retval
        if sub.retval is not None and sub.completed and sub.gosub_result:
            # app_dial copies the Return value only when the agent has a GOSUB_RESULT
            await self.leg.set_var("GOSUB_RETVAL", sub.retval)
            self.leg.note(f"[{attempt.target.number}] subroutine returned {sub.retval}")
        elif sub.retval is not None:
            self.leg.note(
                f"[{attempt.target.number}] subroutine returned {sub.retval}, not seen by the "
                "caller (no GOSUB_RESULT on the agent's channel)"
            )
        else:
            self.leg.note(
                f"[{attempt.target.number}] subroutine ended at the AGI (agent channel gone): "
                "no Return"
            )
        return sub

    async def _bridge(self, attempt: _Attempt) -> str:
        agent = attempt.one
        assert agent is not None
        number = self.call.count("bridge")
        if self.caller.answer():
            await self.call.emit(events.newstate, self.caller)
        await self.call.emit(events.dial_end, self.caller, agent, "ANSWER")
        bridge_id = self.env.new_bridge_id()
        await self.call.emit(events.bridge_create, bridge_id)
        await self.call.emit(events.bridge_enter, bridge_id, 1, agent)
        await self.call.emit(events.bridge_enter, bridge_id, 2, self.caller)
        began = self.call.now()
        if not agent.alive():
            self.leg.note(
                f"bridged to {attempt.target.number}'s channel, which had hung up: "
                "Dial returns at once"
            )
        else:
            attempt.leg.bridged = True
            self.call.record.bridged_to = attempt.target.number
            self.leg.note(f"caller connected to {attempt.target.number}")
            talk = attempt.behaviour.talk_seconds
            agent_ends = began + talk
            caller_ends = math.inf
            if self.call.script.hangs_up_during("bridge", number):
                caller_ends = began + self.call.hangup_offset(DEFAULT_BRIDGE_HANGUP, talk)
            if caller_ends < agent_ends:
                self.call.clock.advance_to(caller_ends)
                await self._caller_hangs_up("bridge", f"after {caller_ends - began:g} s of talk")
                attempt.leg.released = True
            else:
                self.call.clock.advance_to(agent_ends)
                attempt.leg.agent_hung_up = True
                self.call.set_hung_up_by("agent")
                self.leg.note(f"{attempt.target.number} hung up after {talk:g} s of talk")
            attempt.leg.talk_seconds = self.call.now() - began
        await self.call.emit(events.bridge_leave, bridge_id, 1, self.caller)
        await self.call.emit(events.bridge_leave, bridge_id, 0, agent)
        await self.call.emit(events.bridge_destroy, bridge_id)
        await self.call.hang_up_channels(*attempt.channels)
        await self.leg.set_var("DIALEDTIME", str(int(self.caller.age())))
        await self.leg.set_var("DIALEDTIME_MS", str(int(self.caller.age() * 1000)))
        await self.leg.set_var("ANSWEREDTIME", str(int(self.caller.up_time())))
        await self.leg.set_var("ANSWEREDTIME_MS", str(int(self.caller.up_time() * 1000)))
        await self.leg.set_var("HANGUPCAUSE", str(CAUSE_NORMAL))
        return "200 result=-1"
