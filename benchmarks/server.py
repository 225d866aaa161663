"""``python -m benchmarks.server``: one server under test, in its own process.

``--kind hotline`` is the real :class:`hotline.runtime.Runtime` on the
benchmark config with production logging (INFO, JSON lines, appended
in batches to ``--log-file``, as ``hotline run`` does); ``bare`` and
``panoramisk`` replay ``--exchange`` (see :mod:`benchmarks.responders`), and so
does ``agi``, the runtime's protocol layer alone, logging as the runtime does.

The process prints ``{"ready": …, "port": …}`` on stdout, then obeys one JSON
command per stdin line and answers each with one JSON line:

* ``reset`` — start a measurement: zero the counters, restart the peak RSS;
* ``stats`` — what happened since the reset (CPU, turnaround, loop lag, RSS);
* ``stats-gc`` — the same after ``gc.collect()`` (what the runtime's guard froze
  unfrozen for it), with the live object count and what the collection found
  unreachable (``gc_collected``);
* ``types`` — the most common live object types (to see what a call keeps);
* ``quit`` — stop the server (draining calls) and exit.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from benchmarks import probe
from benchmarks.blocks import BlockTracer
from benchmarks.errors import BenchmarkError
from benchmarks.exchange import Exchange
from benchmarks.histogram import LogHistogram
from benchmarks.loops import LOOPS, loop_factory
from benchmarks.responders import start_agi_layer, start_bare, start_panoramisk
from benchmarks.scenario import CONFIG, HOSTILE_AGI
from benchmarks.tweaks import TWEAKS

KINDS = ("hotline", "bare", "panoramisk", "agi")

Stop = Callable[[], Awaitable[None]]
#: awaited before ``stats``: finish background work that belongs to the run; returns extra stats
Settle = Callable[[], Awaitable[dict[str, Any]]]
#: histograms that start afresh with each measurement (``reset``)
RESET_WITH_METER: list[LogHistogram] = []
#: tweak trace-blocks: what fills the late heartbeat windows (benchmarks.blocks)
TRACER: BlockTracer | None = None
#: the live page's tasks (aiohttp's: one per connection, one per request; ours: the push)
PAGE_TASKS = ("RequestHandler.start", "RequestHandler._handle_request", "Broadcaster._run")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.server")
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--exchange", type=Path, help="exchange JSON (bare, panoramisk, agi)")
    parser.add_argument("--log-file", type=Path, help="JSON log file (hotline, agi)")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--heartbeat", type=float, default=0.005, help="seconds between beats")
    parser.add_argument(
        "--loop", choices=LOOPS, default="asyncio", help="event loop every server kind runs on"
    )
    parser.add_argument(
        "--tweak",
        action="append",
        default=[],
        choices=sorted(TWEAKS),
        help="hotline only: try a candidate fix (experiments, see benchmarks.tweaks)",
    )
    return parser


def _open_log(log_file: Path, level: str) -> TextIO:
    """Logging as hotline.runtime.run_forever sets it up: line-buffered append, JSON
    renderer, batched writes (the runtime and its protocol layer alone)."""
    from hotline.logs import configure_logging

    stream = log_file.open("a", encoding="utf-8", buffering=1)
    configure_logging(level=level, fmt="json", stream=stream, batch=True)
    return stream


async def _start_hotline(
    log_file: Path, level: str, tweaks: Sequence[str], gc_pauses: probe.GcPauses
) -> tuple[int, Stop, TextIO, Settle]:
    """The runtime; returns its port, stop, log stream and what to await before stats."""
    from hotline.agi.server import FastAgiServer
    from hotline.config import settings_from_mapping
    from hotline.runtime import Runtime

    stream = _open_log(log_file, level)
    config = dict(CONFIG)
    if "handler-inline" in tweaks:
        FastAgiServer.handler_task = False
    if "hostile" in tweaks:
        from hotline.sim.hostile import write_short_prompts

        sounds = write_short_prompts(Path(tempfile.mkdtemp(prefix="hotline-bench-")) / "sounds")
        config["asterisk"] = {**config["asterisk"], "sounds_dir": str(sounds)}
        config["agi"] = {**config["agi"], **HOSTILE_AGI}
    if "journal-metrics" in tweaks:
        journal = log_file.with_suffix(".journal.sqlite")
        config["journal"] = {"enabled": True, "path": str(journal), "caller": "hashed"}
        config["metrics"] = {"enabled": True}
        config["http"] = {"port": 0}
    if "page" in tweaks or "page-5" in tweaks:
        config["http"] = {"page": True, "port": 0}
    # as hotline run: its garbage collection (hotline.gcguard) unless the gc-default tweak
    runtime = Runtime(
        settings_from_mapping(config),
        host="127.0.0.1",
        port=0,
        gc_guard="gc-default" not in tweaks,
    )
    if ("gc-count-young" in tweaks or "gc-off" in tweaks) and runtime.gc is not None:
        runtime.gc.freeze_young = False
        runtime.gc.young_interval = None
    if "young-timer" in tweaks and runtime.gc is not None:
        runtime.gc.freeze_young = False  # its timer, every YOUNG_INTERVAL
    # Timing a task's steps takes a task factory, a Python call for every task the runtime
    # makes (~540 instructions and 1.5 misses past the cache per AGI command,
    # benchmarks/pymisses.py, issue 19 session 17): only when a timed task runs at all.
    # Every step of the journal writer's task: how long it blocks the loop at a time
    writer_steps, writer_cpu_steps = (
        probe.time_task_steps("JournalWriter._run", gc_pauses)
        if "journal-metrics" in tweaks
        else (LogHistogram(), LogHistogram())
    )
    RESET_WITH_METER.extend((writer_steps, writer_cpu_steps))  # from the run's reset on
    # every step of the live page's tasks: the push task and each open page's stream
    page_cpu_steps = (
        [probe.time_task_steps(name, gc_pauses)[1] for name in PAGE_TASKS]
        if "page" in tweaks or "page-5" in tweaks
        else []
    )
    RESET_WITH_METER.extend(page_cpu_steps)
    await runtime.start()
    if "gc-off" in tweaks and runtime.gc is not None:
        gc.set_threshold(0)  # after start(): the guard set its own thresholds there
    if "trace-blocks" in tweaks:
        global TRACER
        TRACER = BlockTracer()
        TRACER.install(asyncio.get_running_loop())
    pages = await _open_pages(runtime, 5) if "page-5" in tweaks else None
    page_cpu = _time_snapshots(runtime, page_cpu_steps)

    async def stop() -> None:
        if pages is not None:
            pages.terminate()
            await asyncio.to_thread(pages.wait)
        await runtime.stop()

    async def settle() -> dict[str, Any]:
        """Wait until the journal wrote every call; its CPU then counts in the window."""
        journal = runtime.journal
        if journal is None:
            return {"page": page_cpu.take()} if page_cpu is not None else {}
        if journal.pending:
            await journal.drained()
            probe.PROBE.active_end = probe.moment()
        return {
            "journal": {
                "written": journal.written,
                "lost": journal.lost,
                "duplicates": journal.duplicates,
                "writer_step_ms": writer_steps.summary_ms(),
                "writer_step_cpu_ms": writer_cpu_steps.summary_ms(),
            }
        }

    return runtime.port, stop, stream, settle


class _SnapshotCpu:
    """Snapshots the live page built since the last :meth:`take`, and their CPU; the CPU of
    all the page's task steps (building and sending, to every page) since the run began."""

    def __init__(self, pages: Callable[[], int], task_cpu: Sequence[LogHistogram]) -> None:
        self.pages = pages
        self.task_cpu = task_cpu
        self.built = 0
        self.cpu_s = 0.0

    def take(self) -> dict[str, Any]:
        taken = {
            "open": self.pages(),
            "snapshots": self.built,
            "cpu_ms": round(self.cpu_s * 1e3, 2),
            "tasks_cpu_ms": round(sum(h.total for h in self.task_cpu) * 1e3, 2),
        }
        self.built, self.cpu_s = 0, 0.0
        return taken


