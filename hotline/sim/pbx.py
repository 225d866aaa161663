"""The simulated Asterisk: places scripted calls into a runtime over real FastAGI sockets.

Each :meth:`SimulatedPbx.place_call` opens the caller leg's FastAGI
connection with the header bytes Asterisk 22 sends, answers every command the
way the recordings show, runs ``Dial`` against scripted agents (opening the
agent's confirm leg like Dial's ``U()`` Gosub), and returns a
:class:`~hotline.sim.records.CallRecord`.  Calls run on their own virtual
clocks (:meth:`clock_for`), so ring times and prompts cost no real time, and
any number of calls can run concurrently.

Channel names and ids count up like Asterisk's: ``Local/s@sim-caller-00000000;1``
with uniqueid ``1795305542.0``, the agent ``Local/201@sim-agents-00000001;1``
with ``1795305542.2`` (each Local channel has two halves, so two ids).
"""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Literal

from hotline.agi.testing import build_header
from hotline.sim.agents import DEFAULT_AGENT_KEY, AgentBehaviour
from hotline.sim.call import Call
from hotline.sim.caller import CallerScript, HangupLine
from hotline.sim.caller_leg import CallerLeg
from hotline.sim.channels import STATE_DOWN, STATE_RING, Channel
from hotline.sim.clock import VirtualClock
from hotline.sim.dialplan import SUBROUTINES, DialTarget
from hotline.sim.errors import SimError
from hotline.sim.events import EventSink, newchannel
from hotline.sim.records import CallRecord

#: the epoch part of the first uniqueid (recording 01: ``1795305542.0``)
DEFAULT_EPOCH = 1795305542
#: clocks of this many most recent channels stay known to :meth:`SimulatedPbx.clock_for`
#: (long load runs would otherwise keep every call's clock)
CLOCKS_KEPT = 100_000
HangupPlacement = Literal["next-reply", "after-reply", "alternate"]


