"""One loop timer for the command deadlines of every AGI session of a server.

A session's deadline is seldom reached (replies come in milliseconds, the
deadline is seconds away), yet each live connection kept a loop timer of its
own: on uvloop ~600 bytes in six objects per connection (a handle, a libuv
timer, a context, a bound method; tracemalloc, benchmarks/RESULTS.md issue 19,
session 13), three connections per call.  Here the deadlines share slots of
:data:`GRAIN` seconds: a slot is a set of the sessions due then, and one loop
timer waits for the earliest slot.  A session is told (:meth:`Due.deadline_due`)
at its deadline or up to ``GRAIN`` seconds after it, never before it (less
:data:`EARLY`, the loop clock's rounding), and decides for itself whether its
command is late.
"""

from __future__ import annotations

import asyncio
import heapq
import math
from typing import Protocol

from hotline.logs import get_logger

log = get_logger()

#: seconds per slot: a deadline is kept at most this much too long (deadlines are seconds;
#: 0.05 made a slot per ~1.1 connections at 1,000 calls, a set of ~250 bytes each)
GRAIN = 0.1
#: a slot is due this much before its time (a loop timer may fire ~1 ms early)
EARLY = 0.001


class Due(Protocol):
    """What waits for a deadline (an AGI session)."""

    def deadline_due(self) -> None:
        """The deadline this was added for has passed (maybe moved on since)."""


class DeadlineSlots:
    """Deadlines on one event loop, in slots of :data:`GRAIN` seconds."""

    __slots__ = ("_firing", "_loop", "_order", "_slots", "_timer", "_timer_slot")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        #: slot number (its end, in GRAINs of loop time) -> what is due then
        self._slots: dict[int, set[Due]] = {}
        #: the slots' numbers, earliest first (each pushed once, when its set is made)
        self._order: list[int] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_slot = math.inf
        #: the timer fired and tells those due: what they add meanwhile waits for the timer
        #: made when they are all told.  A timer made for each such add was never cancelled:
        #: each fired into :meth:`_fire` and made another, 390 alive after 6,000 calls of the
        #: leak check's mix (benchmarks/RESULTS.md, issue 19 session 17)
        self._firing = False

    def __len__(self) -> int:
        """How many wait."""
        return sum(map(len, self._slots.values()))

    def add(self, due: Due, at: float) -> int:
        """Tell ``due`` (once) when loop time ``at`` has passed; returns its slot, for
        :meth:`discard` (an object is in one slot at a time: its owner's business)."""
        slot = math.ceil(at / GRAIN)
        members = self._slots.get(slot)
        if members is None:
            members = self._slots[slot] = set()
            heapq.heappush(self._order, slot)
            if slot < self._timer_slot and not self._firing:
                if self._timer is not None:
                    self._timer.cancel()
                self._timer = self._loop.call_at(slot * GRAIN, self._fire)
                self._timer_slot = slot
        members.add(due)
        return slot

    def discard(self, due: Due, slot: int) -> None:
        """``due``, added for ``slot``, is not told (no-op if it was or was discarded)."""
        members = self._slots.get(slot)
        if members is not None:
            members.discard(due)

    def close(self) -> None:
        """Nobody is told any more (the server stopped)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_slot = math.inf
        self._slots.clear()
        self._order.clear()

    def _fire(self) -> None:
        self._timer = None
        self._timer_slot = math.inf
        order, slots = self._order, self._slots
        self._firing = True
        try:
            # one told may add itself again (a later slot: its deadline was moved on)
            while order and order[0] * GRAIN <= self._loop.time() + EARLY:
                for due in slots.pop(heapq.heappop(order), ()):
                    try:
                        due.deadline_due()
                    except Exception:  # one session's bug must not keep the others'
                        log.exception("agi_deadline_failed")
        finally:
            self._firing = False
        if order:
            self._timer_slot = order[0]
            self._timer = self._loop.call_at(order[0] * GRAIN, self._fire)
