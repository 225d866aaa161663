"""The journal-metrics benchmark variant runs end to end: every call journaled, writer steps
timed (no timing asserted; the numbers are in benchmarks/RESULTS.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(120)
def test_journal_metrics_variant_journals_every_call(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.load",
            "--servers",
            "hotline,hotline+journal-metrics",
            "--modes",
            "burst",
            "--sizes",
            "3",
            "--runs",
            "1",
            "--warmup",
            "2",
            "--leak-calls",
            "0",
            "--startup-runs",
            "0",
            "--quiet",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    runs = json.loads(out.read_text())["modes"]["burst"]["runs"]
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
