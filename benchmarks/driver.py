"""``python -m benchmarks.driver``: the load generator, the PBX simulator in its own process.

Two ways to place N calls:

* **burst** (``--time-scale 0``): every call starts at once and runs on the
  simulator's virtual clock, so ringing and prompts cost no real time — the
  runtime is saturated, which measures its capacity (calls/s) and its CPU per
  command under full load.
* **paced** (``--time-scale S``, ``--ramp R``): calls arrive evenly over ``R``
  real seconds and every simulated media step (prompt, digits, ringing, talk)
  takes ``S`` times its virtual duration in real time, so a call keeps its
  connection open like a real one and all N calls are in progress together —
  the load under which turnaround, memory per call and loop health matter.

Prints one JSON line: counts, correct outcomes (:func:`check_call`) and the
simulator's own view of the runtime's latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

from benchmarks.scenario import AGENTS, HOTLINE, PIN, PROMPT_SECONDS, TALK_SECONDS, check_call
from hotline.sim.agents import parse_agents
from hotline.sim.caller import CallerScript
from hotline.sim.errors import SimError
from hotline.sim.legs import AgiLeg
from hotline.sim.load import summarize
from hotline.sim.pbx import SimulatedPbx
from hotline.sim.records import CallRecord

Execute = Callable[[AgiLeg, str], Awaitable[str]]


def pace(scale: float) -> None:
    """Make every simulated command take ``scale`` times its virtual duration in real time.

    Wraps :meth:`AgiLeg.execute` in this (load generator) process only: after
    the simulator computed the reply, it waits until the call's virtual time
    spent, scaled, has passed in real time (an ``EXEC Dial`` whose confirm leg
    already took its real time waits only for the rest).
    """
    original: Execute = AgiLeg.execute

    async def paced(leg: AgiLeg, line: str) -> str:
        clock = leg.call.clock
        virtual, real = clock.now(), time.perf_counter()
        reply = await original(leg, line)
        delay = (clock.now() - virtual) * scale - (time.perf_counter() - real)
        if delay > 0:
            await asyncio.sleep(delay)
        return reply

    setattr(AgiLeg, "execute", paced)  # noqa: B010 - replacing a method on purpose


def _as_checked(record: CallRecord) -> dict[str, Any]:
    return {
        "outcome": record.outcome,
        "bridged_to": record.bridged_to,
        "error": record.error,
        "dialed": record.dialed,
        "commands": len(record.commands),
    }


async def place(
    port: int,
    calls: int,
    *,
    concurrency: int,
    ramp: float,
    talk_seconds: float,
    caller_commands: int,
    host: str = "127.0.0.1",
) -> dict[str, Any]:
    """Place the calls; returns the summary (with correctness) as a dict."""
    agents = {k: replace(v, talk_seconds=talk_seconds) for k, v in parse_agents(AGENTS).items()}
    pbx = SimulatedPbx(host, port, agents, prompt_seconds=PROMPT_SECONDS, command_timeout=60.0)
    gate = asyncio.Semaphore(concurrency)
    loop = asyncio.get_running_loop()
    gap = ramp / calls if calls else 0.0
    in_flight = 0
    max_in_flight = 0

    async def one(index: int) -> CallRecord:
        nonlocal in_flight, max_in_flight
        script = CallerScript(
            HOTLINE, callerid=f"555{index:04d}", pin_entries=[f"{PIN}#"] * 3, label=str(index)
        )
        if gap:
            await asyncio.sleep(max(0.0, start + index * gap - loop.time()))
        async with gate:
            in_flight += 1
            max_in_flight = max(max_in_flight, in_flight)
            try:
                return await pbx.place_call(script)
            except SimError as exc:
                return CallRecord(uniqueid="", channel="", hotline=HOTLINE, error=str(exc))
            finally:
                in_flight -= 1

    start = loop.time()
    began = time.perf_counter()
    records = await asyncio.gather(*(one(i) for i in range(calls)))
    wall = time.perf_counter() - began
    summary = summarize(records, wall)
    checked = [_as_checked(r) for r in records]
    wrong = [c for c in checked if not check_call(c, caller_commands)]
    return {
        "calls": calls,
        "correct": calls - len(wrong),
        "wrong": wrong[:5],
        "wall_seconds": round(wall, 4),
        "max_in_flight": max_in_flight,
        "outcomes": summary["outcomes"],
        "sim_latency_ms": summary["latency_ms"],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.driver")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--calls", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=0, help="0 = all at once")
    parser.add_argument("--ramp", type=float, default=0.0, help="real seconds to start them over")
    parser.add_argument("--time-scale", type=float, default=0.0, help="0 = virtual time")
    parser.add_argument(
        "--talk", type=float, default=TALK_SECONDS, help="real seconds bridged (paced)"
    )
    parser.add_argument("--caller-commands", type=int, required=True)
    args = parser.parse_args(argv)
    if args.calls < 1 or args.ramp < 0 or args.time_scale < 0:
        print("benchmarks.driver: --calls >= 1, --ramp and --time-scale >= 0", file=sys.stderr)
        return 2
    talk = TALK_SECONDS
    if args.time_scale > 0:
        pace(args.time_scale)
        talk = args.talk / args.time_scale
    result = asyncio.run(
        place(
            args.port,
            args.calls,
            concurrency=args.concurrency or args.calls,
            ramp=args.ramp,
            talk_seconds=talk,
            caller_commands=args.caller_commands,
        )
    )
    print(json.dumps(result))
    return 0 if result["correct"] == result["calls"] else 1


if __name__ == "__main__":
    sys.exit(main())
