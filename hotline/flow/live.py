"""The calls in progress, as a live page shows them: one registry per runtime, fed by call events.

:class:`LiveCalls` is a :class:`~hotline.flow.observers.CallObserver`: each
event updates one small record per call (its step and since when, who rings,
who is asked to confirm, who is connected) and bumps :attr:`LiveCalls.changes`;
nothing is built or sent here.  A call disappears when it ends, however it
ended, so the size is the number of calls in progress.  No caller number and
no PIN is kept: a live page has no use for them.

Times are this process's wall clock when the event arrived (not the call's own
clock, which is virtual under the simulator): a page counts "ringing for N s"
from them.

With ``[state] redis_url`` the records are also kept in Redis
(hotline/shared_state/live.py, expiring with their runtime) and
:meth:`LiveCalls.snapshot` lists every runtime's calls; a confirm leg served
by another runtime than its caller leg is shown there too (that runtime keeps
a partial record of the call, merged into the caller's).  Without Redis, or
while it is lost, the snapshot holds this runtime's calls
(``LiveSnapshot.complete`` says which).  :attr:`LiveCalls.changes` counts this
runtime's changes only: a page showing several runtimes also re-reads the
snapshot every few seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from hotline.flow.observers import (
    CallConnected,
    CallEnded,
    CallEvent,
    CallStarted,
    ConfirmEnded,
    ConfirmStarted,
    StepChanged,
    TargetDialing,
    TargetEnded,
)
from hotline.records import record


@record
class AgentOnCall:
    """An agent a call rings, asks to confirm, or is connected to."""

    number: str
    label: str | None
    since: float  # epoch seconds

    def as_list(self) -> list[Any]:
        return [self.number, self.label, self.since]


@dataclass(slots=True)
class LiveCall:
    """One call in progress (``hotline`` empty: a confirm leg's partial record)."""

    call_id: str
    hotline: str
    arrived: float  # epoch seconds
    step: str = "answer"
    step_since: float = 0.0
    ringing: dict[str, AgentOnCall] = field(default_factory=dict)
    confirming: dict[str, AgentOnCall] = field(default_factory=dict)
    connected: AgentOnCall | None = None
    runtime: str = "local"  # the runtime serving the caller's leg

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (the Redis form, and what a page sends)."""
        return {
            "call_id": self.call_id,
            "hotline": self.hotline,
            "arrived": self.arrived,
            "step": self.step,
            "step_since": self.step_since,
            "ringing": [a.as_list() for a in self.ringing.values()],
            "confirming": [a.as_list() for a in self.confirming.values()],
            "connected": self.connected.as_list() if self.connected else None,
            "runtime": self.runtime,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LiveCall:
        """The inverse of :meth:`as_dict`; raises ValueError/TypeError/KeyError on a bad one."""

        def agents(rows: list[Any]) -> dict[str, AgentOnCall]:
            return {str(r[0]): AgentOnCall(str(r[0]), r[1], float(r[2])) for r in rows}

        connected = data.get("connected")
        return cls(
            call_id=str(data["call_id"]),
            hotline=str(data["hotline"]),
            arrived=float(data["arrived"]),
            step=str(data["step"]),
            step_since=float(data["step_since"]),
            ringing=agents(data["ringing"]),
            confirming=agents(data["confirming"]),
            connected=AgentOnCall(str(connected[0]), connected[1], float(connected[2]))
            if connected
            else None,
            runtime=str(data["runtime"]),
        )


@dataclass(frozen=True, slots=True)
class LiveSnapshot:
    calls: tuple[LiveCall, ...]  # oldest first
    #: False: only this runtime's calls (Redis configured but lost)
    complete: bool


class Changes:
    """A change counter a page's broadcaster waits on; free when nobody waits."""

    def __init__(self) -> None:
        self.version = 0
        self._event: asyncio.Event | None = None

    def bump(self) -> None:
        self.version += 1
        if self._event is not None:
            self._event.set()

    async def wait(self, seen: int, within: float) -> bool:
        """Until the version differs from ``seen`` (True) or ``within`` seconds passed (False)."""
        if self.version != seen:
            return True
        if self._event is None:
            self._event = asyncio.Event()
        event = self._event
        try:
            async with asyncio.timeout(within):
                while self.version == seen:
                    event.clear()
                    await event.wait()
        except TimeoutError:
            return False
        return True


class SharedLive(Protocol):
    """Where the calls are kept besides this process (hotline/shared_state/live.py)."""

    def changed(self, call_id: str) -> None: ...

    async def everyone(self) -> list[LiveCall] | None:
        """Every runtime's records; None when they cannot be read now."""
        ...


class LiveCalls:
    """The calls in progress on this runtime (and, with Redis, on all of them)."""

    def __init__(self, runtime: str = "local", clock: Callable[[], float] = time.time) -> None:
        self.runtime = runtime
        self.clock = clock
        self._calls: dict[str, LiveCall] = {}
        #: confirm legs here of calls whose caller leg is elsewhere (partial records)
        self._legs: dict[str, LiveCall] = {}
        self.changes = Changes()
        self.shared: SharedLive | None = None

    def on_call_event(self, event: CallEvent) -> None:
        # Dispatched on the exact type, most frequent first: a ``match`` of class patterns
        # asks isinstance of each case in turn, ~3.5k instructions more per event
        # (callgrind; the events are final dataclasses, never subclassed).
        now = self.clock()
        call_id = event.call_id
        if type(event) is CallStarted:
            self._calls[call_id] = LiveCall(
                call_id, event.hotline, now, step_since=now, runtime=self.runtime
            )
            self._changed(call_id)
            return
        call = self._calls.get(call_id)
        if call is None:
            self._leg_event(event, now)
            return
        if type(event) is StepChanged:
            call.step, call.step_since = event.step, now
        elif type(event) is TargetDialing:
            call.ringing[event.number] = AgentOnCall(event.number, event.label, now)
        elif type(event) is TargetEnded:
            number = event.record.number
            call.ringing.pop(number, None)
            call.confirming.pop(number, None)
        elif type(event) is ConfirmStarted:
            ringing = call.ringing.pop(event.number, None)
            label = ringing.label if ringing is not None else None
            call.confirming[event.number] = AgentOnCall(event.number, label, now)
        elif type(event) is ConfirmEnded:
            call.confirming.pop(event.number, None)
        elif type(event) is CallConnected:
            call.ringing.clear()
            call.confirming.clear()
            call.connected = AgentOnCall(event.number, event.label, now)
        elif type(event) is CallEnded:
            del self._calls[call_id]
        self._changed(call_id)

    def _leg_event(self, event: CallEvent, now: float) -> None:
        """A confirm leg here of a call served elsewhere: a partial record (only with Redis)."""
        if self.shared is None:
            return
        call_id = event.call_id
        if type(event) is ConfirmStarted:
            leg = self._legs.setdefault(call_id, LiveCall(call_id, "", now, runtime=""))
            leg.confirming[event.number] = AgentOnCall(event.number, None, now)
        elif type(event) is ConfirmEnded:
            known = self._legs.get(call_id)
            if known is None:
                return
            known.confirming.pop(event.number, None)
            if not known.confirming:
                del self._legs[call_id]
        else:
            return
        self.shared.changed(call_id)

    def _changed(self, call_id: str) -> None:
        self.changes.bump()
        if self.shared is not None:
            self.shared.changed(call_id)

    def get(self, call_id: str) -> LiveCall | None:
        """This runtime's record of a call (its caller leg's, else a confirm leg's)."""
        return self._calls.get(call_id) or self._legs.get(call_id)

    def calls(self) -> list[LiveCall]:
        """This runtime's calls in progress, oldest first (the caller must not change them)."""
        return list(self._calls.values())

    def own_records(self) -> list[LiveCall]:
        """Every record this runtime writes to Redis (calls and confirm legs)."""
        return [*self._calls.values(), *self._legs.values()]

    async def snapshot(self) -> LiveSnapshot:
        """Every runtime's calls in progress (one bounded Redis read), else this one's."""
        if self.shared is not None:
            records = await self.shared.everyone()
            if records is not None:
                return LiveSnapshot(merged(records), True)
            return LiveSnapshot(tuple(self.calls()), False)
        return LiveSnapshot(tuple(self.calls()), True)

    def __len__(self) -> int:
        return len(self._calls)


def merged(records: list[LiveCall]) -> tuple[LiveCall, ...]:
    """Calls from every runtime, oldest first, with the confirm legs other runtimes serve
    merged into their caller's record (a leg whose caller record is gone is dropped)."""
    calls = {r.call_id: r for r in records if r.hotline}
    for leg in records:
        call = calls.get(leg.call_id)
        if leg.hotline or call is None or call.connected is not None:
            continue
        for number, agent in leg.confirming.items():
            ringing = call.ringing.pop(number, None)
            label = ringing.label if ringing is not None else None
            call.confirming[number] = AgentOnCall(number, label, agent.since)
    return tuple(sorted(calls.values(), key=lambda c: c.arrived))
