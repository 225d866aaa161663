"""What fills the event loop when the heartbeat wakes late (tweak ``trace-blocks``; diagnosis).

The heartbeat (:class:`benchmarks.probe.Heartbeat`) says *that* the loop was
late; this says *with what*.  Every step of every task (what a task runs
between two awaits), every garbage collection and every write of the log's
batches is timed in the loop thread's CPU time and added to the current
heartbeat window; each window the heartbeat found late by more than
:data:`LATE` (CPU-backed) is kept with its totals and its longest items.  So
a late window shows whether it was one long callback, a collection, a log
write, or many short steps one after another (a backlog: the process was not
scheduled for a while, then served what had queued up meanwhile).

It costs CPU itself (two clock reads per step) and is meant for finding out,
not for the headline numbers: ``--servers hotline,hotline+trace-blocks``.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Coroutine, Generator
from typing import Any

#: a window whose CPU-backed lateness exceeds this is kept (seconds)
LATE = 0.010
#: windows kept (the latest ones beyond this are counted, not kept)
KEEP = 400
#: items over this CPU time (seconds) are named in their window
NAMED = 0.0005


class Window:
    """The loop thread's CPU since the heartbeat's last wake-up, by kind."""

    __slots__ = ("gc", "gc_count", "log", "longest", "steps", "steps_cpu")

    def __init__(self) -> None:
        self.steps = 0
        self.steps_cpu = 0.0
        self.gc = 0.0
        self.gc_count = 0
        self.log = 0.0
        self.longest: list[tuple[str, float]] = []

    def name(self, what: str, cpu: float) -> None:
        if cpu > NAMED and len(self.longest) < 50:
            self.longest.append((what, cpu))


class BlockTracer:
    """Attributes the loop thread's CPU to heartbeat windows (see the module's docstring)."""

    def __init__(self) -> None:
        self.window = Window()
        self.kept: list[dict[str, Any]] = []
        self.late = 0
        #: per coroutine and the line it resumed at: steps, CPU seconds, longest
        self.steps: dict[str, list[float]] = {}
        self._gc_started = 0.0

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Time every task created from now on, every collection, every log write."""
        previous = loop.get_task_factory()

        def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
            name = getattr(coro, "__qualname__", type(coro).__qualname__)
            if name != "Heartbeat._beat":
                coro = _TimedSteps(coro, name, self)
            if previous is not None:
                return previous(loop, coro, **kwargs)
            return asyncio.Task(coro, loop=loop, **kwargs)

        loop.set_task_factory(factory)
        gc.callbacks.append(self._gc)
        _time_log_writes(self)

    def clear(self) -> None:
        self.window = Window()
        self.kept.clear()
        self.late = 0
        self.steps.clear()

    def step(self, name: str, cpu: float) -> None:
        window = self.window
        window.steps += 1
        window.steps_cpu += cpu
        window.name(name, cpu)
        found = self.steps.get(name)
        if found is None:
            self.steps[name] = [1, cpu, cpu]
        else:
            found[0] += 1
            found[1] += cpu
            found[2] = max(found[2], cpu)

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.thread_time()
            return
        cpu = time.thread_time() - self._gc_started
        self.window.gc += cpu
        self.window.gc_count += 1
        self.window.name(f"gc generation {info.get('generation')}", cpu)

    def beat(self, lag: float, cpu_lag: float) -> None:
        """The heartbeat woke: keep the window if it was late, start the next."""
        window, self.window = self.window, Window()
        if cpu_lag <= LATE:
            return
        self.late += 1
        if len(self.kept) >= KEEP:
            return
        self.kept.append(
            {
                "lag_ms": round(lag * 1e3, 2),
                "cpu_lag_ms": round(cpu_lag * 1e3, 2),
                "steps": window.steps,
                "steps_cpu_ms": round(window.steps_cpu * 1e3, 2),
                "gc_cpu_ms": round(window.gc * 1e3, 2),
                "gc_count": window.gc_count,
                "log_cpu_ms": round(window.log * 1e3, 2),
                "longest": [
                    (what, round(cpu * 1e3, 2))
                    for what, cpu in sorted(window.longest, key=lambda x: -x[1])[:5]
                ],
            }
        )

    def summary(self) -> dict[str, Any]:
        """The late windows (latest first, by lateness) and the costliest kinds of step."""
        kept = sorted(self.kept, key=lambda w: -float(w["cpu_lag_ms"]))
        costliest = sorted(self.steps.items(), key=lambda kv: -kv[1][1])[:12]
        return {
            "late_ms": LATE * 1e3,
            "late_windows": self.late,
            "windows": kept[:40],
            "steps": [
                {
                    "step": name,
                    "count": int(count),
                    "cpu_ms": round(total * 1e3, 1),
                    "max_ms": round(longest * 1e3, 3),
                }
                for name, (count, total, longest) in costliest
            ],
        }


class _TimedSteps(Coroutine[Any, Any, Any]):
    """A task's coroutine with each step timed (loop-thread CPU, collections excluded)."""

    __slots__ = ("_coro", "_name", "_tracer")

    def __init__(self, coro: Coroutine[Any, Any, Any], name: str, tracer: BlockTracer) -> None:
        self._coro = coro
        self._name = name
        self._tracer = tracer

    def _timed(self, step: Callable[[], Any]) -> Any:
        where = f"{self._name}:{_resumes_at(self._coro)}"
        window = self._tracer.window
        gc_before = window.gc
        started = time.thread_time()
        try:
            return step()
        finally:
            used = time.thread_time() - started
            if self._tracer.window is window:
                used -= window.gc - gc_before
            self._tracer.step(where, max(0.0, used))

    def send(self, value: Any) -> Any:
        return self._timed(lambda: self._coro.send(value))

    def throw(self, *args: Any) -> Any:
        return self._timed(lambda: self._coro.throw(*args))

    def close(self) -> None:
        self._coro.close()

    def __await__(self) -> Generator[Any, None, Any]:
        return self._coro.__await__()


def _resumes_at(coro: Any) -> str:
    """Where a task's step resumes: the innermost awaiting frame of the runtime's own code
    outside its protocol layer (the call flow's line that issued the command), else the
    innermost frame (the task's own frame tells little: a connection's whole life is one
    line of ``_serve_socket``)."""
    where = flow = "-"
    depth = 0
    while coro is not None and depth < 32:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is None:
            break
        code = frame.f_code
        where = f"{code.co_qualname}:{frame.f_lineno}"
        if "/hotline/" in code.co_filename and "/hotline/agi/" not in code.co_filename:
            flow = where
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
        depth += 1
    return flow if flow != "-" else where


def _time_log_writes(tracer: BlockTracer) -> None:
    """Time each write of the runtime's log batches (hotline.logs)."""
    from hotline import logs

    put = logs._Writer._put

    def timed(writer: Any, data: bytes | memoryview) -> None:
        started = time.thread_time()
        try:
            put(writer, data)
        finally:
            used = time.thread_time() - started
            tracer.window.log += used
            tracer.window.name(f"log write {len(data)} bytes", used)

    setattr(logs._Writer, "_put", timed)  # noqa: B010 - replacing a method on purpose