def _time_snapshots(runtime: Any, task_cpu: Sequence[LogHistogram]) -> _SnapshotCpu | None:
    """Count the live page's snapshots and the thread CPU of building and encoding them
    (without Redis the build never suspends, so thread time is its own)."""
    web = runtime.web
    if web is None or web.broadcaster is None:
        return None
    broadcaster = web.broadcaster
    meter = _SnapshotCpu(lambda: broadcaster.pages, task_cpu)
    build = broadcaster._snapshot

    async def timed() -> bytes:
        started = time.thread_time()
        try:
            body: bytes = await build()
            return body
        finally:
            meter.built += 1
            meter.cpu_s += time.thread_time() - started

    broadcaster._snapshot = timed
    return meter


async def _open_pages(runtime: Any, count: int) -> subprocess.Popen[bytes]:
    """``count`` live pages reading the runtime's stream, from another process.

    A plain pipe read in a thread: an asyncio subprocess pipe would be one more
    instrumented stream (benchmarks.probe) and keep the active window open.
    """
    proc = subprocess.Popen(  # noqa: ASYNC220 - once, before the measured runs
        [sys.executable, "-m", "benchmarks.pages", runtime.web.url, str(count)],
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 30)
    if line.strip() != b"ready":
        raise RuntimeError(f"benchmarks.pages did not start: {line!r}")
    return proc


