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

import asyncio
import os
import platform
import time
from collections.abc import Callable, Mapping, Sequence
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


#: a late beat is laid to the host when it took CPU time this long before the beat was due
#: or while it was late: at ~2,800 AGI commands a second (paced N = 1,000), a loop turn of 20
#: ms CPU serves ~230 replies, ~80 ms of arrivals held back (benchmarks/RESULTS.md, session 20)
STEAL_MARGIN = 0.1


class StealWatch:
    """The host's steal, sampled every ``interval`` s, kept where it grew: a run's share of
    steal (:func:`steal_share`) does not tell 0.4 s spread thinly from one 90 ms piece,
    which holds replies back and makes the server serve them in one long loop turn.

    ``pieces`` are ``(from, to, seconds)`` on :func:`time.monotonic`'s clock (the same
    in every process of the machine): between the two samples the host took ``seconds``.
    """

    def __init__(self, interval: float = 0.01, read: Callable[[], float] | None = None) -> None:
        self.interval = interval
        #: the steal counter in seconds (tests pass their own)
        self.read = read or (lambda: machine_seconds()[1])
        self.pieces: list[tuple[float, float, float]] = []
        #: the machine has the counter (Linux); elsewhere nothing is watched
        self.available = read is not None or Path("/proc/stat").exists()

    async def watch(self) -> None:
        """Sample until cancelled (at once done where there is no ``/proc/stat``)."""
        if not self.available:
            return
        then, stolen = time.monotonic(), self.read()
        while True:
            await asyncio.sleep(self.interval)
            now, steal = time.monotonic(), self.read()
            if steal > stolen:
                self.pieces.append((round(then, 4), round(now, 4), round(steal - stolen, 3)))
            then, stolen = now, steal


def stolen_near(
    pieces: Sequence[Sequence[float]], start: float, end: float, margin: float = STEAL_MARGIN
) -> float:
    """Seconds the host took in pieces that overlap ``[start - margin, end]``."""
    return sum(piece[2] for piece in pieces if piece[1] >= start - margin and piece[0] <= end)


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
