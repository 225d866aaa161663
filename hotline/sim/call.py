"""State of one simulated call, shared by its caller leg and its agent legs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import ParamSpec

from hotline.sim.caller import CallerScript, HangupLine
from hotline.sim.channels import CAUSE_NORMAL, STATE_RING, Channel
from hotline.sim.clock import VirtualClock
from hotline.sim.env import SimEnv
from hotline.sim.events import Event, hangup, hangup_request
from hotline.sim.records import CallRecord, HungUpBy

P = ParamSpec("P")


class Call:
    """One call: its clock, caller channels, record and step counters."""

    def __init__(self, env: SimEnv, script: CallerScript, index: int) -> None:
        self.env = env
        self.script = script
        self.index = index
        self.clock = VirtualClock()
        self.placement: HangupLine = script.hangup_line or env.hangup_line_for(index)
        #: occurrences of each step so far (``prompt``, ``pin``, ``ringing``, …)
        self.counters: Counter[str] = Counter()
        self.caller, self.caller_peer = env.new_local_pair(
            "s", "sim-caller", self.clock, linkedid=None
        )
        for channel in (self.caller, self.caller_peer):
            channel.callerid_num = channel.connected_num = script.callerid
            channel.callerid_name = channel.connected_name = script.calleridname
            channel.language = script.language
        self.caller.context = script.context
        self.caller.exten = script.extension
        self.caller.priority = "2"
        self.caller.state = STATE_RING  # an incoming call rings until ANSWER
        self.caller.variables.update(script.variables)
        self.channels: list[Channel] = [self.caller, self.caller_peer]
        self.record = CallRecord(
            uniqueid=self.caller.uniqueid,
            channel=self.caller.name,
            hotline=script.hotline,
            label=script.label,
        )

    @property
    def linkedid(self) -> str:
        return self.caller.uniqueid

    def now(self) -> float:
        return self.clock.now()

    def count(self, step: str) -> int:
        """Count one more occurrence of ``step`` on this call; returns its number."""
        self.counters[step] += 1
        return self.counters[step]

    def hangup_offset(self, default: float, window: float | None) -> float:
        """Seconds into a step of ``window`` seconds at which the caller hangs up."""
        chosen = self.script.hangup_after
        offset = default if chosen is None else chosen
        if window is not None and offset >= window:
            offset = window / 2 if window > 0 else 0.0
        return offset

    def note(self, text: str) -> None:
        self.record.note(self.clock.now(), text)

    async def emit(self, build: Callable[P, Event], *args: P.args, **kw: P.kwargs) -> None:
        """Build and send one AMI event, only when someone listens."""
        sink = self.env.event_sink
        if sink is not None:
            await sink(build(*args, **kw))

    async def hang_up_channels(self, *channels: Channel, cause: int = CAUSE_NORMAL) -> None:
        """Hang channels up now and tell AMI (each channel once)."""
        for channel in channels:
            already = channel.hungup_at is not None and channel.hungup_at <= self.now()
            channel.hang_up(cause)
            if channel.hangup_reported:
                continue
            channel.hangup_reported = True
            if not already:
                await self.emit(hangup_request, channel, cause)
            await self.emit(hangup, channel, cause)

    def caller_hung_up(self, step: str) -> None:
        """Record that the caller hung up during ``step`` (the first hang-up counts)."""
        if self.record.hung_up_by is None:
            self.record.hung_up_by = "caller"
        if self.record.hangup_step is None:
            self.record.hangup_step = step

    def set_hung_up_by(self, who: HungUpBy) -> None:
        if self.record.hung_up_by is None:
            self.record.hung_up_by = who
