"""Measurements taken inside the server process: turnaround, loop lag, CPU, memory.

Turnaround is measured at the transport, not in the server's code, so the
runtime, the bare responder and panoramisk are measured the same way and none
of them is edited: :func:`install` swaps the ``StreamReader``/``StreamWriter``
classes ``asyncio.start_server`` builds for subclasses that note when bytes
from the PBX arrive (``feed_data``, called by the protocol as soon as the
socket is read) and, at the next ``write`` (the runtime's own stream: ``send``,
its one call per command), add the time since then to a histogram.  The first
command of a connection counts from the header's arrival.
Nothing is logged, so production logging stays as it is.
"""

from __future__ import annotations

import asyncio
import asyncio.streams
import contextlib
import gc
import resource
import time
from collections.abc import Callable, Coroutine, Generator, Iterable
from pathlib import Path
from typing import Any, SupportsIndex

from benchmarks.histogram import LogHistogram

_PROC = Path("/proc/self")


class Probe:
    """Counters shared by every instrumented connection of the process.

    The *active window* runs from the first connection opened after a reset
    to the last moment no connection was open: CPU spent in it is the cost of
    the calls, without the idle time around a run (heartbeat, process start
    of the load generator).
    """

    def __init__(self) -> None:
        self.turnaround = LogHistogram()
        #: commands written (one ``write``, the runtime's ``send``, per AGI command)
        self.commands = 0
        self.connections = 0
        self.open_connections = 0
        self.max_open_connections = 0
        #: (wall, CPU, wake-ups) when the active window began and ended (:func:`moment`)
        self.active_start: tuple[float, float, int] | None = None
        self.active_end: tuple[float, float, int] | None = None

    def reset(self) -> None:
        self.turnaround.clear()
        self.commands = 0
        self.connections = 0
        self.max_open_connections = self.open_connections
        self.active_start = self.active_end = None

    def opened(self) -> None:
        self.connections += 1
        self.open_connections += 1
        self.max_open_connections = max(self.max_open_connections, self.open_connections)
        if self.active_start is None:
            self.active_start = moment()

    def closed(self) -> None:
        self.open_connections -= 1
        if self.open_connections == 0:
            self.active_end = moment()

    def active(self) -> dict[str, float]:
        """Wall and CPU seconds and the wake-ups of the active window (zero before any call
        ended)."""
        start, end = self.active_start, self.active_end
        if start is None or end is None or end[0] < start[0]:
            return {"active_wall_s": 0.0, "active_cpu_s": 0.0, "active_wakes": 0}
        return {
            "active_wall_s": round(end[0] - start[0], 4),
            "active_cpu_s": round(end[1] - start[1], 4),
            "active_wakes": end[2] - start[2],
        }


PROBE = Probe()


class _ReplyTiming:
    """One connection's turnaround bookkeeping: the same for the peers' timed
    ``StreamReader`` and the runtime's timed ``AgiStream``."""

    arrived_at: float | None
    _waiting: bool
    _counted_closed: bool

    def _start_timing(self) -> None:
        self.arrived_at = None
        self._waiting = True
        self._counted_closed = False
        PROBE.opened()

    def _note_arrival(self, data: object) -> None:
        """Bytes from the PBX: the first after our last command starts the clock."""
        if self._waiting and data:
            self.arrived_at = time.perf_counter()
            self._waiting = False

    def command_sent(self, now: float) -> None:
        arrived = self.arrived_at
        if arrived is not None:
            PROBE.turnaround.add(now - arrived)
            self.arrived_at = None
        PROBE.commands += 1
        self._waiting = True

    def _count_closed(self) -> None:
        if not self._counted_closed:
            self._counted_closed = True
            PROBE.closed()


