"""Where failed PIN calls are counted: one small interface, an in-process implementation.

The interface is what several runtimes would share (a Redis sorted set per key
does exactly this), so it speaks in wall-clock seconds, not the event loop's
monotonic time: another process must agree on what "the last 15 minutes" is.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import Protocol

#: wall-clock seconds (time.time()); tests pass their own
WallClock = Callable[[], float]


class FailureStore(Protocol):
    """Counts events per key inside a sliding window."""

    async def add(self, key: str, now: float, window: float) -> int:
        """Record one event at ``now``; return the events of ``key`` in (now - window, now]."""
        ...

    async def count(self, key: str, now: float, window: float) -> int:
        """The events of ``key`` in (now - window, now]."""
        ...

    async def clear(self, key: str) -> None:
        """Forget every event of ``key``."""
        ...


class MemoryFailureStore:
    """:class:`FailureStore` in this process (one runtime); old events are pruned as keys are used.

    Bounded: each key keeps at most ``max_events`` timestamps (enough to decide
    any threshold the config allows) and at most ``max_keys`` keys, the least
    recently used dropped first, so a flood of forged caller ids cannot grow it.
    """

    def __init__(self, *, max_events: int = 1000, max_keys: int = 100_000) -> None:
        self._events: dict[str, list[float]] = {}
        self.max_events = max_events
        self.max_keys = max_keys

    def _pruned(self, key: str, now: float, window: float) -> list[float]:
        events = self._events.pop(key, [])
        del events[: bisect.bisect_right(events, now - window)]
        return events

    async def add(self, key: str, now: float, window: float) -> int:
        events = self._pruned(key, now, window)
        bisect.insort(events, now)
        del events[: -self.max_events]
        self._events[key] = events  # re-inserted: most recently used last
        while len(self._events) > self.max_keys:
            del self._events[next(iter(self._events))]
        return len(events)

    async def count(self, key: str, now: float, window: float) -> int:
        events = self._pruned(key, now, window)
        if events:
            self._events[key] = events
        return len(events)

    async def clear(self, key: str) -> None:
        self._events.pop(key, None)

    def __len__(self) -> int:
        return len(self._events)
