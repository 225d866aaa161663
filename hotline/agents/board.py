"""The agent board: what this runtime knows about every agent, for all its hotlines.

Two views side by side:

* **the PBX's**: each watched device's state from AMI (``DeviceStateList`` after
  every (re)connect, then ``DeviceStateChange``; see :mod:`hotline.agents.feed`).
  While AMI is down the states are older than the connection and not trusted:
  :meth:`AgentBoard.device_state` answers ``None`` and nothing is skipped for
  device reasons.
* **its own**: the agent is ringing, confirming or connected on a hotline call
  of this runtime (any hotline), when their last connected hotline call ended,
  and the wrap-up time that follows it; plus each hotline's rotation memory
  (whom it last offered a call to, for ``round_robin``).

An agent is identified by a key (:func:`hotline.agents.plan.agent_key`): its
device when it has one, else its dial string, so the same phone on two
hotlines is one agent.

Everything here is synchronous and never does I/O: the hunt asks and the
call's events update it without an ``await`` in between, so two calls cannot
both take the same free agent.  Memory is bounded by the configured agents and
their devices: per-call entries are removed when the leg or the call ends.
The shared parts (activity, last call, wrap-up, rotation) can also be kept
with other runtimes (``[state] redis_url``): then :attr:`AgentBoard.shared`
holds what the others reported at the last :meth:`AgentBoard.refresh` (one
Redis round, hotline/shared_state/board.py), every answer here takes it into
account, and every change of this runtime's own view is reported to it.
Without it (the default) the board is this process's alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from hotline.agents.devices import SKIP_REASONS, DeviceState, device_key
from hotline.config.hunt import SkipRules

Clock = Callable[[], float]


class Activity(StrEnum):
    """What an agent does on a hotline call of this runtime (strongest last)."""

    RINGING = "ringing"
    CONFIRMING = "confirming"
    CONNECTED = "connected"


_RANK = {Activity.RINGING: 1, Activity.CONFIRMING: 2, Activity.CONNECTED: 3}


@dataclass(frozen=True, slots=True)
class AgentView:
    """One agent as a status page shows it."""

    agent: str
    device: str | None
    device_state: DeviceState | None  # None: no device, unknown, or AMI down
    activity: Activity | None
    hotline: str | None  # the hotline of the activity
    wrap_up_left: float  # seconds
    last_ended_ago: float | None  # seconds since the last connected hotline call ended


class SharedView(Protocol):
    """What other runtimes know (times in this board's clock), and where our changes go."""

    def peer_activity(self, agent: str) -> tuple[Activity, str] | None:
        """The agent's strongest activity on another runtime's calls."""
        ...

    def last_ended(self, agent: str) -> float | None: ...

    def wrap_up_until(self, agent: str) -> float | None: ...

    def last_offered(self, hotline: str) -> str | None: ...

    def activity_changed(self, agent: str, call_id: str) -> None:
        """This runtime's entry for ``agent`` on ``call_id`` changed (see :meth:`own_activity`)."""
        ...

    def ended(self, agent: str, at: float, wrap_up_until: float | None) -> None: ...

    def offered(self, hotline: str, agent: str) -> None: ...

    async def refresh(self) -> None:
        """Send our changes and read the others', bounded by a short timeout."""
        ...


class AgentBoard:
    """Device states, hotline activity, wrap-up and rotation memory of one runtime."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        #: agent key -> device (None: the agent has no device)
        self._agents: dict[str, str | None] = {}
        self._watched: set[str] = set()
        self._devices: dict[str, DeviceState] = {}
        self._pbx_trusted = False
        #: agent -> call id -> (activity, hotline), and call id -> its agents
        self._activity: dict[str, dict[str, tuple[Activity, str]]] = {}
        self._by_call: dict[str, set[str]] = {}
        self._last_ended: dict[str, float] = {}
        self._wrap_up_until: dict[str, float] = {}
        self._last_offered: dict[str, str] = {}
        #: the other runtimes' view (None: this runtime is alone)
        self.shared: SharedView | None = None

    # -- which agents there are ------------------------------------------------

    def watch(self, agents: Mapping[str, str | None]) -> None:
        """Agents (key -> device or None) the board keeps state for; others are ignored."""
        for agent, device in agents.items():
            self._agents[agent] = device_key(device) if device else None
        self._watched = {d for d in self._agents.values() if d is not None}

    @property
    def devices(self) -> set[str]:
        return set(self._watched)

    # -- the PBX's view --------------------------------------------------------

    @property
    def pbx_trusted(self) -> bool:
        """True while the device states are as fresh as the AMI connection."""
        return self._pbx_trusted

    def pbx_up(self, states: Mapping[str, str]) -> None:
        """AMI (re)connected and listed every device: replace what was known."""
        watched = self._watched
        self._devices = {
            key: DeviceState.parse(state)
            for key, state in ((device_key(d), s) for d, s in states.items())
            if key in watched
        }
        self._pbx_trusted = True

    def pbx_down(self) -> None:
        """AMI is gone: states may change unseen, so none is trusted until :meth:`pbx_up`."""
        self._pbx_trusted = False
        self._devices.clear()

    def device_changed(self, device: str, state: str) -> bool:
        """A DeviceStateChange; True when it is one of the watched devices."""
        key = device_key(device)
        if key not in self._watched:
            return False
        self._devices[key] = DeviceState.parse(state)
        return True

    def device_state(self, device: str | None) -> DeviceState | None:
        """The trusted state of ``device``; None when it is unknown or AMI is down."""
        if device is None or not self._pbx_trusted:
            return None
        return self._devices.get(device_key(device))

    # -- this runtime's own view -----------------------------------------------

    def ringing(self, agent: str, call_id: str, hotline: str) -> None:
        self._set(agent, call_id, hotline, Activity.RINGING)

    def confirming(self, agent: str, call_id: str, hotline: str) -> None:
        self._set(agent, call_id, hotline, Activity.CONFIRMING)

    def connected(self, agent: str, call_id: str, hotline: str) -> None:
        self._set(agent, call_id, hotline, Activity.CONNECTED)

    def _set(self, agent: str, call_id: str, hotline: str, activity: Activity) -> None:
        if agent in self._agents:
            self._activity.setdefault(agent, {})[call_id] = (activity, hotline)
            self._by_call.setdefault(call_id, set()).add(agent)
            if self.shared is not None:
                self.shared.activity_changed(agent, call_id)

    def released(self, agent: str, call_id: str) -> None:
        """The agent's leg of ``call_id`` ended without a connected call (or before it)."""
        calls = self._activity.get(agent)
        if calls is None:
            return
        calls.pop(call_id, None)
        if not calls:
            del self._activity[agent]
        if self.shared is not None:
            self.shared.activity_changed(agent, call_id)
        agents = self._by_call.get(call_id)
        if agents is not None:
            agents.discard(agent)
            if not agents:
                del self._by_call[call_id]

    def call_ended(self, agent: str, call_id: str, wrap_up: float) -> None:
        """The agent's connected hotline call ended: remember when, start the wrap-up."""
        self.released(agent, call_id)
        if agent not in self._agents:
            return
        now = self.clock()
        self._last_ended[agent] = now
        if wrap_up > 0:
            self._wrap_up_until[agent] = max(self._wrap_up_until.get(agent, now), now + wrap_up)
        if self.shared is not None:
            self.shared.ended(agent, now, self._wrap_up_until.get(agent))

    def forget_call(self, call_id: str) -> None:
        """Drop whatever ``call_id`` still holds (the call is over, however it ended)."""
        for agent in list(self._by_call.get(call_id, ())):
            self.released(agent, call_id)

    def activity_in(self, agent: str, call_id: str) -> Activity | None:
        """What the agent does on one call (None: nothing)."""
        entry = self._activity.get(agent, {}).get(call_id)
        return entry[0] if entry else None

    def own_activity(self, agent: str, call_id: str) -> tuple[Activity, str] | None:
        """This runtime's entry for the agent on one call: activity and hotline."""
        return self._activity.get(agent, {}).get(call_id)

    def own_activities(self) -> list[tuple[str, str, Activity, str]]:
        """(agent, call id, activity, hotline) of every call of this runtime."""
        return [
            (agent, call_id, activity, hotline)
            for agent, calls in self._activity.items()
            for call_id, (activity, hotline) in calls.items()
        ]

    def activity(self, agent: str) -> tuple[Activity, str] | None:
        """The agent's strongest hotline activity and its hotline, if any."""
        entries = list(self._activity.get(agent, {}).values())
        if self.shared is not None:
            peer = self.shared.peer_activity(agent)
            if peer is not None:
                entries.append(peer)
        if not entries:
            return None
        return max(entries, key=lambda item: _RANK[item[0]])

    def wrap_up_left(self, agent: str) -> float:
        until = self._wrap_up_until.get(agent)
        if self.shared is not None:
            until = _latest(until, self.shared.wrap_up_until(agent))
        if until is None:
            return 0.0
        left = until - self.clock()
        if left <= 0:
            self._wrap_up_until.pop(agent, None)
            return 0.0
        return left

    def last_ended(self, agent: str) -> float | None:
        """Board-clock time the agent's last connected hotline call ended (None: never)."""
        ended = self._last_ended.get(agent)
        if self.shared is not None:
            return _latest(ended, self.shared.last_ended(agent))
        return ended

    # -- rotation memory -------------------------------------------------------

    def offered(self, hotline: str, agent: str) -> None:
        self._last_offered[hotline] = agent
        if self.shared is not None:
            self.shared.offered(hotline, agent)

    def last_offered(self, hotline: str) -> str | None:
        if self.shared is not None:
            shared = self.shared.last_offered(hotline)
            if shared is not None:
                return shared
        return self._last_offered.get(hotline)

    async def refresh(self) -> None:
        """Learn what other runtimes did since the last refresh (no-op when alone).

        The hunt calls it before it decides whom to dial; it waits at most
        ``[state] timeout`` and not at all while Redis is lost.
        """
        if self.shared is not None:
            await self.shared.refresh()

    # -- the hunt's question ---------------------------------------------------

    def skip_reason(self, agent: str, rules: SkipRules) -> str | None:
        """Why ``agent`` should not be dialled now under ``rules``; None: dial them."""
        if rules.on_hotline_call:
            busy = self.activity(agent)
            if busy is not None:
                return f"{busy[0].value} on hotline {busy[1]}"
        if rules.wrap_up:
            left = self.wrap_up_left(agent)
            if left > 0:
                return f"wrap-up ({left:.0f} s left)"
        state = self.device_state(self._agents.get(agent))
        if state is not None:
            reason = SKIP_REASONS.get(state)
            if reason is not None and getattr(rules, reason):
                return f"device {reason} ({state.value})"
        return None

    # -- for status pages and tests --------------------------------------------

    def view(self, agents: Iterable[str] | None = None) -> list[AgentView]:
        now = self.clock()
        out = []
        for agent in self._agents if agents is None else agents:
            device = self._agents.get(agent)
            busy = self.activity(agent)
            ended = self.last_ended(agent)
            out.append(
                AgentView(
                    agent=agent,
                    device=device,
                    device_state=self.device_state(device),
                    activity=busy[0] if busy else None,
                    hotline=busy[1] if busy else None,
                    wrap_up_left=round(self.wrap_up_left(agent), 3),
                    last_ended_ago=None if ended is None else round(now - ended, 3),
                )
            )
        return out

    def sizes(self) -> dict[str, int]:
        """How many entries each table holds (the benchmarks check they stay bounded)."""
        return {
            "agents": len(self._agents),
            "devices": len(self._devices),
            "active_agents": len(self._activity),
            "active_legs": sum(len(c) for c in self._activity.values()),
            "active_calls": len(self._by_call),
            "last_ended": len(self._last_ended),
            "wrap_up": len(self._wrap_up_until),
            "rotation": len(self._last_offered),
        }


def _latest(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else max(a, b)
