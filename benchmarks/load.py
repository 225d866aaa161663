"""``python -m benchmarks.load``: how many calls one runtime carries, what each costs.

For each N (default 10, 100, 500, 1000) and each run, every server under test
— the hotline runtime, a bare asyncio FastAGI responder and panoramisk 1.4's
``fast_agi.Application`` — is started fresh in its own process
(:mod:`benchmarks.server`), warmed up, then sent N simultaneous full calls by
the PBX simulator in another process (``python -m hotline.sim``).  Then a
leak check pushes ``--leak-calls`` calls through one runtime, and the startup
of ``hotline run`` and ``hotline check`` is timed.  Prints Markdown tables and
writes everything as JSON (``--json``).  Every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks.errors import BenchmarkError
from benchmarks.exchange import Exchange, capture_exchange
from benchmarks.host import MAX_STEAL, machine, machine_seconds, steal_share
from benchmarks.logcheck import read_log
from benchmarks.loops import LOOPS
from benchmarks.procs import Load, ServerProcess, drive
from benchmarks.record import run_record
from benchmarks.scenario import MIXES
from benchmarks.server import KINDS
from benchmarks.startup import measure_startup
from benchmarks.tweaks import TWEAKS

DEFAULT_SIZES = (10, 100, 500, 1000)
MODES = ("burst", "paced")
#: the servers a run compares unless told otherwise (the issue's targets name these three)
COMPARED = ("hotline", "bare", "panoramisk")
#: paced calls stay bridged this long after the last one arrived, so all N overlap
PACED_OVERLAP = 1.0
#: seconds the idle server is measured before a run's calls: its CPU rate then (the 5 ms
#: heartbeat's, ~0.03 s/s) is subtracted from the run's.  Measured over the simulator's start
#: alone (~0.5 s) it ranged 0.013-0.046 s/s for one kind of server (results-session16.json),
#: ±0.4 s of a run's ~5 s (issue 19, session 17)
IDLE_SECONDS = 2.0
LEAK_TOLERANCE_KB = 1024


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: write sizes like 10,100,500") from None
    if not sizes or any(s < 1 or s > 5000 for s in sizes):
        raise argparse.ArgumentTypeError("sizes must be between 1 and 5000")
    return sizes


def _kinds(text: str) -> list[str]:
    """``hotline,bare,panoramisk``; ``hotline+tweak+…`` adds a runtime with candidate fixes."""
    specs = [x.strip() for x in text.split(",") if x.strip()]
    for spec in specs:
        kind, *tweaks = spec.split("+")
        if kind not in KINDS:
            raise argparse.ArgumentTypeError(f"servers are {', '.join(KINDS)}; not {kind!r}")
        if tweaks and kind != "hotline":
            raise argparse.ArgumentTypeError(f"{spec!r}: only hotline takes tweaks")
        unknown = sorted(set(tweaks) - TWEAKS)
        if unknown:
            raise argparse.ArgumentTypeError(f"{spec!r}: tweaks are {', '.join(sorted(TWEAKS))}")
    if not specs:
        raise argparse.ArgumentTypeError("name at least one server")
    return specs


def _modes(text: str) -> list[str]:
    modes = [x.strip() for x in text.split(",") if x.strip()]
    if not modes or any(m not in MODES for m in modes):
        raise argparse.ArgumentTypeError(f"modes are {', '.join(MODES)}")
    return modes


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.load",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--sizes", type=_sizes, default=list(DEFAULT_SIZES), help="concurrent N")
    parser.add_argument("--runs", type=int, default=3, help="runs per server and N (median)")
    parser.add_argument(
        "--servers",
        type=_kinds,
        default=list(COMPARED),
        help=f"of {', '.join(KINDS)}; agi, the runtime's protocol layer alone, when named",
    )
    parser.add_argument(
        "--loop",
        choices=LOOPS,
        default="uvloop" if find_spec("uvloop") else "asyncio",
        help="event loop of every server (default: uvloop when installed, as hotline run)",
    )
    parser.add_argument(
        "--driver-loop",
        choices=LOOPS,
        help="the simulator's own event loop, the same for every server (default: --loop's; "
        "uvloop costs the simulator ~16 %% less CPU, benchmarks/RESULTS.md session 16)",
    )
    parser.add_argument(
        "--modes", type=_modes, default=list(MODES), help="burst (virtual time) and/or paced"
    )
    parser.add_argument(
        "--rate", type=float, default=100.0, help="paced: calls arriving per second"
    )
    parser.add_argument(
        "--time-scale", type=float, default=0.1, help="paced: real seconds per virtual second"
    )
    parser.add_argument(
        "--overlap",
        type=float,
        default=PACED_OVERLAP,
        help="paced: real seconds all N calls are up together",
    )
    parser.add_argument(
        "--max-steal",
        type=float,
        default=MAX_STEAL,
        help="measure a run again when the host took more than this share of the CPUs",
    )
    parser.add_argument("--retries", type=int, default=2, help="times a run is measured again")
    parser.add_argument("--warmup", type=int, default=50, help="calls before each measured run")
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=IDLE_SECONDS,
        help="the idle server's CPU is measured this long before each run's calls",
    )
    parser.add_argument("--leak-calls", type=int, default=20_000, help="0 skips the leak check")
    parser.add_argument("--leak-batch", type=int, default=2_000)
    parser.add_argument("--leak-concurrency", type=int, default=100)
    parser.add_argument("--leak-warmup", type=int, default=1_000)
    parser.add_argument(
        "--leak-mix",
        choices=MIXES,
        default="errors",
        help="errors: 6 of 10 calls as benchmarked, 2 hang-ups, 2 hostile peers (timeouts…)",
    )
    parser.add_argument(
        "--leak-server", type=_kinds, default=["hotline"], help="runtime (+tweaks) to leak-check"
    )
    parser.add_argument("--startup-runs", type=int, default=5, help="0 skips startup timing")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument(
        "--render", type=Path, metavar="JSON", help="only print the tables of earlier results"
    )
    parser.add_argument("--keep", type=Path, help="keep logs and the exchange in this folder")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser


def run_order(servers: Sequence[str], index: int) -> list[str]:
    """The servers of run ``index`` (from 1), each run starting one server later, so that a
    stretch of a busy neighbour on the host does not always fall on the same server's turn
    (benchmarks/RESULTS.md, issue 19 session 14)."""
    shift = (index - 1) % len(servers) if servers else 0
    return [*servers[shift:], *servers[:shift]]


class Bench:
    """One benchmark session: its folder, the reference exchange, progress output."""

    def __init__(self, args: argparse.Namespace, folder: Path, exchange: Exchange) -> None:
        self.args = args
        self.folder = folder
        self.exchange = exchange
        self.exchange_file = folder / "exchange.json"
        self.exchange_file.write_text(exchange.to_json())
        self.caller_commands = len(exchange.caller)

    def say(self, text: str) -> None:
        if not self.args.quiet:
            print(text, file=sys.stderr, flush=True)

    def server(self, spec: str, name: str) -> ServerProcess:
        kind, *tweaks = spec.split("+")
        return ServerProcess(
            kind,
            tweaks=tweaks,
            loop=self.args.loop,
            exchange=self.exchange_file,
            log_file=self.folder / f"{name.replace('+', '_')}.jsonl",
        )

    def _drop_log(self, server: ServerProcess) -> None:
        if self.args.keep is None:
            server.log_file.unlink(missing_ok=True)

    def load_for(self, mode: str, size: int) -> Load:
        if mode == "burst":
            return Load(calls=size, concurrency=size, loop=self.args.driver_loop)
        ramp = round(size / self.args.rate, 3)
        return Load(
            calls=size,
            ramp=ramp,
            time_scale=self.args.time_scale,
            talk=ramp + self.args.overlap,
            loop=self.args.driver_loop,
        )

    async def one_run(self, kind: str, mode: str, size: int, index: int) -> dict[str, Any]:
        """A fresh server, a warm-up, then N calls measured."""
        server = self.server(kind, f"{kind}-{mode}-n{size}-run{index}")
        await server.start()
        try:
            if self.args.warmup > 0:
                warm = await drive(
                    server.port,
                    Load(
                        self.args.warmup,
                        concurrency=min(self.args.warmup, size),
                        loop=self.args.driver_loop,
                    ),
                    caller_commands=self.caller_commands,
                )
                if warm.correct != warm.calls:
                    raise BenchmarkError(f"{kind}: warm-up calls went wrong: {warm.errors}")
            base = await server.command("reset")
            await asyncio.sleep(self.args.idle_seconds)  # see IDLE_SECONDS
            busy, steal = machine_seconds()
            window = time.perf_counter()
            load = self.load_for(mode, size)
            result = await drive(server.port, load, caller_commands=self.caller_commands)
            window = time.perf_counter() - window
            busy_after, steal_after = machine_seconds()
            busy, steal = busy_after - busy, steal_after - steal
            stats = await server.command("stats")
        finally:
            await server.stop()
        run = run_record(
            kind, mode, size, index, load, result, base, stats, self.exchange.commands_per_call
        )
        run["other_cpu_s"] = round(max(0.0, busy - float(stats["cpu_s"]) - result.driver_cpu_s), 3)
        run["steal_s"] = round(steal, 3)
        run["window_s"] = round(window, 3)
        if server.kind == "hotline":
            run["runtime_log"] = read_log(server.log_file)
            self._drop_log(server)
        self.say(
            f"  {kind:<10} {mode} N={size:<5} run {index}: {run['calls_per_s']} calls/s, "
            f"{run['correct_pct']:g} % correct, p99 {run['turnaround_p99_ms']} ms, "
            f"{run['cpu_us_per_command']} µs CPU/cmd, lag max {run['loop_lag_max_ms']} ms "
            f"(CPU-backed {run['loop_cpu_lag_max_ms']}, GC max {run['gc_max_ms']}), "
            f"{run['rss_per_call_kb']} KB/call, others used {run['other_cpu_s']} CPU s, "
            f"the host took {run['steal_s']} s, "
            f"late beats {run['late_beats']} ({run['late_beats_stolen']} near steal, the longest "
            f"away from it {run['loop_cpu_lag_unstolen_ms']} ms), "
            f"the simulator's GC max "
            f"{max(result.simulator.get('gc_pauses', {}).get('max_ms') or [None])} ms"
            + _journal_note(run.get("journal"))
            + _page_note(run.get("page"))
        )
        return run

    async def load(self) -> dict[str, Any]:
        """Every mode x N x run x server; servers interleaved so that noise hits them alike,
        and each run starts with the next server (:func:`run_order`)."""
        found: dict[str, Any] = {}
        for mode in self.args.modes:
            runs: dict[str, dict[int, list[dict[str, Any]]]] = {k: {} for k in self.args.servers}
            rerun: list[dict[str, Any]] = []
            for size in self.args.sizes:
                self.say(f"{mode}, N = {size}")
                for index in range(1, self.args.runs + 1):
                    for run in await self.undisturbed_round(mode, size, index, rerun):
                        runs[run["server"]].setdefault(size, []).append(run)
            medians = {
                kind: {size: report.median_of(rs) for size, rs in sizes.items()}
                for kind, sizes in runs.items()
            }
            found[mode] = {
                "medians": medians,
                "ratios": report.ratios(medians),
                "runs": runs,
                "rerun": rerun,
            }
        return found

    async def undisturbed_round(
        self, mode: str, size: int, index: int, rerun: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Run ``index`` of every server; again (``--retries`` times at most) while the host
        took more than ``--max-steal`` of the machine in any of them (benchmarks/host.py).
        What was measured again is listed in ``rerun``; a round still disturbed after the
        last try is kept with ``disturbed`` set."""
        limit = self.args.max_steal
        for attempt in range(self.args.retries + 1):
            found = [
                await self.one_run(kind, mode, size, index)
                for kind in run_order(self.args.servers, index)
            ]
            for run in found:
                run["steal_share"] = round(steal_share(run), 4)
                run["disturbed"] = run["steal_share"] > limit
            worst = max((run["steal_share"] for run in found), default=0.0)
            if worst <= limit or attempt == self.args.retries:
                return found
            self.say(f"  run {index}: the host took {worst:.1%} of the machine: measured again")
            rerun += [{key: run.get(key) for key in report.RERUN_KEYS} for run in found]
        raise AssertionError("unreachable: the last attempt returns")

    async def leak(self) -> dict[str, Any]:
        """RSS of one runtime after warm-up, then after each batch up to ``--leak-calls``."""
        args = self.args
        spec = self.args.leak_server[0]
        if not spec.startswith("hotline"):
            raise BenchmarkError("--leak-server must be hotline (with tweaks, if any)")
        if args.leak_mix == "errors" and "hostile" not in spec.split("+"):
            spec += "+hostile"
        server = self.server(spec, "hotline-leak")
        await server.start()
        series: list[dict[str, Any]] = []
        correct = 0
        done = 0
        kinds: dict[str, int] = {}
        collected = 0
        try:
            self.say(f"leak check: {args.leak_warmup} warm-up calls, then {args.leak_calls}")
            if args.leak_warmup > 0:
                await drive(
                    server.port,
                    Load(
                        args.leak_warmup,
                        concurrency=args.leak_concurrency,
                        mix=args.leak_mix,
                        loop=args.driver_loop,
                    ),
                    caller_commands=self.caller_commands,
                )
            await server.command("reset")
            baseline = stats = await server.command("stats-gc")
            while done < args.leak_calls:
                batch = min(args.leak_batch, args.leak_calls - done)
                result = await drive(
                    server.port,
                    Load(
                        batch,
                        concurrency=args.leak_concurrency,
                        mix=args.leak_mix,
                        loop=args.driver_loop,
                    ),
                    caller_commands=self.caller_commands,
                )
                done += batch
                correct += result.correct
                for kind, count in result.kinds.items():
                    kinds[kind] = kinds.get(kind, 0) + count
                before = await server.command("stats")  # as the runtime left it
                stats = await server.command("stats-gc")  # after a forced full collection
                collected += int(stats["gc_collected"])
                series.append(
                    {
                        "calls": done,
                        "rss_kb": stats["rss_kb"],
                        "rss_before_gc_kb": before["rss_kb"],
                        "gc_collected": stats["gc_collected"],
                        "gc_objects": stats["gc_objects"],
                        "correct": result.correct,
                        "errors": result.errors[:3],
                        "calls_per_s": round(batch / result.wall_s, 1) if result.wall_s else None,
                    }
                )
                self.say(
                    f"  {done} calls: RSS {before['rss_kb']} KB ({stats['rss_kb']} KB after a "
                    f"full collection, which found {stats['gc_collected']} unreachable objects), "
                    f"{stats['gc_objects']} objects, {result.correct}/{batch} correct"
                )
        finally:
            await server.stop()
        log = read_log(server.log_file)
        self._drop_log(server)
        first = series[0] if series else baseline
        last = series[-1] if series else baseline
        growth_after_first = int(last["rss_kb"]) - int(first["rss_kb"])
        return {
            "server": spec,
            "mix": args.leak_mix,
            "kinds": kinds,
            "gc_collected_total": collected,
            "calls": done,
            "warmup_calls": args.leak_warmup,
            "concurrency": args.leak_concurrency,
            "batch": args.leak_batch,
            "correct": correct,
            "correct_pct": round(100.0 * correct / done, 3) if done else 0.0,
            "baseline_rss_kb": baseline["rss_kb"],
            "baseline_gc_objects": baseline["gc_objects"],
            "final_rss_kb": last["rss_kb"],
            "final_gc_objects": last["gc_objects"],
            "growth_kb": int(last["rss_kb"]) - int(baseline["rss_kb"]),
            "growth_after_first_batch_kb": growth_after_first,
            "gc_objects_growth": int(last["gc_objects"]) - int(baseline["gc_objects"]),
            "tolerance_kb": LEAK_TOLERANCE_KB,
            "leak_free": growth_after_first <= LEAK_TOLERANCE_KB,
            "cpu_ms_per_call": round(float(stats["cpu_s"]) / done * 1000, 4) if done else None,
            "turnaround_ms": stats["turnaround_ms"] if series else None,
            "loop_lag_ms": stats["loop_lag_ms"] if series else None,
            "series": series,
            "runtime_log": log,
        }


