"""The machine a benchmark runs on: what it is, and how much of it the host took away.

The benchmark machines are virtual: their hypervisor runs other guests on the same
cores, and ``/proc/stat``'s steal column counts the time a CPU here had work but did
not run.  A run that lost a few percent of its CPUs this way is slower for every
server, and its event loops wait in bursts (benchmarks/RESULTS.md, session 16: none of
the 29 runtime runs that lost under 2 % of the machine had a block over 20 ms or a p99
over 5 ms; 28 of the 40 that lost 2-30 % had one or both).  :func:`steal_share` names
such a run, so that the load benchmark can measure it again rather than report the
host's doing as the server's.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path
from typing import Any

#: the share of the machine's CPU time the host may take in a run before the load benchmark
#: measures that run again (``--max-steal``): half the 2 % under which every runtime run of
#: session 16 met the latency targets, so a round kept is clear of that edge
MAX_STEAL = 0.01


def machine_seconds(stat: str | None = None) -> tuple[float, float]:
    """CPU seconds all processes on the machine have spent so far, and the seconds the
    host took from this virtual machine's CPUs meanwhile (steal), from ``/proc/stat``."""
    text = stat if stat is not None else Path("/proc/stat").read_text()
    fields = text.splitlines()[0].split()[1:]
    ticks = [int(x) for x in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    steal = ticks[7] if len(ticks) > 7 else 0
    per_second = os.sysconf("SC_CLK_TCK")
    return (sum(ticks[:7]) - idle) / per_second, steal / per_second


def steal_share(run: Mapping[str, Any], cores: int | None = None) -> float:
    """The share of the machine's CPU time the host took during ``run`` (its ``steal_s``
    over its ``window_s`` times the cores)."""
    cores = cores or os.cpu_count() or 1
    window = float(run.get("window_s") or 0.0)
    if window <= 0.0:
        return 0.0
    return float(run.get("steal_s") or 0.0) / (window * cores)


def machine() -> dict[str, Any]:
    """Where the numbers come from."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "hotline": version("hotline"),
        "panoramisk": version("panoramisk"),
        "uvloop": version("uvloop") if find_spec("uvloop") else None,
        "loadavg_start": list(os.getloadavg()),
    }
