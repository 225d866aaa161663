"""Many simulated calls at once, for benchmarks and load tests.

:func:`run_load` runs scripted calls against a runtime's FastAGI port with a
bounded number in flight and returns one record per script (same order).  A
call that cannot be simulated (runtime unreachable, silent) comes back with
``error`` set instead of stopping the others.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Iterable, Mapping
from typing import Any

from hotline.sim.agents import AgentBehaviour
from hotline.sim.caller import CallerScript
from hotline.sim.errors import SimError
from hotline.sim.pbx import SimulatedPbx
from hotline.sim.records import CallRecord


async def run_load(
    host: str,
    port: int,
    scripts: Iterable[CallerScript],
    concurrency: int = 10,
    *,
    agents: Mapping[str, AgentBehaviour] | None = None,
    pbx: SimulatedPbx | None = None,
    **pbx_options: Any,
) -> list[CallRecord]:
    """Place every script's call, at most ``concurrency`` at a time.

    ``pbx`` reuses a simulator (e.g. one whose clocks the runtime uses);
    otherwise one is made from ``agents`` and ``pbx_options``.
    """
    if concurrency < 1:
        raise SimError(f"concurrency must be at least 1, not {concurrency}")
    simulator = pbx or SimulatedPbx(host, port, agents, **pbx_options)
    gate = asyncio.Semaphore(concurrency)

    async def one(script: CallerScript) -> CallRecord:
        async with gate:
            try:
                return await simulator.place_call(script)
            except SimError as exc:
                return CallRecord(
                    uniqueid="",
                    channel="",
                    hotline=script.hotline,
                    label=script.label,
                    error=str(exc),
                )

    return list(await asyncio.gather(*(one(s) for s in scripts)))


def summarize(records: list[CallRecord], wall_seconds: float) -> dict[str, Any]:
    """Counts per outcome, throughput and the runtime's command latency (real seconds)."""
    latencies = sorted(x for r in records for x in r.latencies)
    outcomes: dict[str, int] = {}
    for record in records:
        outcomes[record.outcome] = outcomes.get(record.outcome, 0) + 1

    def quantile(q: float) -> float | None:
        if not latencies:
            return None
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))]

    return {
        "calls": len(records),
        "outcomes": outcomes,
        "errors": [r.error for r in records if r.error][:5],
        "wall_seconds": round(wall_seconds, 3),
        "calls_per_second": round(len(records) / wall_seconds, 1) if wall_seconds else None,
        "commands": len(latencies),
        "latency_ms": {
            "median": round(statistics.median(latencies) * 1000, 3) if latencies else None,
            "p95": round((quantile(0.95) or 0) * 1000, 3) if latencies else None,
            "max": round(latencies[-1] * 1000, 3) if latencies else None,
        },
    }