async def run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    started = time.perf_counter()
    # SIGTERM cancels the run as Ctrl-C does: its server and simulator stop with it
    this = asyncio.current_task()
    assert this is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, this.cancel)
    info = machine()
    exchange = await capture_exchange()
    bench = Bench(args, folder, exchange)
    bench.say(
        f"exchange: {exchange.commands_per_call} AGI commands on "
        f"{exchange.connections_per_call} connections per call"
    )
    load = await bench.load()
    leak = await bench.leak() if args.leak_calls > 0 else None
    startup = None
    if args.startup_runs > 0:
        bench.say(f"startup: {args.startup_runs} runs")
        startup = await measure_startup(folder, args.startup_runs)
    info["loadavg_end"] = list(os.getloadavg())
    return {
        "command": "python -m benchmarks.load " + " ".join(sys.argv[1:]),
        "loop": args.loop,
        "driver_loop": args.driver_loop,
        "machine": info,
        "exchange": {
            "commands_per_call": exchange.commands_per_call,
            "connections_per_call": exchange.connections_per_call,
            "caller_leg_commands": len(exchange.caller),
            "confirm_leg_commands": {k: len(v) for k, v in exchange.confirm.items()},
        },
        "settings": {
            "sizes": args.sizes,
            "runs": args.runs,
            "servers": args.servers,
            "modes": args.modes,
            "paced_rate_calls_per_s": args.rate,
            "paced_time_scale": args.time_scale,
            "paced_overlap_s": args.overlap,
            "warmup_calls": args.warmup,
        },
        "targets": report.targets(load, leak, startup),
        "modes": load,
        "leak": leak,
        "startup": startup,
        "wall_seconds": round(time.perf_counter() - started, 1),
    }


