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
import gc
import json
import resource
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

from benchmarks.host import StealWatch
from benchmarks.loops import LOOPS, loop_factory
from benchmarks.probe import GcPauses
from benchmarks.scenario import (
    AGENTS,
    HANGUP_STEPS,
    HOSTILE_ROUTES,
    HOTLINE,
    MIXES,
    PIN,
    PROMPT_SECONDS,
    TALK_SECONDS,
    check_call,
)
from hotline.sim.agents import parse_agents
from hotline.sim.caller import CallerScript
from hotline.sim.errors import SimError
from hotline.sim.hostile import HUNG, fuzz_session
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
    mix: str = "calls",
) -> dict[str, Any]:
    """Place the calls; returns the summary (with correctness) as a dict.

    ``mix="errors"`` (the leak check): of every ten, six are the benchmarked call,
    two callers hang up (at a step of :data:`HANGUP_STEPS` in turn) and two are
    hostile peers (:func:`hotline.sim.hostile.fuzz_session`: garbage, half
    headers, malformed and unsolicited replies, silence until the runtime's
    deadline closes them).  Correct: the calls as :func:`check_call` says, the
    hang-ups end without a simulator error, no hostile session hangs.
    """
    agents = {k: replace(v, talk_seconds=talk_seconds) for k, v in parse_agents(AGENTS).items()}
    # each driver process is a PBX started anew: its uniqueids (epoch.sequence) must not
    # repeat the warm-up's, as a real Asterisk's never do (the journal refuses repeats)
    epoch = time.time_ns() // 1_000_000
    pbx = SimulatedPbx(
        host, port, agents, prompt_seconds=PROMPT_SECONDS, command_timeout=60.0, epoch=epoch
    )
    gate = asyncio.Semaphore(concurrency)
    loop = asyncio.get_running_loop()
    gap = ramp / calls if calls else 0.0
    in_flight = 0
    max_in_flight = 0

    kinds: Counter[str] = Counter()
    wrong: list[dict[str, Any]] = []

    async def one(index: int) -> CallRecord | None:
        nonlocal in_flight, max_in_flight
        kind = _kind(index, mix)
        kinds[kind] += 1
        # the hostile peers call as 5550001: keep the mix's callers clear of its PIN lockout
        callerid = f"555{index:04d}" if mix == "calls" else f"7{index:06d}"
        script = CallerScript(
            HOTLINE, callerid=callerid, pin_entries=[f"{PIN}#"] * 3, label=str(index)
        )
        if kind == "hangup":
            step = HANGUP_STEPS[(index // 10) % len(HANGUP_STEPS)]
            script = replace(script, hangup_during=step)
        if gap:
            await asyncio.sleep(max(0.0, start + index * gap - loop.time()))
        async with gate:
            in_flight += 1
            max_in_flight = max(max_in_flight, in_flight)
            try:
                if kind == "hostile":
                    ended, _ = await fuzz_session(
                        host, port, index, routes=HOSTILE_ROUTES, patience=30.0
                    )
                    if ended == HUNG:
                        wrong.append({"kind": kind, "seed": index, "ended": ended})
                    return None
                record = await pbx.place_call(script)
            except SimError as exc:
                record = CallRecord(uniqueid="", channel="", hotline=HOTLINE, error=str(exc))
            finally:
                in_flight -= 1
        checked = _as_checked(record)
        ok = check_call(checked, caller_commands) if kind == "call" else record.error is None
        if not ok:
            wrong.append({"kind": kind, **checked})
        return record

    start = loop.time()
    began = time.perf_counter()
    # the simulator's own collections (none: main). Each would stop every call at once;
    # then every command that fell due meanwhile arrives together, and the server's loop
    # serves them in one long turn (its heartbeat reads that as a block of its own)
    collections = GcPauses()
    collections.install()
    # the host's steal while the calls run, in pieces, to set beside the server's late beats
    steal = StealWatch()
    watching = loop.create_task(steal.watch())
    try:
        placed = await asyncio.gather(*(one(i) for i in range(calls)))
    finally:
        watching.cancel()
    wall = time.perf_counter() - began
    summary = summarize([r for r in placed if r is not None], wall)
    return {
        "calls": calls,
        "correct": calls - len(wrong),
        "kinds": dict(kinds),
        "wrong": wrong[:5],
        "wall_seconds": round(wall, 4),
        "max_in_flight": max_in_flight,
        "outcomes": summary["outcomes"],
        "sim_latency_ms": summary["latency_ms"],
        "simulator": {
            "gc_pauses": collections.summary(),
            # cyclic garbage the run left (automatic collections are off: main)
            "garbage_objects": gc.collect(),
            "rss_max_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            # (from, to, seconds) the host took, monotonic clock (benchmarks/host.py)
            "steal_pieces": steal.pieces if steal.available else None,
        },
    }


def _kind(index: int, mix: str) -> str:
    """What the ``index``-th placement is in ``mix``: ``call``, ``hangup`` or ``hostile``."""
    if mix == "calls":
        return "call"
    slot = index % 10
    return "call" if slot < 6 else "hangup" if slot < 8 else "hostile"


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
    parser.add_argument("--mix", choices=MIXES, default="calls", help="errors: leak check mix")
    parser.add_argument("--loop", choices=LOOPS, default="asyncio", help="the simulator's loop")
    args = parser.parse_args(argv)
    if args.calls < 1 or args.ramp < 0 or args.time_scale < 0:
        print("benchmarks.driver: --calls >= 1, --ramp and --time-scale >= 0", file=sys.stderr)
        return 2
    talk = TALK_SECONDS
    if args.time_scale > 0:
        pace(args.time_scale)
        talk = args.talk / args.time_scale
    # A PBX does not stop to collect garbage: with automatic collections on, the
    # simulator's full collections stopped every call it plays for 122-145 ms at
    # N = 1,000, then sent what fell due meanwhile at once, which the server's loop
    # served in one long turn (benchmarks/RESULTS.md, session 18). A run is one
    # short process, and what its calls leave in cycles is counted in its summary.
    gc.disable()
    with asyncio.Runner(loop_factory=loop_factory(args.loop)) as runner:
        result = runner.run(
            place(
                args.port,
                args.calls,
                concurrency=args.concurrency or args.calls,
                ramp=args.ramp,
                talk_seconds=talk,
                caller_commands=args.caller_commands,
                mix=args.mix,
            )
        )
    print(json.dumps(result))
    return 0 if result["correct"] == result["calls"] else 1


if __name__ == "__main__":
    sys.exit(main())