async def _start_agi_layer(
    exchange_file: Path, log_file: Path, level: str
) -> tuple[int, Stop, TextIO]:
    stream = _open_log(log_file, level)
    layer = await start_agi_layer(Exchange.load(exchange_file))
    return layer.port, layer.stop, stream


async def _start_replayer(kind: str, exchange_file: Path) -> tuple[int, Stop]:
    exchange = Exchange.load(exchange_file)
    server = await (start_bare if kind == "bare" else start_panoramisk)(exchange)
    port = int(server.sockets[0].getsockname()[1])

    async def stop() -> None:
        server.close()
        await server.wait_closed()

    return port, stop


class Meter:
    """CPU, wall and memory since the last :meth:`reset`."""

    def __init__(self, heartbeat: probe.Heartbeat, gc_pauses: probe.GcPauses) -> None:
        self.heartbeat = heartbeat
        self.gc_pauses = gc_pauses
        self.reset()

    def reset(self) -> dict[str, Any]:
        probe.PROBE.reset()
        self.heartbeat.clear()
        self.gc_pauses.clear()
        for histogram in RESET_WITH_METER:
            histogram.clear()
        probe.reset_peak_rss()
        if TRACER is not None:
            TRACER.clear()
        self.cpu = probe.cpu_seconds()
        self.wall = time.perf_counter()
        return probe.memory_kb()

    def idle_cpu_rate(self) -> float | None:
        """CPU seconds per second spent while no call was up (reset to the first call)."""
        start = probe.PROBE.active_start
        if start is None or start[0] - self.wall < 0.05:
            return None
        return max(0.0, (start[1] - sum(self.cpu)) / (start[0] - self.wall))

    def stats(self, *, objects: bool = False) -> dict[str, Any]:
        user, system = probe.cpu_seconds()
        found = probe.PROBE
        result: dict[str, Any] = {
            "wall_s": round(time.perf_counter() - self.wall, 4),
            "cpu_user_s": round(user - self.cpu[0], 4),
            "cpu_system_s": round(system - self.cpu[1], 4),
            "cpu_s": round(user + system - sum(self.cpu), 4),
            **found.active(),
            "idle_cpu_per_s": self.idle_cpu_rate(),
            "commands": found.commands,
            "connections": found.connections,
            "open_connections": found.open_connections,
            "max_open_connections": found.max_open_connections,
            "turnaround_ms": found.turnaround.summary_ms(),
            "loop_lag_ms": self.heartbeat.lag.summary_ms(),
            "loop_cpu_lag_ms": self.heartbeat.cpu_lag.summary_ms(),
            "late_beats": list(self.heartbeat.late),
            "gc": self.gc_pauses.summary(),
            **probe.memory_kb(),
        }
        if objects:
            result["gc_objects"] = len(gc.get_objects())
        if TRACER is not None:
            result["blocks"] = TRACER.summary()
        return result


