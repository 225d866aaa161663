"""``benchmarks.hunt_cost`` runs end to end with tiny counts (no timing asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.hunt_cost import main


def test_hunt_cost_benchmark_runs(tmp_path: Path) -> None:
    out = tmp_path / "hunt.json"
    assert main(["--calls", "3", "--runs", "1", "--board-calls", "2400", "--json", str(out)]) == 0
    results = json.loads(out.read_text())
    cpu = results["cpu"]
    # every benchmarked call reached an agent, on both hotlines
    assert cpu["outcomes"] == {"linear": {"connected": 3}, "hunting": {"connected": 3}}
    assert cpu["linear_us_per_call"] > 0
    assert cpu["hunting_us_per_call"] > 0
    # the board holds nothing per call once the calls are over; the registry its bound
    marks = results["board"]
    assert set(marks) == {"1200", "2000", "2400"}
    for mark in marks.values():
        assert mark["sizes"]["active_legs"] == mark["sizes"]["active_calls"] == 0
        assert mark["sizes"]["last_ended"] <= mark["sizes"]["agents"]
    assert marks["2400"]["registry"]["settled"] == 1024
