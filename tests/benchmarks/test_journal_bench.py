"""The journal-metrics benchmark variant runs end to end: every call journaled, writer steps
timed (no timing asserted; the numbers are in benchmarks/RESULTS.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks.tiny import tiny_burst


@pytest.mark.timeout(120)
def test_journal_metrics_variant_journals_every_call(tmp_path: Path) -> None:
    runs = tiny_burst(tmp_path, "hotline,hotline+journal-metrics")
    (plain,) = runs["hotline"]["3"]
    (journaled,) = runs["hotline+journal-metrics"]["3"]
    assert plain["journal"] is None
    assert journaled["correct_pct"] == 100.0
    # 2 warm-up calls and 3 measured (their own call ids), each written once, none lost
    assert journaled["journal"]["written"] == 5
    assert journaled["journal"]["lost"] == 0
    assert journaled["journal"]["duplicates"] == 0
    assert journaled["journal"]["writer_step_cpu_ms"]["count"] > 0
    assert journaled["journal"]["writer_step_ms"]["count"] > 0
