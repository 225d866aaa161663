"""The environment of simulated calls: the one object calls, legs and Dial get from the PBX."""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Literal, TypedDict, Unpack

from hotline.contract import CONFIRM_ARGS, CONFIRM_CONTEXT, CONFIRM_ROUTE
from hotline.sim.agents import DEFAULT_AGENT_KEY, AgentBehaviour
from hotline.sim.caller import HangupLine
from hotline.sim.channels import STATE_DOWN, STATE_RING, Channel
from hotline.sim.clock import VirtualClock
from hotline.sim.dialplan import SUBROUTINES, DialTarget
from hotline.sim.errors import SimError
from hotline.sim.events import EventSink

#: the epoch part of the first uniqueid (recording 01: ``1795305542.0``)
DEFAULT_EPOCH = 1795305542
#: clocks of this many most recent channels stay known to :meth:`SimEnv.clock_for`
#: (long load runs would otherwise keep every call's clock)
CLOCKS_KEPT = 100_000
HangupPlacement = Literal["next-reply", "after-reply", "alternate"]


class SimOptions(TypedDict, total=False):
    """The simulated PBX's settings besides the runtime's address and the agents."""

    prompt_seconds: Callable[[str], float] | float
    event_sink: EventSink | None
    default_agent: AgentBehaviour | None
    hangup_line: HangupPlacement
    command_timeout: float
    epoch: int
    confirm_context: str
    confirm_script: str
    confirm_args: int
    confirm_port: int | None
    subroutine: Literal["design", "lab"]
    say_seconds: float
    voicemail_seconds: float
    agi_servers: Sequence[tuple[str, int]]
    spread_calls: bool


class SimEnv:
    """What a simulated call and its legs need: settings, ids, channels, the event sink.

    :class:`~hotline.sim.pbx.SimulatedPbx` makes one and hands it to every
    :class:`~hotline.sim.call.Call`; calls, legs and Dial use nothing else of
    the PBX (so they import neither it nor each other in a circle).
    """

    def __init__(
        self,
        agi_host: str,
        agi_port: int,
        agents: Mapping[str, AgentBehaviour] | None = None,
        **options: Unpack[SimOptions],
    ) -> None:
        """The settings :class:`~hotline.sim.pbx.SimulatedPbx` documents, with their defaults."""
        prompt_seconds = options.get("prompt_seconds", 2.0)
        event_sink = options.get("event_sink")
        default_agent = options.get("default_agent")
        hangup_line = options.get("hangup_line", "alternate")
        command_timeout = options.get("command_timeout", 30.0)
        epoch = options.get("epoch", DEFAULT_EPOCH)
        confirm_context = options.get("confirm_context", CONFIRM_CONTEXT)
        confirm_script = options.get("confirm_script", CONFIRM_ROUTE)
        confirm_args = options.get("confirm_args", len(CONFIRM_ARGS))
        confirm_port = options.get("confirm_port")
        subroutine = options.get("subroutine", "design")
        say_seconds = options.get("say_seconds", 0.5)
        voicemail_seconds = options.get("voicemail_seconds", 10.0)
        agi_servers = options.get("agi_servers", ())
        spread_calls = options.get("spread_calls", False)
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
        #: FastAGI servers tried in turn like ``hagi://`` (empty: only ``agi_host``:port)
        self.agi_servers = list(agi_servers)
        #: start each call at the next server (equal SRV priority and weight), else at the first
        self.spread_calls = spread_calls
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

    def servers_for(self, call_index: int, port: int) -> list[tuple[str, int]]:
        """The FastAGI servers a leg of call ``call_index`` tries, in order (see ``hagi``)."""
        servers = self.agi_servers
        if not servers:
            return [(self.agi_host, port)]
        start = call_index % len(servers) if self.spread_calls else 0
        return [*servers[start:], *servers[:start]]

    def next_call_number(self) -> int:
        return next(self._call_numbers)

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

    def forget(self, channels: list[Channel]) -> None:
        for channel in channels:
            self._channels.pop(channel.name, None)
            self._channels.pop(channel.uniqueid, None)