class TimedStreamReader(_ReplyTiming, asyncio.StreamReader):
    """Notes when the first bytes after our last command (or the header) arrive."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._start_timing()

    def feed_data(self, data: Iterable[SupportsIndex]) -> None:
        self._note_arrival(data)
        super().feed_data(data)

    def feed_eof(self) -> None:
        self._count_closed()
        super().feed_eof()

    def set_exception(self, exc: Exception) -> None:
        self._count_closed()
        super().set_exception(exc)


class TimedStreamWriter(asyncio.StreamWriter):
    """Adds the reply-to-command time to the histogram at each command written."""

    def __init__(
        self,
        transport: asyncio.WriteTransport,
        protocol: asyncio.BaseProtocol,
        reader: asyncio.StreamReader | None,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        super().__init__(transport, protocol, reader, loop)
        self.timed_reader = reader if isinstance(reader, TimedStreamReader) else None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.timed_reader is not None:
            self.timed_reader.command_sent(time.perf_counter())
        super().write(data)

    def close(self) -> None:
        # From CPython 3.12 the protocol holds its reader weakly: a server that drops
        # the reader before the peer's EOF arrives (panoramisk) never has feed_eof called.
        if self.timed_reader is not None:
            self.timed_reader._count_closed()
        super().close()


def install() -> None:
    """Make ``asyncio.start_server`` build timed streams in this process (servers only)."""
    asyncio.streams.StreamReader = TimedStreamReader  # type: ignore[misc]
    asyncio.streams.StreamWriter = TimedStreamWriter  # type: ignore[misc]


def install_hotline() -> None:
    """The same for the runtime, whose FastAGI connections are its own protocol
    (:class:`hotline.agi.stream.AgiStream`, not asyncio's streams): the server builds
    the timed subclass below, noting the same two moments at the same places."""
    from hotline.agi.server import FastAgiServer
    from hotline.agi.stream import AgiStream

    class TimedAgiStream(_ReplyTiming, AgiStream):
        """Notes when the first bytes after our last command (or the header) arrive,
        and at each command written adds the time since then to the histogram."""

        def __init__(self, max_line: int) -> None:
            super().__init__(max_line)
            self._start_timing()

        def data_received(self, data: bytes) -> None:
            self._note_arrival(data)
            super().data_received(data)

        def send(self, line: bytes) -> asyncio.Future[bytes | None] | None:
            self.command_sent(time.perf_counter())
            return super().send(line)

        def eof_received(self) -> bool:
            self._count_closed()
            return super().eof_received()

        def connection_lost(self, exc: Exception | None) -> None:
            self._count_closed()
            super().connection_lost(exc)

        def close(self) -> None:
            self._count_closed()
            super().close()

    FastAgiServer.stream_class = TimedAgiStream


class Heartbeat:
    """A task that wakes every ``interval`` s and records how late it woke (loop lag).

    A late wake-up is the loop being busy *or* the process not being scheduled
    (the machine is shared).  ``cpu_lag`` keeps, per beat, the lateness this
    process's own CPU time accounts for (``min(lag, CPU used meanwhile)``), so
    a loop blocked by our own work is told apart from a preempted process.
    """

    #: a beat whose CPU-backed lag passes this is kept with its time (:attr:`late`)
    LATE = 0.010
    #: at most this many late beats are kept per run
    KEEP = 500

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.lag = LogHistogram()
        self.cpu_lag = LogHistogram()
        #: (monotonic time it woke, lag, CPU-backed lag) of beats over :attr:`LATE`, so that
        #: each can be set beside the host's steal (benchmarks/host.py, StealWatch)
        self.late: list[tuple[float, float, float]] = []
        #: called after each beat with (lag, CPU-backed lag): tweak trace-blocks
        self.on_beat: Callable[[float, float], None] | None = None
        self._task: asyncio.Task[None] | None = None

    def clear(self) -> None:
        self.lag.clear()
        self.cpu_lag.clear()
        self.late.clear()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._beat(), name="bench-heartbeat")

    async def stop(self) -> None:
        task = self._task
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _beat(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            cpu = time.process_time()
            due = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            lag = max(0.0, loop.time() - due)
            cpu_lag = min(lag, time.process_time() - cpu)
            self.lag.add(lag)
            self.cpu_lag.add(cpu_lag)
            if cpu_lag > self.LATE and len(self.late) < self.KEEP:
                self.late.append((round(time.monotonic(), 4), round(lag, 4), round(cpu_lag, 4)))
            if self.on_beat is not None:
                self.on_beat(lag, cpu_lag)


class GcPauses:
    """Every garbage collection: pause (wall and CPU), per generation, and what it freed.

    ``collected`` counts objects only the cycle collector could free (garbage
    in reference cycles); a high count per call means work the collector does
    that reference counting could have done.
    """

    def __init__(self) -> None:
        self.clear()
        self._started = (0.0, 0.0)

    def install(self) -> None:
        gc.callbacks.append(self._callback)

    def clear(self) -> None:
        self.by_generation = [0, 0, 0]
        self.max_by_generation = [0.0, 0.0, 0.0]
        self.max_cpu = 0.0
        self.total = 0.0
        self.total_cpu = 0.0
        self.collected = 0
        #: (generation, CPU ms, objects freed) of collections over 10 ms, first 20
        self.slow: list[tuple[int, float, int]] = []

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = (time.perf_counter(), time.process_time())
            return
        pause = time.perf_counter() - self._started[0]
        cpu = time.process_time() - self._started[1]
        generation = info.get("generation", 2)
        self.by_generation[generation] += 1
        self.max_by_generation[generation] = max(self.max_by_generation[generation], pause)
        self.max_cpu = max(self.max_cpu, cpu)
        self.total += pause
        self.total_cpu += cpu
        self.collected += info.get("collected", 0)
        if cpu > 0.010 and len(self.slow) < 20:
            self.slow.append((generation, round(cpu * 1000, 2), info.get("collected", 0)))

    def summary(self) -> dict[str, Any]:
        return {
            "collections": list(self.by_generation),
            "max_ms": [round(x * 1000, 3) for x in self.max_by_generation],
            "max_cpu_ms": round(self.max_cpu * 1000, 3),
            "total_ms": round(self.total * 1000, 3),
            "total_cpu_ms": round(self.total_cpu * 1000, 3),
            "collected": self.collected,
            "slow": self.slow,
        }


def cpu_seconds() -> tuple[float, float]:
    """(user, system) CPU seconds of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def moment() -> tuple[float, float, int]:
    """Now: wall seconds, CPU seconds and wake-ups so far (voluntary context switches: each
    time the process slept, in its loop's poll or elsewhere, and was woken).  A wake-up
    costs the process 75-250 µs of CPU on the benchmark's virtual machines
    (benchmarks/wake_cost.py), so servers are told apart by them too."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter(), usage.ru_utime + usage.ru_stime, usage.ru_nvcsw


def memory_kb() -> dict[str, int]:
    """Current and peak resident set size (``VmRSS``, ``VmHWM``) in KiB, and how much of
    the anonymous memory is on transparent huge pages (hotline/heap.py)."""
    values: dict[str, int] = {}
    for line in (_PROC / "status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    with contextlib.suppress(OSError):  # Linux 4.14 and later
        for line in (_PROC / "smaps_rollup").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key == "AnonHugePages":
                values[key] = int(rest.split()[0])
    return {
        "rss_kb": values.get("VmRSS", 0),
        "peak_rss_kb": values.get("VmHWM", 0),
        "huge_pages_kb": values.get("AnonHugePages", 0),
    }


def reset_peak_rss() -> None:
    """Start the kernel's peak-RSS (``VmHWM``) over from the current RSS (Linux ≥ 4.0)."""
    with contextlib.suppress(OSError):
        (_PROC / "clear_refs").write_text("5")


class TaskSteps(Coroutine[Any, Any, Any]):
    """A coroutine wrapper timing each step (``send``/``throw``) of one task on the loop.

    A step is what the task runs between two awaits: the time the event loop
    is blocked by that task.  Each step goes into ``steps`` as wall time and
    into ``cpu_steps`` as the loop thread's own CPU time (``thread_time``), so
    that a step stretched by the machine's other processes (preemption) is
    told apart from one that really computes that long, as the heartbeat's
    CPU-backed lag does.  Garbage collections inside a step are subtracted
    (they are the collector's pauses, measured by :class:`GcPauses`).
    """

    def __init__(
        self,
        coro: Coroutine[Any, Any, Any],
        steps: LogHistogram,
        cpu_steps: LogHistogram,
        gc_pauses: GcPauses,
    ) -> None:
        self._coro = coro
        self._steps = steps
        self._cpu_steps = cpu_steps
        self._gc = gc_pauses

    def _timed(self, step: Callable[[], Any]) -> Any:
        gc_wall, gc_cpu = self._gc.total, self._gc.total_cpu
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            return step()
        finally:
            wall = time.perf_counter() - started - (self._gc.total - gc_wall)
            used = time.thread_time() - cpu - (self._gc.total_cpu - gc_cpu)
            self._steps.add(max(0.0, wall))
            self._cpu_steps.add(max(0.0, used))

    def send(self, value: Any) -> Any:
        return self._timed(lambda: self._coro.send(value))

    def throw(self, *args: Any) -> Any:
        return self._timed(lambda: self._coro.throw(*args))

    def close(self) -> None:
        self._coro.close()

    def __await__(self) -> Generator[Any, None, Any]:
        return self._coro.__await__()


#: coroutine qualname -> (wall, CPU) histograms its tasks' steps go to (time_task_steps)
_TIMED_TASKS: dict[str, tuple[LogHistogram, LogHistogram]] = {}


def time_task_steps(qualname: str, gc_pauses: GcPauses) -> tuple[LogHistogram, LogHistogram]:
    """Time every step of tasks whose coroutine is ``qualname`` (e.g. the journal writer);
    returns the (wall, CPU) histograms of its steps.  Several qualnames may be timed at
    once; tasks created before the call are not."""
    steps, cpu_steps = _TIMED_TASKS.setdefault(qualname, (LogHistogram(), LogHistogram()))
    loop = asyncio.get_running_loop()

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        timed = _TIMED_TASKS.get(getattr(coro, "__qualname__", ""))
        if timed is not None:
            coro = TaskSteps(coro, *timed, gc_pauses)
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(factory)
    return steps, cpu_steps
