"""Cost per call of hunting with the agent board, next to today's linear hunt; board memory.

``python -m benchmarks.hunt_cost [--calls N] [--runs R] [--board-calls M] [--json PATH]``

* ``cpu``: the runtime (this process, production JSON logging to /dev/null)
  serves calls placed by the PBX simulator in its own process
  (``python -m hotline.sim``), one at a time, for two hotlines in the same run,
  alternating: ``linear`` — today's hunt: 201 never answers, 202 answers and
  never confirms, 203 accepts; ``hunting`` — round robin over steps with
  skipping and a parallel step: 200 is skipped (its device is busy), 201 never
  answers, then 202 and 203 ring together on two Local legs, 202 never
  confirms (and is told "taken"), 203 accepts.  Both place three targets'
  worth of dialling; the hunting call also asks the board, rotates, and runs
  two confirm legs at once.  Reported: this process's CPU time per call
  (``time.process_time``), median over the runs.
* ``board``: the agent board fed by the flows' own events (the observer the
  runtime registers) for M calls on two hotlines — every call rings a parallel
  step, one agent confirms and talks, the other is told "taken", some targets
  are skipped, wrap-up and rotation are used — plus the call registry's claims.
  Reported: the board's and the registry's table sizes and the bytes their code
  still holds (tracemalloc) after 2,000 calls, M/2 and M: bounded means the
  same, whatever M (the registry keeps the last 1,024 settled calls, for
  colleagues still being asked).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hotline.agents.board import AgentBoard
from hotline.agents.observer import BoardObserver
from hotline.agents.plan import agents_of
from hotline.config import Settings, settings_from_mapping
from hotline.flow.observers import (
    AttemptRecord,
    CallConnected,
    CallEnded,
    ConfirmEnded,
    ConfirmStarted,
    TargetDialing,
    TargetEnded,
)
from hotline.flow.registry import CallRegistry
from hotline.flow.state import RuntimeState
from hotline.logs import configure_logging
from hotline.runtime import Runtime

PIN = "4711"
AGENTS = "200=accept,201=no-answer,202=voicemail,203=accept"


def _hotline(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "pin": PIN,
        "dial": "Local/{number}@sim-agents",
        "ring_time": 5,
        **extra,
    }


def cpu_settings() -> Settings:
    """The two benchmarked hotlines: today's linear hunt and one using the board."""
    linear = _hotline("linear", targets=[{"number": n} for n in ("201", "202", "203")])
    hunting = _hotline(
        "hunting",
        targets=[
            {"number": "200", "device": "Custom:agent200"},
            {"number": "201"},
            {"number": "202"},
            {"number": "203"},
        ],
        hunt={
            "strategy": "round_robin",
            "steps": [
                {"targets": ["200"]},
                {"targets": ["201"]},
                {"targets": ["202", "203"]},
            ],
        },
    )
    return settings_from_mapping(
        {
            "asterisk": {"enabled": False},
            "logging": {"level": "INFO", "format": "json"},
            "hotlines": [linear, hunting],
        }
    )


