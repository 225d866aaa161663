"""benchmarks.shared_state runs end to end with a tiny N and reports both scenarios
(no timing asserted; needs redis-server like tests/shared_state)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.redisd import redis_available

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(120)
def test_the_shared_state_benchmark_reports_both_scenarios(tmp_path: Path) -> None:
    reason = redis_available()
    if reason is not None:
        pytest.skip(reason)
    out = tmp_path / "shared.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.shared_state", "--calls", "6", "--warmup", "2",
         "--concurrency", "3", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=110, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    single, shared = json.loads(out.read_text())["results"]
    assert (single["scenario"], single["runtimes"], single["redis"]) == ("single", 1, False)
    assert (shared["scenario"], shared["runtimes"], shared["redis"]) == ("shared", 2, True)
    assert single["correct"] == shared["correct"] == 6
    assert single["redis_round_trips_per_call"] == 0
    assert shared["redis_round_trips_per_call"] > 0
    assert shared["redis_commands_per_call"] > 0
