"""What one wake-up of a sleeping process costs it in CPU (``python -m benchmarks.wake_cost``).

A timer that fires while the event loop has nothing else to do wakes the
process: the kernel puts it back on a CPU, the loop returns from its poll,
runs the callback and polls again.  On the benchmark's virtual machines that
round costs the process far more CPU than the callback itself (benchmarks/
RESULTS.md, issue 19, session 17), which is why the runtime keeps no timer
that fires many times a second while it serves (:mod:`hotline.gcguard`), and
why the load benchmark subtracts its own 5 ms heartbeat's idle cost.

Three ways of sleeping, each ``--seconds`` long: a timer re-armed every
``--interval`` seconds on asyncio's loop and on uvloop (when installed), and
``time.sleep(interval)`` in a plain loop.  Prints one JSON object: per kind
the wake-ups and the CPU (user and system) each cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from collections.abc import Callable
from typing import Any

from benchmarks.loops import LOOPS, loop_factory


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _per_wake(wakes: int, cpu_s: float) -> dict[str, Any]:
    return {
        "wakes": wakes,
        "cpu_s": round(cpu_s, 4),
        "cpu_us_per_wake": round(cpu_s / wakes * 1e6, 1) if wakes else None,
    }


async def _timer(interval: float, seconds: float) -> dict[str, Any]:
    """A callback re-armed with ``call_later`` every ``interval`` s, for ``seconds``."""
    loop = asyncio.get_running_loop()
    wakes = 0
    done = loop.create_future()
    end = loop.time() + seconds

    def tick() -> None:
        nonlocal wakes
        wakes += 1
        if loop.time() < end:
            loop.call_later(interval, tick)
        elif not done.done():
            done.set_result(None)

    started = _cpu()
    loop.call_later(interval, tick)
    await done
    return _per_wake(wakes, _cpu() - started)


def _sleeps(interval: float, seconds: float) -> dict[str, Any]:
    """``time.sleep(interval)`` over and over for ``seconds``: no loop at all."""
    wakes = 0
    started = _cpu()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(interval)
        wakes += 1
    return _per_wake(wakes, _cpu() - started)


def measure(interval: float, seconds: float) -> dict[str, Any]:
    """Each kind of sleep in turn, in this process."""
    results: dict[str, Any] = {"interval_s": interval, "seconds": seconds}
    for name in LOOPS:
        factory: Callable[[], asyncio.AbstractEventLoop] | None
        try:
            factory = loop_factory(name)
        except ImportError:
            results[f"timer-{name}"] = None  # not installed
            continue
        with asyncio.Runner(loop_factory=factory) as runner:
            results[f"timer-{name}"] = runner.run(_timer(interval, seconds))
    results["time.sleep"] = _sleeps(interval, seconds)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.wake_cost", description=__doc__)
    parser.add_argument("--interval", type=float, default=0.01, help="seconds between wakes")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each kind")
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.interval, args.seconds), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
