"""The live-page benchmark variants run end to end: 5 pages open, their snapshots counted
(no timing asserted; the numbers are in benchmarks/RESULTS.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks.tiny import tiny_burst


@pytest.mark.timeout(120)
def test_page_variants_count_the_snapshots_of_five_open_pages(tmp_path: Path) -> None:
    runs = tiny_burst(tmp_path, "hotline+page,hotline+page-5")
    (unwatched,) = runs["hotline+page"]["3"]
    (watched,) = runs["hotline+page-5"]["3"]
    assert unwatched["correct_pct"] == watched["correct_pct"] == 100.0
    assert unwatched["page"] == {"open": 0, "snapshots": 0, "cpu_ms": 0.0, "tasks_cpu_ms": 0.0}
    assert watched["page"]["open"] == 5
    assert watched["page"]["snapshots"] >= 1
    # the page's tasks (push, streams) ran and were timed
    assert watched["page"]["tasks_cpu_ms"] > 0
