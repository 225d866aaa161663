"""hotline run's garbage collection: no automatic full collection where calls leave no cycles."""

from __future__ import annotations

import asyncio
import gc
import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks.scenario import CONFIG, HOSTILE_AGI
from hotline.config import Settings, settings_from_mapping
from hotline.eventloop import loop_factory
from hotline.gcguard import GcGuard, calls_leave_cycles, event_loop_name, install_transport_fix
from hotline.heap import heap_name
from hotline.logs import configure_logging
from hotline.runtime import Runtime
from hotline.sim.hostile import write_short_prompts
from tests.conftest import CapturedLog

ROOT = Path(__file__).resolve().parents[1]
CALLS = 100


def test_where_calls_leave_cycles_without_the_transport_fix() -> None:
    assert calls_leave_cycles("asyncio", (3, 11))
    assert not calls_leave_cycles("asyncio", (3, 12))
    assert not calls_leave_cycles("asyncio", (3, 13))
    assert not calls_leave_cycles("uvloop", (3, 11))


async def _drive(port: int, calls: int) -> str:
    """The benchmark's load generator (its own process) places ``calls`` placements of the
    leak check's mix: full calls, callers hanging up, hostile peers (its JSON summary)."""
    command = [sys.executable, "-m", "benchmarks.driver", "--port", str(port)]
    command += ["--calls", str(calls), "--caller-commands", "0", "--mix", "errors"]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)  # noqa: ASYNC220
    out, _ = await asyncio.get_running_loop().run_in_executor(None, proc.communicate)
    return out


def _hostile_settings(sounds: Path) -> Settings:
    """The leak check's runtime: deadlines short enough for silent hostile peers."""
    config = dict(CONFIG)
    config["asterisk"] = {**config["asterisk"], "sounds_dir": str(write_short_prompts(sounds))}
    config["agi"] = {**config["agi"], **HOSTILE_AGI}
    return settings_from_mapping(config)


async def _garbage_left_by_calls(sounds: Path) -> tuple[str, set[str], str]:
    """Serve CALLS placements with the cycle collector off, with the guard's transport fix
    (on CPython 3.11 this fails without it); the runtime-side objects only the collector could
    free afterwards, by type."""
    assert install_transport_fix()
    configure_logging(level="INFO", fmt="json", stream=io.StringIO())
    runtime = Runtime(_hostile_settings(sounds), host="127.0.0.1", port=0)
    await runtime.start()
    try:
        await _drive(runtime.port, 2)  # warm-up: first-use objects are not garbage
        gc.collect()
        gc.disable()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            out = await _drive(runtime.port, CALLS)
            await runtime.stop()  # drains: every session has ended when it returns
            gc.collect()
            types = {f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage}
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
    finally:
        if runtime.server.is_serving:
            await runtime.stop()
    ours = {t for t in types if t.startswith(("hotline.", "asyncio.", "uvloop."))}
    return event_loop_name(asyncio.get_running_loop()), ours, out


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_a_finished_call_leaves_no_cycle_as_the_guard_serves(loop: str, tmp_path: Path) -> None:
    """Error paths included: callers hanging up, hostile peers the runtime's deadlines end."""
    with _runner(loop) as runner:
        name, garbage, out = runner.run(_garbage_left_by_calls(tmp_path / "sounds"))
    assert name == loop
    placed = json.loads(out)
    assert placed["kinds"] == {"call": 60, "hangup": 20, "hostile": 20}
    assert [w for w in placed["wrong"] if w["kind"] != "call"] == []  # none hung or failed
    # most calls connect; the leak check's deadlines (20 ms prompts) can end a few on a
    # starved machine (53 of 60 seen at load 10 on 2 cores): still the same code paths
    assert placed["outcomes"]["connected"] >= 40
    assert garbage == set()


class FakeProcess:
    """Peak RSS and collections under the test's control."""

    def __init__(self) -> None:
        self.rss_kb = 50_000
        self.collected = 0
        self.found = 0

    def collect(self) -> int:
        self.collected += 1
        gc.collect()  # the real one too: it resets the interpreter's counts
        return self.found


