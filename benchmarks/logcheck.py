"""What the runtime itself logged during a run: its view of the outcomes, and any trouble."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.scenario import CONFIRMING_TARGET


def read_log(path: Path) -> dict[str, Any]:
    """Counts from a JSON-lines log: lines, bytes, connected summaries, warnings and errors.

    Only the lines that matter are parsed, so a log of 20,000 calls is read in seconds.
    """
    lines = 0
    summaries = 0
    connected = 0
    trouble: dict[str, int] = {}
    size = path.stat().st_size if path.exists() else 0
    if not size:
        return {"lines": 0, "bytes": 0, "call_summaries": 0, "connected_to_target": 0}
    with path.open(encoding="utf-8") as stream:
        for line in stream:
            lines += 1
            if '"call_summary"' in line:
                event = json.loads(line)
                summaries += 1
                if (
                    event.get("outcome") == "connected"
                    and event.get("connected_to") == CONFIRMING_TARGET
                ):
                    connected += 1
            elif '"level":"warning"' in line or '"level":"error"' in line:
                event = json.loads(line)
                name = f"{event.get('level')}:{event.get('event')}"
                trouble[name] = trouble.get(name, 0) + 1
    return {
        "lines": lines,
        "bytes": size,
        "call_summaries": summaries,
        "connected_to_target": connected,
        "warnings_errors": trouble,
    }
