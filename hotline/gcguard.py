"""Garbage collection while serving: no collection pauses the event loop for long under load.

What the benchmarks measured (``benchmarks/RESULTS.md``): a full collection
walks every live object, ~0.7 µs each, so with 1,000 calls up it blocks the
loop for 49-100 ms; CPython starts one on its own whenever the objects
promoted since the last one exceed a quarter of the old generation, i.e.
again and again while calls build up.  And a finished call leaves no
reference cycle (``tests/test_gcguard.py`` proves it for this interpreter and
loop) on uvloop and on asyncio from CPython 3.12 on; on 3.11, asyncio's own
socket transport keeps a bound method of itself after ``close()`` (fixed in
3.12, CPython gh-100348): :func:`install_transport_fix` gives 3.11 the same
``close()``, so there too a closed connection leaves no cycle.

Young collections are not short by themselves either: CPython counts the
young generation *net* (tracked objects made minus tracked objects freed, of
any age), so under a steady load, where the old objects of finished commands
die as fast as new ones are made, generation 0 collects rarely and then walks
everything made since that is still alive.  Measured at N = 1,000 paced
calls: generation-1 collections walking 10,000-17,000 objects (3,700-5,400 of
them coroutines of commands waiting for their reply), 9-16 ms each.  Where
calls leave no cycles such a walk finds nothing (none collected in any
benchmark run), so while calls are up the guard freezes what they made at the
moment CPython starts a young collection (``gc.freeze()`` in a
``gc.callbacks`` hook: a list splice, and the collection then walks nothing;
``tests/test_gcguard.py`` shows the order on every supported CPython).  It
used to freeze on a 10 ms timer instead: a timer wakes the process, and on
the benchmark's machines a wake-up costs 75-250 µs of the process's CPU, so
that timer was ~4 µs per AGI command (benchmarks/RESULTS.md, issue 19,
session 17); the hook runs only when CPython would have walked, on a turn
the loop takes anyway.  Where calls leave cycles, a young collection every
:data:`YOUNG_INTERVAL` seconds while calls are up walks only what the last
interval made.

So, once serving (``hotline run``): the objects of start-up are frozen out of
every later collection, the automatic full collection is off, what calls make
is frozen when CPython would walk it (or, where calls leave cycles, collected
young on a timer), and :class:`GcGuard` runs a full collection itself, only

* when no call is up (it then walks little and delays nobody: not what is
  frozen; unfreezing start-up's ~95,000 objects for it paused the loop for
  ~40 ms whenever the calls thinned out, measured), or
* when the peak RSS grew by :data:`GROWTH_KB` since the last one (a guard
  that notices growth: something does leave garbage after all, or load grew),
  logged as ``gc_growth_collection`` with what it found.  This one unfreezes
  everything first, so garbage frozen meanwhile is found there.

Where calls would leave cycles and the transport fix cannot apply, the
automatic full collections stay on: turning them off there would grow memory
without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import resource
import sys
import time
from asyncio import selector_events
from collections.abc import Callable
from typing import Any

from hotline.logs import get_logger

log = get_logger()

#: seconds between two looks at the process
INTERVAL = 5.0
#: peak RSS growth (KB) since the last full collection that forces one: 64 MB is
#: ~3,000 calls' worth of live state (~20 KB per call measured), so a ramp to
#: 1,000 calls never triggers it while real accumulation cannot go unnoticed
GROWTH_KB = 64 * 1024
#: where calls leave cycles: seconds between two young collections while calls are up (each
#: walks ~10 ms of new objects: 1-2 ms of pause at N = 1,000 paced calls, not the
#: 10,000-17,000 CPython's net count lets pile up)
YOUNG_INTERVAL = 0.01
#: ... and between two looks while no call is up: nothing is made then, and a 10 ms timer
#: woke an idle runtime 100 times a second (~1 % of a core, 0.32 s of CPU in 30 s idle on
#: uvloop; 0.03 s with this: benchmarks/RESULTS.md, issue 19 session 17); a call arriving
#: waits at most this long for the first freeze, its objects meanwhile in CPython's own
#: young collections
IDLE_YOUNG_INTERVAL = 0.5
#: a generation-2 threshold no counter reaches: no automatic full collection
_NEVER = 2**31 - 1


def peak_rss_kb() -> int:
    """The process's peak resident set size in KB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def event_loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """``uvloop`` or ``asyncio``: which event loop implementation runs the calls."""
    return type(loop).__module__.split(".", 1)[0]


def calls_leave_cycles(loop_name: str, version: tuple[int, int] | None = None) -> bool:
    """True where each closed connection leaves a reference cycle unless
    :func:`install_transport_fix` is applied (asyncio on CPython 3.11)."""
    major_minor = version if version is not None else sys.version_info[:2]
    return loop_name == "asyncio" and major_minor < (3, 12)


def install_transport_fix() -> bool:
    """Give asyncio's socket transport CPython 3.12's ``close()`` where it lacks it (3.11).

    The transport keeps its read callback as a bound method of itself
    (``_read_ready_cb``): a cycle of 8 objects per connection that only a full
    collection frees.  3.12's ``close()`` drops it first (gh-100348); so does
    this one.  The reader is removed by the same ``close()``, so the callback
    is never needed again.  Idempotent; True when closed connections now leave
    no cycle on asyncio's loop.
    """
    if not calls_leave_cycles("asyncio"):
        return True
    transport = getattr(selector_events, "_SelectorSocketTransport", None)
    close = getattr(transport, "close", None)
    if transport is None or close is None:
        return False  # not the asyncio this was written for: leave it alone
    if getattr(close, "_hotline_drops_cycle", False):
        return True

    def close_dropping_cycle(self: Any) -> None:
        self._read_ready_cb = None
        close(self)

    close_dropping_cycle._hotline_drops_cycle = True  # type: ignore[attr-defined]
    transport.close = close_dropping_cycle
    return True


