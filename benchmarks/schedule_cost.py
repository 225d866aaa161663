"""Cost per call of the schedule decision and the PIN guard, and the cost of a reload.

``python -m benchmarks.schedule_cost [--calls N] [--json PATH]``

* ``decide``: what each call pays at arrival (``Schedule.decide``) for a
  hotline without a schedule, and for the example config's ``support`` hotline
  (opening hours, Bavarian holidays, special day, two shifts, a target with its
  own hours), over arrival times spread across a year (every call is a holiday
  lookup; each new year fills the holiday table once);
* ``pin_guard``: a PIN call's lockout check, and a failed call's two counts
  (caller and hotline alarm), in the in-process store with 10,000 caller keys;
* ``reload``: reading and validating the example config and building the new
  prompts, schedules and routes (done in a thread while calls go on), and the
  swap on the event loop.

CPU time of this process only (``time.process_time``), median of 5 runs.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.procs import ROOT
from hotline.config import load_settings, settings_from_mapping
from hotline.config.pin_guard import PinGuardConfig
from hotline.guard.pin import PinGuard
from hotline.logs import configure_logging
from hotline.schedule.engine import Schedule

EXAMPLE = ROOT / "config" / "hotline.toml"
RUNS = 5


def _median_us(work: Callable[[], int]) -> float:
    """Median over :data:`RUNS` of CPU µs per item (``work`` returns how many it did)."""
    samples = []
    for _ in range(RUNS):
        started = time.process_time()
        count = work()
        samples.append((time.process_time() - started) / count * 1e6)
    return round(statistics.median(samples), 2)


def _moments(calls: int) -> list[dt.datetime]:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    step = dt.timedelta(days=365) / calls
    return [start + step * n for n in range(calls)]


def decide_costs(calls: int) -> dict[str, float]:
    plain = settings_from_mapping({"hotlines": [{"name": "x", "targets": [{"number": "1"}]}]})
    example = load_settings(EXAMPLE, {})
    moments = _moments(calls)
    out = {}
    for name, hotline in (
        ("no_schedule_us", plain.hotlines[0]),
        ("example_support_us", example.hotline("support")),
    ):
        schedule = Schedule(hotline)

        def run(schedule: Schedule = schedule) -> int:
            for moment in moments:
                schedule.decide(moment)
            return len(moments)

        out[name] = _median_us(run)
    return out


def pin_guard_costs(calls: int) -> dict[str, float]:
    limits = PinGuardConfig()

    async def run_check(guard: PinGuard) -> int:
        for n in range(calls):
            await guard.locked_out("support", f"555{n % 10_000:07d}", limits)
        return calls

    async def run_failed(guard: PinGuard) -> int:
        for n in range(calls):
            await guard.failed("support", f"555{n % 10_000:07d}", limits)
        return calls

    clock = iter(range(10**9))
    guard = PinGuard(clock=lambda: float(next(clock)))
    return {
        "lockout_check_us": _median_us(lambda: asyncio.run(run_check(guard))),
        "failed_call_us": _median_us(lambda: asyncio.run(run_failed(guard))),
    }


def reload_costs() -> dict[str, float]:
    from hotline.runtime import Runtime

    settings = load_settings(EXAMPLE, {})
    runtime = Runtime(settings, host="127.0.0.1", port=0)

    def build() -> int:
        for _ in range(20):
            runtime.config_deps(load_settings(EXAMPLE, {}))
        return 20

    new = load_settings(EXAMPLE, {})
    deps = runtime.config_deps(new)

    def swap() -> int:
        for _ in range(200):
            runtime.apply(new, deps)
        return 200

    return {"read_and_build_ms": _median_us(build) / 1000, "swap_us": _median_us(swap)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    # the guard's alarm fires (as it should) under this load; its lines are not the point
    configure_logging(level="ERROR", fmt="json", stream=io.StringIO())
    results: dict[str, Any] = {
        "calls": args.calls,
        "decide": decide_costs(args.calls),
        "pin_guard": pin_guard_costs(args.calls),
        "reload": reload_costs(),
    }
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