class SimulatedPbx:
    """A PBX simulator playing Asterisk 22 toward a hotline runtime."""

    def __init__(
        self,
        agi_host: str,
        agi_port: int,
        agents: Mapping[str, AgentBehaviour] | None = None,
        *,
        prompt_seconds: Callable[[str], float] | float = 2.0,
        event_sink: EventSink | None = None,
        default_agent: AgentBehaviour | None = None,
        hangup_line: HangupPlacement = "alternate",
        command_timeout: float = 30.0,
        epoch: int = DEFAULT_EPOCH,
        confirm_context: str = "hotline-confirm",
        confirm_script: str = "confirm",
        confirm_args: int = 4,
        confirm_port: int | None = None,
        subroutine: Literal["design", "lab"] = "design",
        say_seconds: float = 0.5,
        voicemail_seconds: float = 10.0,
    ) -> None:
        """Set up the PBX; nothing connects until :meth:`place_call`.

        ``agents`` maps agent numbers (``"201"``, or a whole target like
        ``"PJSIP/201"``) to behaviours; ``"*"`` or ``default_agent`` covers
        every other number (else ``no-answer``).  ``prompt_seconds`` is how long
        a prompt plays, per name or for all.  ``hangup_line`` places the
        out-of-band HANGUP line: before the next reply, right after the reply,
        or ``alternate`` (even calls next-reply, odd calls after-reply).
        ``command_timeout`` is the only real-time limit: a runtime silent that
        long on a leg makes :meth:`place_call` raise :class:`SimError`.

        The confirm subroutine's AGI goes to ``confirm_port`` (default: the
        same port) with ``confirm_args`` arguments; ``subroutine="lab"`` plays
        the recording lab's subroutine instead of the shipped one (DESIGN.md),
        to replay the recordings.
        """
        self.agi_host = agi_host
        self.agi_port = agi_port
        self.agents = dict(agents or {})
        fallback = self.agents.pop(DEFAULT_AGENT_KEY) if DEFAULT_AGENT_KEY in self.agents else None
        self.default_agent = fallback or default_agent or AgentBehaviour()
        self.prompt_seconds = prompt_seconds
        self.event_sink = event_sink
        if hangup_line not in ("next-reply", "after-reply", "alternate"):
            raise SimError(
                f"hangup_line must be next-reply, after-reply or alternate, not {hangup_line!r}"
            )
        self.hangup_line = hangup_line
        self.command_timeout = command_timeout
        self.epoch = epoch
        self.confirm_context = confirm_context
        self.confirm_script = confirm_script
        self.confirm_args = confirm_args
        self.confirm_port = agi_port if confirm_port is None else confirm_port
        if subroutine not in SUBROUTINES:
            raise SimError(f"subroutine must be one of {sorted(SUBROUTINES)}, not {subroutine!r}")
        self.subroutine = SUBROUTINES[subroutine]
        self.say_seconds = say_seconds
        self.voicemail_seconds = voicemail_seconds
        self._call_numbers = itertools.count()
        self._uniqueids = itertools.count()
        self._sequences: dict[str, itertools.count[int]] = {}
        self._command_ids = itertools.count(1)
        self._bridges = itertools.count(1)
        self._clocks: OrderedDict[str, VirtualClock] = OrderedDict()
        self._channels: dict[str, Channel] = {}

    # -- what calls and legs ask for -------------------------------------------

    def prompt_length(self, name: str) -> float:
        """Virtual seconds the prompt ``name`` plays."""
        if callable(self.prompt_seconds):
            return max(0.0, float(self.prompt_seconds(name)))
        return max(0.0, float(self.prompt_seconds))

    def behaviour_for(self, target: DialTarget) -> AgentBehaviour:
        """The scripted behaviour of a dialled target (by full target, then number)."""
        return self.agents.get(target.raw) or self.agents.get(target.number) or self.default_agent

    def hangup_line_for(self, index: int) -> HangupLine:
        if self.hangup_line == "alternate":
            return "next-reply" if index % 2 == 0 else "after-reply"
        return self.hangup_line

    def clock_for(self, uniqueid: str) -> Callable[[], float]:
        """The virtual clock of the call a channel (caller or agent leg) belongs to.

        Give the runtime ``clock_factory=lambda request: pbx.clock_for(request.uniqueid)``
        so that it measures waits in the call's virtual seconds.
        """
        clock = self._clocks.get(uniqueid)
        if clock is None:
            raise SimError(f"uniqueid {uniqueid!r} is not a channel of this simulated PBX")
        return clock.now

    def find_channel(self, key: str) -> Channel | None:
        """A channel of a call in progress, by name or uniqueid."""
        return self._channels.get(key)

    def live_channels(self) -> list[Channel]:
        """Channels of calls in progress that are still up (for AMI CoreShowChannels)."""
        seen = {id(c): c for c in self._channels.values()}
        return [c for c in seen.values() if c.alive()]

    def next_command_id(self) -> int:
        return next(self._command_ids)

    def new_bridge_id(self) -> str:
        number = next(self._bridges)
        return f"{number:08x}-0000-4000-8000-{self.epoch:012x}"

    def _uniqueid(self, clock: VirtualClock) -> str:
        return f"{self.epoch + int(clock.now())}.{next(self._uniqueids)}"

    def _sequence(self, tech: str) -> int:
        return next(self._sequences.setdefault(tech, itertools.count()))

    def _register(self, channel: Channel) -> Channel:
        self._channels[channel.name] = channel
        self._channels[channel.uniqueid] = channel
        self._clocks[channel.uniqueid] = channel.clock
        if len(self._clocks) > CLOCKS_KEPT:
            self._clocks.popitem(last=False)
        return channel

    def new_local_pair(
        self, exten: str, context: str, clock: VirtualClock, *, linkedid: str | None
    ) -> tuple[Channel, Channel]:
        """The two halves of ``Local/exten@context`` (;1 Down, ;2 Ring), registered."""
        base = f"Local/{exten}@{context}-{self._sequence('Local'):08x}"
        first = self._uniqueid(clock)
        link = linkedid or first
        now = clock.now()
        one = Channel(f"{base};1", first, link, clock, context, exten, created_at=now)
        two = Channel(
            f"{base};2",
            self._uniqueid(clock),
            link,
            clock,
            context,
            exten,
            state=STATE_RING,
            created_at=now,
        )
        return self._register(one), self._register(two)

    def new_target_channels(
        self, target: DialTarget, clock: VirtualClock, linkedid: str
    ) -> tuple[Channel, Channel | None]:
        """The channel(s) Dial creates for a target: a Local pair or one channel."""
        if target.tech == "Local":
            resource = target.channel_base().removeprefix("Local/")
            exten, _, context = resource.partition("@")
            return self.new_local_pair(exten, context, clock, linkedid=linkedid)
        name = f"{target.channel_base()}-{self._sequence(target.tech):08x}"
        channel = Channel(
            name,
            self._uniqueid(clock),
            linkedid,
            clock,
            "from-internal",
            target.number,
            state=STATE_DOWN,
            created_at=clock.now(),
        )
        return self._register(channel), None

    def _forget(self, channels: list[Channel]) -> None:
        for channel in channels:
            self._channels.pop(channel.name, None)
            self._channels.pop(channel.uniqueid, None)

    # -- calls ----------------------------------------------------------------

    async def place_call(self, script: CallerScript) -> CallRecord:
        """Run one scripted call against the runtime; returns when the runtime hangs up.

        Raises :class:`SimError` when the runtime cannot be reached or stays
        silent for ``command_timeout`` real seconds on a leg.
        """
        call = Call(self, script, next(self._call_numbers))
        leg = CallerLeg(call)
        record = call.record
        started = time.perf_counter()
        caller = call.caller
        header = build_header(
            script.path,
            uniqueid=caller.uniqueid,
            callerid=script.callerid,
            calleridname=script.calleridname,
            channel=caller.name,
            context=script.context,
            extension=script.extension,
            priority="2",
            language=script.language,
            request=f"agi://{self.agi_host}:{self.agi_port}/{script.path}",
            args=script.args,
        )
        await call.emit(newchannel, caller)
        await call.emit(newchannel, call.caller_peer)
        call.note(
            f"call from {script.callerid} ({script.calleridname}) to {script.path} on {caller.name}"
        )
        try:
            try:
                await leg.connect(header, self.agi_port)
            except OSError as exc:
                raise SimError(
                    f"cannot reach the FastAGI runtime at {self.agi_host}:{self.agi_port} "
                    f"({exc.strerror or exc}); is it running?"
                ) from None
            await leg.serve()
            await self._finish(call, leg)
        finally:
            await leg.close()
            self._forget(call.channels)
            record.wall_seconds = time.perf_counter() - started
        return record

    async def _finish(self, call: Call, leg: CallerLeg) -> None:
        """The runtime closed the caller leg: AGISTATUS, fallback, hang everything up."""
        caller, record = call.caller, call.record
        if caller.alive():
            caller.variables["AGISTATUS"] = "SUCCESS"
            if leg.location_changed:
                record.fallback = (caller.context, caller.exten, caller.priority)
                call.note(
                    "runtime closed the connection; the dialplan continues at "
                    f"{caller.context},{caller.exten},{caller.priority}"
                )
            else:
                call.note("runtime closed the connection; the dialplan hangs up")
        else:
            caller.variables["AGISTATUS"] = "HANGUP"
            call.note("runtime closed the connection")
        await call.hang_up_channels(*call.channels)
        record.variables = dict(caller.variables)
        record.duration = call.now()