def _guard(process: FakeProcess, active: Callable[[], int]) -> GcGuard:
    return GcGuard(
        active,
        interval=3600,
        growth_kb=1024,
        young_interval=None,
        freeze_young=False,  # full collections only: the young ones are tested below
        collect=process.collect,
        rss_kb=lambda: process.rss_kb,
    )


def _runner(loop: str) -> asyncio.Runner:
    factory = loop_factory() if loop == "uvloop" else None
    if loop == "uvloop" and factory is None:
        pytest.skip("uvloop is not installed (pip install '.[fast]')")
    return asyncio.Runner(loop_factory=factory)


async def _guard_decisions(captured_log: CapturedLog) -> None:
    thresholds = gc.get_threshold()
    process = FakeProcess()
    calls = 5
    guard = _guard(process, lambda: calls)
    guard.start()
    try:
        assert guard.manual  # on asyncio's loop and CPython 3.11 too: the transport fix
        assert gc.get_threshold()[2] > 10**9  # no automatic full collection
        assert gc.get_freeze_count() > 0
        assert "idle" in guard.policy
        process.collected = 0
        assert guard.check() is None  # calls up, no growth: nobody is paused

        gc.collect(1)  # objects promoted to the old generation since the last full collection
        calls = 0
        assert guard.check() == "idle"
        assert process.collected == 1
        assert guard.check() is None  # nothing promoted since

        calls = 7
        process.rss_kb += 2048
        process.found = 12
        assert guard.check() == "growth"
        assert guard.check() is None  # the new peak is the new baseline
        (growth,) = captured_log.named("gc_growth_collection")
        assert growth["level"] == "warning"  # it found garbage: something leaves cycles
        assert growth["unreachable_objects"] == 12
        assert growth["grown_mb"] == 2.0
        assert growth["active_calls"] == 7
        assert guard.collections == {"idle": 1, "growth": 1}
    finally:
        await guard.stop()
    assert gc.get_threshold() == thresholds
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_guard_collects_when_idle_or_after_growth_and_gives_gc_back(
    loop: str, captured_log: CapturedLog
) -> None:
    with _runner(loop) as runner:
        runner.run(_guard_decisions(captured_log))


async def test_serving_line_reports_loop_heap_and_gc(captured_log: CapturedLog) -> None:
    async with Runtime(settings_from_mapping(CONFIG), host="127.0.0.1", port=0, gc_guard=True):
        pass
    (serving,) = captured_log.named("serving")
    assert serving["event_loop"] == event_loop_name(asyncio.get_running_loop())
    assert serving["heap"] == heap_name()  # this interpreter's (hotline/heap.py)
    assert serving["gc"].startswith("start-up frozen")
    assert gc.get_freeze_count() == 0  # stopping gave the interpreter its collections back


async def _young_collections() -> None:
    calls = 0
    freezes = asyncio.Event()
    generations: list[int] = []

    def freeze() -> None:
        gc.freeze()
        freezes.set()

    def collect_generation(generation: int) -> int:
        generations.append(generation)
        return 0

    rss_kb = 50_000
    frozen_while_collecting: list[int] = []

    def collect() -> int:
        frozen_while_collecting.append(gc.get_freeze_count())
        return gc.collect()

    guard = GcGuard(
        lambda: calls,
        interval=3600,
        growth_kb=1024,
        young_interval=0.001,
        freeze_young=False,  # the timer, as where calls leave cycles
        collect=collect,
        rss_kb=lambda: rss_kb,
    )
    guard.start()
    try:
        assert guard.manual  # calls leave no cycles here: what they make is frozen
        assert "young objects frozen every 1 ms" in guard.policy
        gc.disable()  # no automatic collection moves it meanwhile
        try:
            young: list[object] = [[]]  # made now: in the youngest generation
            assert guard.collect_young() is False  # no call up: nothing to set aside
            assert any(o is young for o in gc.get_objects(generation=0))
            calls = 3
            frozen = gc.get_freeze_count()
            assert guard.collect_young() is True
            # frozen: no later collection walks it (a list splice, not a walk)
            assert gc.get_freeze_count() > frozen
            assert not any(o is young for o in gc.get_objects())
            frozen_while_collecting.clear()
            rss_kb += 2048
            assert guard.check() == "growth"
            # the growth collection sees what the timer froze (start-up's too), then
            # freezes the survivors again
            assert frozen_while_collecting == [0]
            assert gc.get_freeze_count() > 0
            # an idle collection leaves the frozen alone: it walks only what was promoted
            assert guard.collect_young() is True
            gc.collect(1)  # something promoted since: an idle collection is due
            calls = 0
            assert guard.check() == "idle"
            assert frozen_while_collecting[-1] > 0
        finally:
            gc.enable()
        calls = 3
        guard._freeze = freeze
        await asyncio.wait_for(freezes.wait(), 30)  # the timer runs them while calls are up
        assert guard.young_collections >= 2
        # where calls leave cycles, the timer collects young objects instead
        guard.manual = False
        guard._collect_generation = collect_generation
        assert "young collections every 1 ms" in guard.policy
        assert guard.collect_young() is True
        assert generations == [1]
    finally:
        await guard.stop()
    assert guard._young is None  # stopped: the timer is off
    assert gc.get_freeze_count() == 0


