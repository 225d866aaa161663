"""One tiny burst run of ``benchmarks.load`` for given server variants (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def tiny_burst(tmp_path: Path, servers: str) -> dict[str, Any]:
    """Run 3 burst calls (after 2 warm-up) per variant; the JSON's burst ``runs`` by server."""
    out = tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.load",
            "--servers",
            servers,
            "--modes",
            "burst",
            "--sizes",
            "3",
            "--runs",
            "1",
            "--warmup",
            "2",
            "--idle-seconds",
            "0.1",
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
    runs: dict[str, Any] = json.loads(out.read_text())["modes"]["burst"]["runs"]
    return runs
