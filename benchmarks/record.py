"""One load run's record, as :mod:`benchmarks.load` writes it to its JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchmarks.host import STEAL_MARGIN, stolen_near
from benchmarks.procs import DriveResult, Load


def run_record(
    kind: str,
    mode: str,
    size: int,
    index: int,
    load: Load,
    result: DriveResult,
    base: dict[str, Any],
    stats: dict[str, Any],
    commands_per_call: int,
) -> dict[str, Any]:
    """The record of one run: what the simulator saw (``result``) and what the server
    measured before (``base``) and after (``stats``) its calls."""
    # CPU of the active window (first connection to last close), less what
    # the idle server (heartbeat) burns in that time
    active_cpu = float(stats["active_cpu_s"])
    active_wall = float(stats["active_wall_s"])
    idle_rate = stats.get("idle_cpu_per_s") or 0.0
    cpu = max(0.0, active_cpu - idle_rate * active_wall)
    commands = int(stats["commands"])
    turnaround = stats["turnaround_ms"]
    return {
        "server": kind,
        "mode": mode,
        "n": size,
        "run": index,
        "load": {
            "calls": load.calls,
            "concurrency": load.concurrency or load.calls,
            "ramp_s": load.ramp,
            "time_scale": load.time_scale,
            "talk_s": load.talk if load.time_scale else None,
        },
        "calls": result.calls,
        "correct": result.correct,
        "correct_pct": result.correct_pct,
        "errors": result.errors,
        "outcomes": result.outcomes,
        "wall_s": result.wall_s,
        "calls_per_s": round(size / result.wall_s, 2) if result.wall_s else None,
        "max_in_flight": result.max_in_flight,
        "commands": commands,
        "commands_expected": size * commands_per_call,
        "connections": stats["connections"],
        "turnaround_ms": turnaround,
        "turnaround_p50_ms": turnaround["p50"],
        "turnaround_p99_ms": turnaround["p99"],
        "turnaround_max_ms": turnaround["max"],
        "cpu_s": round(cpu, 4),
        "active_cpu_s": active_cpu,
        "active_wall_s": active_wall,
        "idle_cpu_per_s": idle_rate,
        "cpu_total_s": stats["cpu_s"],
        "cpu_user_s": stats["cpu_user_s"],
        "cpu_system_s": stats["cpu_system_s"],
        "cpu_ms_per_call": round(cpu / size * 1000, 4),
        "cpu_us_per_command": round(cpu / commands * 1e6, 3) if commands else None,
        "cpu_utilisation": round(active_cpu / active_wall, 3) if active_wall else None,
        # the process's wake-ups in the active window (heartbeat's included), per command
        "wakes_per_command": round(stats.get("active_wakes", 0) / commands, 4)
        if commands
        else None,
        "rss_base_kb": base["rss_kb"],
        "rss_peak_kb": stats["peak_rss_kb"],
        "rss_end_kb": stats["rss_kb"],
        "rss_per_call_kb": round((stats["peak_rss_kb"] - base["rss_kb"]) / size, 2),
        # anonymous memory on transparent huge pages after the calls (hotline/heap.py): how
        # much of the heap a server on glibc malloc with hugetlb=1 actually got
        "huge_pages_kb": stats.get("huge_pages_kb"),
        "max_open_connections": stats["max_open_connections"],
        "loop_lag_ms": stats["loop_lag_ms"],
        "loop_lag_max_ms": stats["loop_lag_ms"]["max"],
        "loop_lag_p99_ms": stats["loop_lag_ms"]["p99"],
        "loop_cpu_lag_max_ms": stats["loop_cpu_lag_ms"]["max"],
        **late_beats(stats.get("late_beats") or [], result.simulator.get("steal_pieces")),
        "gc": stats["gc"],
        "gc_max_ms": stats["gc"]["max_cpu_ms"],
        "gc_cpu_share": round(stats["gc"]["total_cpu_ms"] / 1000 / active_cpu, 3)
        if active_cpu
        else None,
        "driver_cpu_s": result.driver_cpu_s,
        "sim_latency_ms": result.sim_latency_ms,
        "simulator": result.simulator,
        # the journal's counts after the run (hotline+journal-metrics only)
        "journal": stats.get("journal"),
        # the live page's snapshots in the run (hotline+page, hotline+page-5 only)
        "page": stats.get("page"),
        # what filled the late heartbeat windows (hotline+trace-blocks only)
        "blocks": stats.get("blocks"),
    }


def late_beats(
    beats: Sequence[Sequence[float]], pieces: Sequence[Sequence[float]] | None
) -> dict[str, Any]:
    """The run's late beats (CPU-backed lag over 10 ms, benchmarks/probe.py) set beside the
    host's steal: a beat the host took CPU time near (from :data:`STEAL_MARGIN` before it
    was due to when it woke) may be its doing, a beat with none near it is the server's.

    The counts are ``None`` when the simulator did not watch the steal (no ``/proc/stat``)."""
    if pieces is None:
        return {
            "late_beats": len(beats),
            "late_beats_stolen": None,
            "loop_cpu_lag_unstolen_ms": None,
        }
    unstolen = [
        cpu_lag
        for woke, lag, cpu_lag in beats
        if stolen_near(pieces, woke - lag, woke, STEAL_MARGIN) == 0.0
    ]
    return {
        "late_beats": len(beats),
        "late_beats_stolen": len(beats) - len(unstolen),
        # the longest CPU-backed lag over 10 ms with no steal near it; None: there was none
        "loop_cpu_lag_unstolen_ms": round(max(unstolen) * 1e3, 2) if unstolen else None,
    }