def _journal_note(journal: dict[str, Any] | None) -> str:
    """The journal's part of a progress line (runs with the journal-metrics tweak)."""
    if not journal:
        return ""
    cpu = journal["writer_step_cpu_ms"]
    return (
        f"; journal {journal['written']} written, {journal['lost']} lost, "
        f"writer step max {cpu['max']} ms CPU (p99 {cpu['p99']})"
    )


def _page_note(page: dict[str, Any] | None) -> str:
    """The live page's part of a progress line (page tweaks)."""
    if not page:
        return ""
    tasks = f", all its tasks {page['tasks_cpu_ms']} ms" if "tasks_cpu_ms" in page else ""
    return (
        f"; page: {page['open']} open, {page['snapshots']} snapshots, {page['cpu_ms']} ms CPU"
        + tasks
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.driver_loop = args.driver_loop or args.loop
    if args.render is not None:
        print(report.render(json.loads(args.render.read_text())))
        return 0
    if args.runs < 1 or args.leak_batch < 1 or args.leak_concurrency < 1:
        print(
            "benchmarks.load: --runs, --leak-batch and --leak-concurrency must be >= 1",
            file=sys.stderr,
        )
        return 2
    try:
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            results = asyncio.run(run(args, args.keep))
        else:
            with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
                results = asyncio.run(run(args, Path(tmp)))
    except BenchmarkError as exc:
        print(f"benchmarks.load: {exc}", file=sys.stderr)
        return exc.exit_code
    except asyncio.CancelledError:
        print("benchmarks.load: stopped (SIGTERM), with its servers and simulator", file=sys.stderr)
        return 128 + signal.SIGTERM
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    print(report.render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
