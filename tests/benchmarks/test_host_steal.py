"""A run the host took its CPUs from is measured again, and the targets read every run."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from benchmarks import report
from benchmarks.exchange import Exchange
from benchmarks.host import machine_seconds, steal_share
from benchmarks.load import Bench, _parser


def test_steal_share_is_the_hosts_part_of_the_machine_in_the_window() -> None:
    run = {"steal_s": 0.52, "window_s": 26.0}
    assert steal_share(run, cores=2) == pytest.approx(0.01)
    assert steal_share(run, cores=1) == pytest.approx(0.02)
    assert steal_share({"steal_s": 3.0, "window_s": 0.0}, cores=2) == 0.0
    # this machine's own counters move forward
    assert machine_seconds()[1] >= 0.0


class ScriptedBench(Bench):
    """A :class:`Bench` whose runs report the host's steal from a script, not a server."""

    def __init__(self, tmp_path: Path, steals: list[float], *argv: str) -> None:
        super().__init__(_parser().parse_args(["--quiet", *argv]), tmp_path, Exchange(("NOOP",)))
        self.steals = steals
        self.measured: list[tuple[str, int]] = []

    async def one_run(self, kind: str, mode: str, size: int, index: int) -> dict[str, Any]:
        self.measured.append((kind, index))
        cores = os.cpu_count() or 1
        return {
            "server": kind,
            "n": size,
            "run": index,
            # the scripted share of the machine, as seconds of a 10 s window
            "steal_s": self.steals.pop(0) * 10.0 * cores,
            "window_s": 10.0,
            "cpu_us_per_command": 100.0,
            "turnaround_p99_ms": 1.0,
            "loop_cpu_lag_max_ms": 2.0,
        }


def test_a_round_the_host_disturbed_is_measured_again_and_listed(tmp_path: Path) -> None:
    # round 1: bare's run lost 5 % of the machine; the second try is quiet
    bench = ScriptedBench(
        tmp_path, [0.0, 0.05, 0.0, 0.0, 0.002, 0.0], "--servers", "hotline,bare,panoramisk"
    )
    rerun: list[dict[str, Any]] = []
    kept = asyncio.run(bench.undisturbed_round("paced", 1000, 1, rerun))

    assert len(bench.measured) == 6  # the whole round again, so the servers stay side by side
    assert [r["server"] for r in kept] == ["hotline", "bare", "panoramisk"]
    assert not any(r["disturbed"] for r in kept)
    assert [r["server"] for r in rerun] == ["hotline", "bare", "panoramisk"]
    assert rerun[1]["steal_share"] == pytest.approx(0.05)
    assert set(rerun[0]) == set(report.RERUN_KEYS)
    assert "up to 5.0%" in report.rerun_note(rerun)


def test_a_host_that_never_stops_leaves_the_last_round_marked(tmp_path: Path) -> None:
    bench = ScriptedBench(tmp_path, [0.3, 0.4, 0.2], "--servers", "hotline", "--retries", "2")
    rerun: list[dict[str, Any]] = []
    (kept,) = asyncio.run(bench.undisturbed_round("paced", 1000, 1, rerun))

    assert len(bench.measured) == 3
    assert kept["disturbed"]
    assert kept["steal_share"] == pytest.approx(0.2)
    assert [r["steal_share"] for r in rerun] == [pytest.approx(0.3), pytest.approx(0.4)]


def test_the_targets_read_the_worst_run_not_the_median() -> None:
    runs = [
        {"turnaround_p99_ms": p99, "loop_cpu_lag_max_ms": block, "disturbed": p99 > 5}
        for p99, block in ((0.8, 3.0), (1.0, 4.0), (7.5, 25.0))
    ]
    medians = report.median_of([{**r, "correct_pct": 100.0, "rss_per_call_kb": 15.0} for r in runs])
    modes = {
        "paced": {
            "medians": {"hotline": {1000: medians}},
            "ratios": {},
            "runs": {"hotline": {1000: runs}},
        }
    }
    found = {
        t["target"].split(" (")[0].split(" at ")[0]: t for t in report.targets(modes, None, None)
    }

    p99 = found["p99 turnaround"]
    assert p99["met"] is False
    assert p99["measured"].startswith("7.500 ms (median 1.000)")
    assert "1 run(s) the host disturbed" in p99["measured"]
    block = found["longest event-loop block, every run"]
    assert block["met"] is False
    assert block["measured"] == "25.00 ms"
