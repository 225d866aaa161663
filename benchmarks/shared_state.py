"""``python -m benchmarks.shared_state``: the cost of sharing state through Redis (issue 17).

In one run, the same calls (:mod:`benchmarks.scenario`: PIN, intro, three
targets of which the third confirms) go to

* ``single``: one runtime, no ``[state]`` (everything in-process, as today);
* ``shared``: two runtimes with ``[state] redis_url`` on one real
  redis-server (tests/redisd.py), the simulator spreading the calls over both
  as ``hagi://`` does with SRV records of equal priority and weight.

Each runtime runs in its own process (:mod:`benchmarks.state_server`) and the
simulator in this one, so the CPU figures are the runtimes' (plus Redis's).
Reported per scenario: calls/s (wall clock, simulator included), runtime CPU
per call, Redis CPU per call, Redis round trips per call (the runtimes' links)
and commands Redis processed per call.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from benchmarks.scenario import AGENTS, CONFIG, HOTLINE, PIN, PROMPT_SECONDS
from hotline.sim.agents import parse_agents
from hotline.sim.caller import CallerScript
from hotline.sim.pbx import SimulatedPbx
from tests.redisd import RedisServer, redis_available

ROOT = Path(__file__).resolve().parent.parent


def _process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RuntimeProcess:
    def __init__(self, proc: asyncio.subprocess.Process, port: int) -> None:
        self.proc = proc
        self.port = port

    async def stats(self) -> dict[str, Any]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(b"stats\n")
        await self.proc.stdin.drain()
        data: dict[str, Any] = json.loads(await asyncio.wait_for(self.proc.stdout.readline(), 30))
        return data


@contextlib.asynccontextmanager
async def runtime_process(config: dict[str, Any], workdir: Path) -> AsyncIterator[RuntimeProcess]:
    path = workdir / f"config-{id(config)}.json"
    path.write_text(json.dumps(config))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.state_server",
        str(path),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        port = json.loads(await asyncio.wait_for(proc.stdout.readline(), 60))["port"]
        yield RuntimeProcess(proc, port)
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def place_calls(pbx: SimulatedPbx, count: int, concurrency: int) -> list[str]:
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> str:
        script = CallerScript(HOTLINE, callerid=f"555{index:04d}", pin_entries=[f"{PIN}#"] * 3)
        async with gate:
            record = await pbx.place_call(script)
        return record.outcome if record.bridged_to == "203" else f"wrong:{record.outcome}"

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def scenario(
    name: str,
    runtimes: Sequence[RuntimeProcess],
    redis: RedisServer | None,
    calls: int,
    concurrency: int,
    warmup: int,
) -> dict[str, Any]:
    agents = parse_agents(AGENTS)
    pbx = SimulatedPbx(
        "127.0.0.1",
        runtimes[0].port,
        agents,
        prompt_seconds=PROMPT_SECONDS,
        command_timeout=60.0,
        agi_servers=[("127.0.0.1", r.port) for r in runtimes],
        spread_calls=True,
    )
    await place_calls(pbx, warmup, concurrency)
    client = aioredis.Redis.from_url(redis.url) if redis is not None else None
    try:

        async def redis_commands() -> int:
            if client is None:
                return 0
            return int((await client.info("stats"))["total_commands_processed"])

        before = [await r.stats() for r in runtimes]
        redis_cpu = _process_cpu(redis.proc.pid) if redis and redis.proc else 0.0
        commands = await redis_commands()
        started = time.perf_counter()
        outcomes = await place_calls(pbx, calls, concurrency)
        wall = time.perf_counter() - started
        after = [await r.stats() for r in runtimes]
        redis_cpu = (_process_cpu(redis.proc.pid) if redis and redis.proc else 0.0) - redis_cpu
        commands = await redis_commands() - commands - 1 if client is not None else 0
    finally:
        if client is not None:
            await client.aclose()
    cpu = sum(a["cpu_s"] - b["cpu_s"] for a, b in zip(after, before, strict=True))
    trips = sum(a["round_trips"] - b["round_trips"] for a, b in zip(after, before, strict=True))
    rounds = sum(a["rounds"] - b["rounds"] for a, b in zip(after, before, strict=True))
    return {
        "scenario": name,
        "runtimes": len(runtimes),
        "redis": redis is not None,
        "calls": calls,
        "concurrency": concurrency,
        "correct": outcomes.count("connected"),
        "calls_per_s": round(calls / wall, 1),
        "runtime_cpu_ms_per_call": round(1000 * cpu / calls, 3),
        "redis_cpu_ms_per_call": round(1000 * redis_cpu / calls, 3),
        "redis_round_trips_per_call": round(trips / calls, 2),
        "hunt_rounds_per_call": round(rounds / calls, 2),
        "redis_commands_per_call": round(commands / calls, 2),
    }


def _config(url: str | None, runtime_id: str) -> dict[str, Any]:
    config = copy.deepcopy(CONFIG)
    config["logging"] = {"level": "WARNING", "format": "json"}
    if url is not None:
        config["state"] = {"redis_url": url, "runtime_id": runtime_id}
    return config


async def run(calls: int, concurrency: int, warmup: int) -> dict[str, Any]:
    reason = redis_available()
    if reason is not None:
        raise SystemExit(f"benchmarks.shared_state: {reason}")
    results = []
    with tempfile.TemporaryDirectory(prefix="hotline-bench-state-") as tmp:
        workdir = Path(tmp)
        async with runtime_process(_config(None, "single"), workdir) as single:
            results.append(await scenario("single", [single], None, calls, concurrency, warmup))
        redis = RedisServer(workdir / "redis")
        redis.start()
        try:
            async with (
                runtime_process(_config(redis.url, "rt-a"), workdir) as a,
                runtime_process(_config(redis.url, "rt-b"), workdir) as b,
            ):
                results.append(await scenario("shared", [a, b], redis, calls, concurrency, warmup))
        finally:
            redis.stop()
    return {"machine": {"cores": os.cpu_count()}, "results": results}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.shared_state")
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    report = asyncio.run(run(args.calls, args.concurrency, args.warmup))
    text = json.dumps(report, indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