class _Cycle:
    pass


def _cycles(count: int) -> None:
    """``count`` objects only the collector can free (each refers to itself)."""
    for _ in range(count):
        cycle = _Cycle()
        cycle.me = cycle  # type: ignore[attr-defined]


async def _hooked_young_collections(captured_log: CapturedLog) -> None:
    calls = 3
    rss_kb = 50_000
    guard = GcGuard(lambda: calls, interval=3600, growth_kb=1024, rss_kb=lambda: rss_kb)
    guard.start()
    try:
        assert guard.manual
        assert "young objects frozen when CPython would collect them" in guard.policy
        assert guard._young is None  # no timer wakes the loop
        _cycles(5)
        frozen = gc.get_freeze_count()
        # a call is up: what it made is frozen before the young collection walks it
        assert gc.collect(0) == 0
        assert gc.get_freeze_count() >= frozen + 5
        assert guard.young_collections == 1
        # CPython's own young collections too (made objects kept, past its threshold)
        kept: list[list[int]] = [[] for _ in range(gc.get_threshold()[0] * 2)]
        assert guard.young_collections > 1
        del kept
        # no call up: CPython's own walk, which finds what is there
        calls = 0
        young = guard.young_collections
        _cycles(3)
        assert gc.collect(0) >= 3
        assert guard.young_collections == young
        # the growth collection unfreezes first: what was frozen young is found there
        rss_kb += 2048
        calls = 1
        assert guard.check() == "growth"
        (growth,) = captured_log.named("gc_growth_collection")
        assert growth["unreachable_objects"] >= 5
    finally:
        await guard.stop()
    assert guard._before_collection not in gc.callbacks
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_young_objects_are_frozen_when_cpython_would_walk_them(
    loop: str, captured_log: CapturedLog
) -> None:
    """Where calls leave no cycles, no timer: the freeze comes in CPython's own young
    collection, before its walk (gc.callbacks' "start" on 3.11-3.13; issue 19)."""
    with _runner(loop) as runner:
        runner.run(_hooked_young_collections(captured_log))


async def _idle_ticks() -> None:
    calls = 0
    looked = asyncio.Event()
    guard = GcGuard(
        lambda: calls,
        interval=3600,
        young_interval=0.001,
        idle_young_interval=3600,
        freeze_young=False,
    )
    collect_young = guard.collect_young

    def look() -> bool:
        looked.set()
        return collect_young()

    guard.collect_young = look  # type: ignore[method-assign]
    loop = asyncio.get_running_loop()
    guard.start()
    try:
        await asyncio.wait_for(looked.wait(), 30)
        # nothing was up: the next look is the idle interval away, not the busy one
        assert guard._young is not None
        assert guard._young.when() - loop.time() > 3000
        assert guard.young_collections == 0
        calls = 2
        guard._young.cancel()
        guard._young_tick()  # a call is up now: the next look is the busy interval away
        assert guard.young_collections == 1
        assert guard._young.when() - loop.time() < 1
    finally:
        await guard.stop()


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_an_idle_guard_looks_at_young_objects_seldom(loop: str) -> None:
    """No call up: the timer wakes the loop twice a second, not 100 times (issue 19)."""
    with _runner(loop) as runner:
        runner.run(_idle_ticks())


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_young_collections_run_on_a_timer_while_calls_are_up(loop: str) -> None:
    with _runner(loop) as runner:
        runner.run(_young_collections())
