"""The live-page benchmark variants run end to end: 5 pages open, their snapshots counted
(no timing asserted; the numbers are in benchmarks/RESULTS.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(120)
def test_page_variants_count_the_snapshots_of_five_open_pages(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.load",
            "--servers",
            "hotline+page,hotline+page-5",
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
    (unwatched,) = runs["hotline+page"]["3"]
    (watched,) = runs["hotline+page-5"]["3"]
    assert unwatched["correct_pct"] == watched["correct_pct"] == 100.0
    assert unwatched["page"] == {"open": 0, "snapshots": 0, "cpu_ms": 0.0}
    assert watched["page"]["open"] == 5
    assert watched["page"]["snapshots"] >= 1
