"""``python -m benchmarks.hostile_load``: healthy calls while thousands of peers stall (issue 12).

The runtime (:mod:`benchmarks.server`, the benchmark config, production
logging) runs in its own process under ``ulimit -n --open-files`` (default
1,024, soft and hard).  This process then opens ``--peers`` hostile
connections — half *slowloris* (a header byte per second, never finished), half *stuck*
(a valid header for the hotline, then no reply ever: it holds its slot until
the first command's deadline); with ``--reconnect`` a dropped peer comes
straight back.  While they press on, the PBX simulator places ``--calls``
healthy calls (PIN, two targets that fail, the third confirms),
``--concurrency`` at a time.

Reports how many healthy calls completed correctly and how long they took,
what the runtime's log grew by (bytes, lines, warning lines by kind, lines
that are not JSON = tracebacks) and how often the peers were dropped.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.procs import ServerProcess
from benchmarks.scenario import (
    AGENTS,
    CALLER_ROUTE,
    CONFIRMING_TARGET,
    HOTLINE,
    PIN,
    PROMPT_SECONDS,
)
from hotline.sim.agents import parse_agents
from hotline.sim.caller import CallerScript
from hotline.sim.errors import SimError
from hotline.sim.hostile import slowloris, stuck
from hotline.sim.pbx import SimulatedPbx

HOST = "127.0.0.1"


async def healthy_calls(port: int, calls: int, concurrency: int) -> list[tuple[bool, float, str]]:
    """(completed correctly, wall seconds, how it ended) per call."""
    agents = {k: replace(v, talk_seconds=1.0) for k, v in parse_agents(AGENTS).items()}
    pbx = SimulatedPbx(HOST, port, agents, prompt_seconds=PROMPT_SECONDS, command_timeout=120.0)
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> tuple[bool, float, str]:
        script = CallerScript(HOTLINE, callerid=f"556{index:04d}", pin_entries=[f"{PIN}#"] * 3)
        async with gate:
            began = time.perf_counter()
            try:
                record = await pbx.place_call(script)
            except SimError as exc:
                return False, time.perf_counter() - began, f"sim error: {exc}"[:160]
            ok = (
                record.outcome == "connected"
                and record.bridged_to == CONFIRMING_TARGET
                and record.error is None
            )
            ended = f"{record.outcome} to {record.bridged_to} ({record.error})"
            return ok, time.perf_counter() - began, ended

    return list(await asyncio.gather(*(one(i) for i in range(calls))))


def read_log(path: Path, start: int) -> dict[str, Any]:
    """What the runtime logged after byte ``start``."""
    warnings: Counter[str] = Counter()
    lines = not_json = 0
    with path.open("rb") as stream:
        stream.seek(start)
        data = stream.read()
    for line in data.splitlines():
        lines += 1
        try:
            event = json.loads(line)
        except ValueError:
            not_json += 1
            continue
        if event.get("level") in ("warning", "error", "critical") or "exception" in event:
            warnings[event.get("event", "?")] += 1
    return {
        "bytes": len(data),
        "lines": lines,
        "not_json_lines": not_json,
        "warning_lines": sum(warnings.values()),
        "warning_lines_by_kind": dict(warnings.most_common()),
    }


async def run(
    peers: int, calls: int, concurrency: int, open_files: int, warmup: float, reconnect: bool
) -> Any:
    with tempfile.TemporaryDirectory(prefix="hotline-hostile-") as tmp:
        log_file = Path(tmp) / "runtime.jsonl"
        server = ServerProcess(
            "hotline", exchange=Path(tmp) / "unused", log_file=log_file, open_files=open_files
        )
        # the runtime's stderr (where a traceback outside its log would go) into a file
        stderr_file = Path(tmp) / "stderr.txt"
        saved = os.dup(2)
        with stderr_file.open("wb") as sink:
            os.dup2(sink.fileno(), 2)
            try:
                await server.start()
            finally:
                os.dup2(saved, 2)
                os.close(saved)
        stop = asyncio.Event()
        attackers = [
            asyncio.create_task(
                slowloris(HOST, server.port, stop, reconnect=reconnect)
                if n % 2
                else stuck(HOST, server.port, stop, route=CALLER_ROUTE, reconnect=reconnect)
            )
            for n in range(peers)
        ]
        try:
            await asyncio.sleep(warmup)  # let the peers fill every slot first
            logged_before = log_file.stat().st_size if log_file.exists() else 0
            began = time.perf_counter()
            results = await healthy_calls(server.port, calls, concurrency)
            wall = time.perf_counter() - began
            alive = (await server.command("stats")) is not None
        finally:
            stop.set()
            drops = await asyncio.gather(*attackers, return_exceptions=True)
            await server.stop()
        log = read_log(log_file, 0)
        during = read_log(log_file, logged_before)
        stderr = stderr_file.read_text(encoding="utf-8", errors="replace").splitlines()
    seconds = sorted(s for ok, s, _ in results if ok)
    failed = Counter(ended for ok, _, ended in results if not ok)
    return {
        "peers": peers,
        "reconnect": reconnect,
        "open_files": open_files,
        "runtime_alive_after": alive,
        "healthy_calls": calls,
        "healthy_completed": sum(ok for ok, _, _ in results),
        "healthy_failed_how": dict(failed.most_common(5)),
        "healthy_wall_s": round(wall, 1),
        "healthy_call_s": {
            "median": round(statistics.median(seconds), 2) if seconds else None,
            "p95": round(seconds[int(0.95 * (len(seconds) - 1))], 2) if seconds else None,
            "max": round(seconds[-1], 2) if seconds else None,
        },
        "peers_dropped_by_runtime": sum(d for d in drops if isinstance(d, int)),
        "runtime_stderr_lines": len(stderr),
        "runtime_stderr_first": stderr[:5],
        "log_whole_run": log,
        "log_during_calls": during,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.hostile_load")
    parser.add_argument("--peers", type=int, default=3000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--open-files", type=int, default=1024, help="the runtime's ulimit -n")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of attack first")
    parser.add_argument(
        "--reconnect", action="store_true", help="a dropped peer comes straight back"
    )
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # this side holds every peer
    result = asyncio.run(
        run(args.peers, args.calls, args.concurrency, args.open_files, args.warmup, args.reconnect)
    )
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0 if result["healthy_completed"] == result["healthy_calls"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