class GcGuard:
    """Freezes start-up objects, freezes (or collects) young objects and runs full
    collections only when they hurt nobody.

    :meth:`check` is one look (the periodic task calls it every ``interval``
    seconds), :meth:`collect_young` one look at the young objects: where calls
    leave no cycles (:attr:`manual`) whenever CPython starts a young collection
    (``freeze_young``; False: CPython's own walks), where they do every
    ``young_interval`` seconds while a call is up (every ``idle_young_interval``
    while none is; None: CPython's count only); ``young_interval`` applies to the
    first kind too when ``freeze_young`` is False.  ``collect``,
    ``collect_generation``, ``freeze`` and ``rss_kb`` are seams for tests.
    """

    def __init__(
        self,
        active_calls: Callable[[], int],
        *,
        interval: float = INTERVAL,
        growth_kb: int = GROWTH_KB,
        young_interval: float | None = YOUNG_INTERVAL,
        idle_young_interval: float = IDLE_YOUNG_INTERVAL,
        freeze_young: bool = True,
        collect: Callable[[], int] = gc.collect,
        collect_generation: Callable[[int], int] = gc.collect,
        freeze: Callable[[], None] = gc.freeze,
        rss_kb: Callable[[], int] = peak_rss_kb,
    ) -> None:
        self.active_calls = active_calls
        self.interval = interval
        self.growth_kb = growth_kb
        self.young_interval = young_interval
        self.idle_young_interval = idle_young_interval
        self.freeze_young = freeze_young
        #: the hook in ``gc.callbacks`` while serving (freeze_young, manual)
        self._hooked = False
        self._collect = collect
        self._collect_generation = collect_generation
        self._freeze = freeze
        #: young objects were frozen since the last full collection
        self._frozen_young = False
        self._rss_kb = rss_kb
        self._thresholds = gc.get_threshold()
        self._task: asyncio.Task[None] | None = None
        self._young: asyncio.TimerHandle | None = None
        self._young_loop: asyncio.AbstractEventLoop | None = None
        self._baseline_kb = 0
        self.manual = False
        #: full collections this guard ran, by reason
        self.collections = {"idle": 0, "growth": 0}
        #: looks at what calls made (frozen, or collected young)
        self.young_collections = 0

    @property
    def _hook_young(self) -> bool:
        return self.manual and self.freeze_young

    @property
    def policy(self) -> str:
        """One line for the ``serving`` log line."""
        what = "young objects frozen" if self.manual else "young collections"
        if self._hook_young:
            young = f"; {what} when CPython would collect them while calls are up"
        elif self.young_interval is not None:
            young = f"; {what} every {self.young_interval * 1000:g} ms while calls are up"
        else:
            young = ""
        if not self.manual:
            return "start-up frozen; automatic full collections (calls leave cycles here)" + young
        return (
            "start-up frozen; full collections only when idle or after "
            f"{self.growth_kb // 1024} MB growth" + young
        )

    def start(self) -> None:
        """Freeze what start-up built; take over full collections where calls leave no cycles;
        hook into CPython's young collections, or start the young objects' timer."""
        loop = asyncio.get_running_loop()
        self._collect()
        gc.freeze()
        leaves_cycles = calls_leave_cycles(event_loop_name(loop))
        self.manual = not leaves_cycles or install_transport_fix()
        if self.manual:
            young, middle, _ = self._thresholds
            gc.set_threshold(young, middle, _NEVER)
        self._baseline_kb = self._rss_kb()
        self._task = loop.create_task(self._run(), name="gc-guard")
        self._young_loop = loop
        if self._hook_young:
            gc.callbacks.append(self._before_collection)
            self._hooked = True
        elif self.young_interval is not None:
            self._young = loop.call_later(self.young_interval, self._young_tick)

    def _before_collection(self, phase: str, info: dict[str, int]) -> None:
        """``gc.callbacks``: a young collection is about to walk what calls made; frozen
        first, it walks nothing (a full one is the guard's own, or someone's on purpose)."""
        if phase == "start" and info["generation"] < 2:
            self.collect_young()

    def _young_tick(self) -> None:
        ran = self.collect_young()
        loop = self._young_loop
        if self.young_interval is not None and self._task is not None and loop is not None:
            delay = self.young_interval if ran else self.idle_young_interval
            self._young = loop.call_later(delay, self._young_tick)

    def collect_young(self) -> bool:
        """What calls made since the last look, out of later collections' way, if a call is
        up; True if it ran.  Frozen where calls leave no cycles (:attr:`manual`; the growth
        collection unfreezes first), else a young collection (generations 0 and 1)."""
        if not self.active_calls():
            return False  # nothing is made while idle; the idle full collection follows
        if self.manual:
            self._freeze()
            self._frozen_young = True
        else:
            self._collect_generation(1)
        self.young_collections += 1
        return True

    async def stop(self) -> None:
        """Stop looking and give the interpreter its own collections back."""
        if self._hooked:
            self._hooked = False
            gc.callbacks.remove(self._before_collection)
        young, self._young = self._young, None
        if young is not None:
            young.cancel()
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
        if reason == "growth" and self._frozen_young:
            gc.unfreeze()  # what was frozen young is seen too (start-up's as well)
            try:
                found = self._collect()
            finally:
                gc.freeze()  # the survivors stay out of the automatic collections' way
                self._frozen_young = False
        else:
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