def _object_types(top: int = 40) -> dict[str, int]:
    """The most common live object types (diagnosis of memory per call)."""
    counts = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects())
    return dict(counts.most_common(top))


def _reply(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


async def _settled() -> dict[str, Any]:
    """Nothing to wait for before stats (every server but the runtime with its journal)."""
    return {}


async def _control(meter: Meter, settle: Settle = _settled) -> None:
    """Obey stdin commands until ``quit`` or end of input."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        raw = await reader.readline()
        command = raw.decode().strip()
        if command in ("", "quit"):
            return
        if command == "reset":
            _reply({"reset": True, **meter.reset()})
        elif command == "stats":
            extra = await settle()
            _reply({**meter.stats(), **extra})
        elif command == "types":
            _reply({"types": _object_types()})
        elif command == "stats-gc":
            # what the runtime's guard froze is walked and counted too
            frozen = gc.get_freeze_count()
            gc.unfreeze()
            found = gc.collect()
            stats = meter.stats(objects=True)
            if frozen:
                gc.freeze()
            _reply({**stats, "gc_collected": found})
        else:
            _reply({"error": f"unknown command {command!r}"})


async def _serve(args: argparse.Namespace) -> int:
    probe.install()
    stream: TextIO | None = None
    settle: Settle = _settled
    gc_pauses = probe.GcPauses()
    gc_pauses.install()
    if args.kind == "hotline":
        probe.install_hotline()
        if args.log_file is None:
            raise BenchmarkError("--kind hotline needs --log-file")
        level = "WARNING" if "log-off" in args.tweak else args.log_level
        port, stop, stream, settle = await _start_hotline(
            args.log_file, level, args.tweak, gc_pauses
        )
    elif args.kind == "agi":
        probe.install_hotline()
        if args.exchange is None or args.log_file is None:
            raise BenchmarkError("--kind agi needs --exchange and --log-file")
        port, stop, stream = await _start_agi_layer(args.exchange, args.log_file, args.log_level)
    else:
        if args.exchange is None:
            raise BenchmarkError(f"--kind {args.kind} needs --exchange")
        port, stop = await _start_replayer(args.kind, args.exchange)
    heartbeat = probe.Heartbeat(args.heartbeat)
    if TRACER is not None:
        heartbeat.on_beat = TRACER.beat
    heartbeat.start()
    meter = Meter(heartbeat, gc_pauses)
    _reply(
        {
            "ready": True,
            "kind": args.kind,
            "tweaks": args.tweak,
            "loop": type(asyncio.get_running_loop()).__module__.split(".")[0],
            "port": port,
            "gc_objects": len(gc.get_objects()),
            **probe.memory_kb(),
        }
    )
    try:
        await _control(meter, settle)
    finally:
        await heartbeat.stop()
        await stop()
        if stream is not None:
            from hotline.logs import flush_logs

            flush_logs()
            stream.close()
    _reply({"bye": True})
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        with asyncio.Runner(loop_factory=loop_factory(args.loop)) as runner:
            return runner.run(_serve(args))
    except BenchmarkError as exc:
        print(f"benchmarks.server: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
