"""``benchmarks.schedule_cost`` runs end to end with a tiny count (no timing asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.schedule_cost import main


def test_schedule_cost_benchmark_runs(tmp_path: Path) -> None:
    out = tmp_path / "schedule.json"
    assert main(["--calls", "50", "--json", str(out)]) == 0
    results = json.loads(out.read_text())
    assert results["calls"] == 50
    assert set(results) == {"calls", "decide", "pin_guard", "reload"}
    assert all(value > 0 for value in results["decide"].values())
