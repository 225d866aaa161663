"""Garbage collection while serving: no full collection pauses the event loop under load.

What the benchmarks measured (``benchmarks/RESULTS.md``): a full collection
walks every live object, ~0.7 µs each, so with 1,000 calls up it blocks the
loop for 49-100 ms; CPython starts one on its own whenever the objects
promoted since the last one exceed a quarter of the old generation, i.e.
again and again while calls build up.  Young collections only walk young
objects and stay short.  And a finished call leaves no reference cycle
(``tests/test_gcguard.py`` proves it for this interpreter and loop) on
uvloop and on asyncio from CPython 3.12 on; on 3.11, asyncio's own loop
leaves one per connection (its socket transport holds a bound method of
itself: ~8 objects per connection that only a full collection frees).

So, once serving (``hotline run``): the objects of start-up are frozen out of
every later collection, and where calls leave no cycles the automatic full
collection is off and :class:`GcGuard` runs one itself, only

* when no call is up (it then walks little and delays nobody), or
* when the peak RSS grew by :data:`GROWTH_KB` since the last one (a guard
  that notices growth: something does leave garbage after all, or load grew),
  logged as ``gc_growth_collection`` with what it found.

Where calls do leave cycles (asyncio on 3.11) the automatic collections stay
on: turning them off there would grow memory without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import resource
import sys
import time
from collections.abc import Callable

from hotline.logs import get_logger

log = get_logger()

#: seconds between two looks at the process
INTERVAL = 5.0
#: peak RSS growth (KB) since the last full collection that forces one: 64 MB is
#: ~3,000 calls' worth of live state (~20 KB per call measured), so a ramp to
#: 1,000 calls never triggers it while real accumulation cannot go unnoticed
GROWTH_KB = 64 * 1024
#: a generation-2 threshold no counter reaches: no automatic full collection
_NEVER = 2**31 - 1


def peak_rss_kb() -> int:
    """The process's peak resident set size in KB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def event_loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """``uvloop`` or ``asyncio``: which event loop implementation runs the calls."""
    return type(loop).__module__.split(".", 1)[0]


def calls_leave_cycles(loop_name: str, version: tuple[int, int] | None = None) -> bool:
    """True where each closed connection leaves a reference cycle (asyncio on CPython 3.11)."""
    major_minor = version if version is not None else sys.version_info[:2]
    return loop_name == "asyncio" and major_minor < (3, 12)


class GcGuard:
    """Freezes start-up objects and runs full collections only when they hurt nobody.

    :meth:`check` is one look (the periodic task calls it every ``interval``
    seconds); ``collect`` and ``rss_kb`` are seams for tests.
    """

    def __init__(
        self,
        active_calls: Callable[[], int],
        *,
        interval: float = INTERVAL,
        growth_kb: int = GROWTH_KB,
        collect: Callable[[], int] = gc.collect,
        rss_kb: Callable[[], int] = peak_rss_kb,
    ) -> None:
        self.active_calls = active_calls
        self.interval = interval
        self.growth_kb = growth_kb
        self._collect = collect
        self._rss_kb = rss_kb
        self._thresholds = gc.get_threshold()
        self._task: asyncio.Task[None] | None = None
        self._baseline_kb = 0
        self.manual = False
        #: full collections this guard ran, by reason
        self.collections = {"idle": 0, "growth": 0}

    @property
    def policy(self) -> str:
        """One line for the ``serving`` log line."""
        if not self.manual:
            return "start-up frozen; automatic full collections (calls leave cycles here)"
        return (
            "start-up frozen; full collections only when idle or after "
            f"{self.growth_kb // 1024} MB growth"
        )

    def start(self) -> None:
        """Freeze what start-up built; take over full collections where calls leave no cycles."""
        loop = asyncio.get_running_loop()
        self._collect()
        gc.freeze()
        self.manual = not calls_leave_cycles(event_loop_name(loop))
        if self.manual:
            young, middle, _ = self._thresholds
            gc.set_threshold(young, middle, _NEVER)
        self._baseline_kb = self._rss_kb()
        self._task = loop.create_task(self._run(), name="gc-guard")

    async def stop(self) -> None:
        """Stop looking and give the interpreter its own collections back."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        gc.set_threshold(*self._thresholds)
        gc.unfreeze()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.check()

    def check(self) -> str | None:
        """Run a full collection if one is due now; returns why (``idle``/``growth``) or None."""
        if not self.manual:
            return None
        grown_kb = self._rss_kb() - self._baseline_kb
        if grown_kb >= self.growth_kb:
            reason = "growth"
        elif self.active_calls() == 0 and gc.get_count()[2] > 0:
            reason = "idle"  # objects were promoted since the last full collection
        else:
            return None
        started = time.perf_counter()
        found = self._collect()
        pause_ms = round((time.perf_counter() - started) * 1000, 1)
        self._baseline_kb = self._rss_kb()
        self.collections[reason] += 1
        if reason == "growth":
            # garbage found means something leaves cycles after all: worth a warning
            (log.warning if found else log.info)(
                "gc_growth_collection",
                grown_mb=round(grown_kb / 1024, 1),
                unreachable_objects=found,
                pause_ms=pause_ms,
                active_calls=self.active_calls(),
            )
        else:
            log.debug("gc_idle_collection", unreachable_objects=found, pause_ms=pause_ms)
        return reason