async def _drive(port: int, hotline: str, calls: int) -> dict[str, Any]:
    """The simulator in its own process places ``calls`` calls, one at a time."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hotline.sim",
        "--port",
        str(port),
        "--hotline",
        hotline,
        "--calls",
        str(calls),
        "--concurrency",
        "1",
        "--agents",
        AGENTS,
        "--pin",
        f"{PIN}#",
        "--prompt-seconds",
        "0.5",
        "--talk-seconds",
        "1",
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    summary: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])["summary"]
    if process.returncode != 0:
        raise RuntimeError(f"simulator exited {process.returncode}: {summary}")
    return summary


async def cpu_costs(calls: int, runs: int) -> dict[str, Any]:
    settings = cpu_settings()
    with Path(os.devnull).open("w", encoding="utf-8") as sink:  # noqa: ASYNC230 - /dev/null
        configure_logging(level="INFO", fmt="json", stream=sink)
        state = RuntimeState()
        async with Runtime(settings, host="127.0.0.1", port=0, state=state) as runtime:
            state.board.pbx_up({"Custom:agent200": "INUSE"})  # as AMI would report it
            samples: dict[str, list[float]] = {"linear": [], "hunting": []}
            outcomes: dict[str, Any] = {}
            await _drive(runtime.port, "linear", 5)  # warm up both paths
            await _drive(runtime.port, "hunting", 5)
            for _ in range(runs):
                for name in samples:
                    started = time.process_time()
                    outcomes[name] = await _drive(runtime.port, name, calls)
                    samples[name].append((time.process_time() - started) / calls * 1e6)
    result: dict[str, Any] = {
        name: round(statistics.median(values)) for name, values in samples.items()
    }
    result = {f"{name}_us_per_call": value for name, value in result.items()}
    result["hunting_over_linear"] = round(
        result["hunting_us_per_call"] / result["linear_us_per_call"], 2
    )
    for name, found in outcomes.items():  # the two calls differ in what they ask of Asterisk
        per_call = found["commands"] / found["calls"]
        result[f"{name}_agi_commands_per_call"] = round(per_call, 1)
        result[f"{name}_us_per_agi_command"] = round(result[f"{name}_us_per_call"] / per_call, 1)
    result["outcomes"] = {name: found["outcomes"] for name, found in outcomes.items()}
    return result


def _feed_call(
    observer: BoardObserver, registry: CallRegistry, n: int, hotlines: Sequence[str]
) -> None:
    """One call's events as the flows emit them: a parallel step, 203 confirms, 202 taken."""
    call, hotline = f"bench-{n}", hotlines[n % len(hotlines)]
    emit = observer.on_call_event
    registry.expect(call, ("202", "203"))
    for attempt, number in enumerate(("202", "203"), start=1):
        emit(TargetDialing(call, hotline, attempt, 1, 1, number, None, 5))
        emit(ConfirmStarted(call, hotline, number))
    registry.claim(call, "203")
    registry.verdict(call, "203", "ACCEPTED")
    emit(ConfirmEnded(call, hotline, "203", "ACCEPTED"))
    emit(CallConnected(call, hotline, 2, "203", None, 3.0))
    registry.claim(call, "202")
    registry.verdict(call, "202", "TAKEN")
    emit(ConfirmEnded(call, hotline, "202", "TAKEN"))
    taken = AttemptRecord(1, 1, "202", None, "taken", 3.0)
    won = AttemptRecord(2, 1, "203", None, "confirmed", 3.0)
    emit(TargetEnded(call, hotline, taken))
    emit(TargetEnded(call, hotline, won))
    registry.forget(call)
    observer.board.offered(hotline, "Local/203@sim-agents")
    emit(
        CallEnded(
            call, hotline, "5550001", 0.0, "connected", None, "203", None, 3.0, 30.0,
            "agent", 40.0, (taken, won),
        )
    )  # fmt: skip


def _held_by(patterns: Sequence[str]) -> int:
    """Bytes still allocated by code in files matching ``patterns`` (tracemalloc)."""
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(True, pattern) for pattern in patterns]
    )
    return sum(stat.size for stat in snapshot.statistics("filename"))


async def board_memory(calls: int) -> dict[str, Any]:
    hotline = {
        "dial": "Local/{number}@sim-agents",
        "targets": [{"number": n} for n in ("201", "202", "203")],
        "hunt": {"wrap_up": 5, "steps": [{"targets": ["201"]}, {"targets": ["202", "203"]}]},
    }
    settings = settings_from_mapping(
        {"hotlines": [{"name": "a", **hotline}, {"name": "b", **hotline}]}
    )
    clock = {"now": 0.0}
    board = AgentBoard(clock=lambda: clock["now"])
    board.watch(agents_of(settings.hotlines))
    observer = BoardObserver(board, settings.hotlines)
    registry = CallRegistry()
    names = [h.name for h in settings.hotlines]
    tracemalloc.start()
    marks: dict[str, Any] = {}
    for n in range(calls):
        clock["now"] += 1.0
        _feed_call(observer, registry, n, names)
        if n + 1 in (2000, calls // 2, calls):
            marks[str(n + 1)] = {
                "sizes": board.sizes(),
                "registry": registry.sizes(),
                "board_and_registry_bytes": _held_by(("*/hotline/agents/*", "*/registry.py")),
            }
    tracemalloc.stop()
    return marks


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.hunt_cost")
    parser.add_argument("--calls", type=int, default=300, help="calls per hotline and run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--board-calls", type=int, default=20_000)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    results = {
        "cpu": asyncio.run(cpu_costs(args.calls, args.runs)),
        "board": asyncio.run(board_memory(args.board_calls)),
    }
    text = json.dumps(results, indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
