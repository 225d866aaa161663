"""The benchmark's child processes: a server under test, and the simulator driving it.

Every wait is bounded: a server that does not answer a control command, or a
simulator run that outlives its deadline, is killed and reported as a
:class:`BenchmarkError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.errors import BenchmarkError
from benchmarks.scenario import driver_command
from hotline.heap import glibc_version, huge_pages_env, thp_mode

#: the repository root: child processes run ``python -m benchmarks.…`` from here
ROOT = Path(__file__).resolve().parent.parent
CONTROL_TIMEOUT = 60.0


def children_cpu_seconds() -> float:
    """User + system CPU of every child this process has waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class ServerProcess:
    """``python -m benchmarks.server`` with its stdin/stdout control channel."""

    def __init__(
        self,
        kind: str,
        *,
        exchange: Path,
        log_file: Path,
        log_level: str = "INFO",
        tweaks: Sequence[str] = (),
        loop: str = "asyncio",
        open_files: int | None = None,
    ) -> None:
        self.kind = kind
        self.loop = loop
        #: the child's RLIMIT_NOFILE, soft and hard (``ulimit -n``); None: inherited
        self.open_files = open_files
        self.tweaks = tuple(tweaks)
        self.exchange = exchange
        self.log_file = log_file
        self.log_level = log_level
        self.port = 0
        self.pid = 0
        self.ready: dict[str, Any] = {}
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> dict[str, Any]:
        command = [sys.executable, "-m", "benchmarks.server", "--kind", self.kind]
        command += ["--loop", self.loop]
        if self.kind in ("hotline", "agi"):
            command += ["--log-file", str(self.log_file), "--log-level", self.log_level]
        if self.kind == "hotline":
            for tweak in self.tweaks:
                command += ["--tweak", tweak]
        else:
            command += ["--exchange", str(self.exchange)]
        env = None
        if self.kind == "hotline" and "heap-pymalloc" not in self.tweaks:
            # as ``hotline run`` starts itself again where it can (hotline/heap.py)
            env = huge_pages_env(os.environ, thp_mode(), glibc_version())
        self._proc = await asyncio.create_subprocess_exec(
            *command,
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            preexec_fn=None if self.open_files is None else self._limit_files,
        )
        self.pid = self._proc.pid
        try:
            self.ready = await self._read()
        except asyncio.CancelledError:  # the benchmark stopped (SIGTERM, Ctrl-C)
            await self.kill()
            raise
        if not self.ready.get("ready"):
            raise BenchmarkError(f"{self.kind} server did not start: {self.ready}")
        self.port = int(self.ready["port"])
        return self.ready

    def _limit_files(self) -> None:
        """In the child, before exec: ``ulimit -n open_files`` (soft and hard)."""
        assert self.open_files is not None
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.open_files, self.open_files))

    async def _read(self) -> dict[str, Any]:
        proc = self._proc
        assert proc is not None
        assert proc.stdout is not None
        try:
            async with asyncio.timeout(CONTROL_TIMEOUT):
                line = await proc.stdout.readline()
        except TimeoutError:
            await self.kill()
            raise BenchmarkError(f"{self.kind} server silent for {CONTROL_TIMEOUT:g} s") from None
        if not line:
            await self.kill()
            raise BenchmarkError(f"{self.kind} server exited (code {proc.returncode})")
        try:
            data: dict[str, Any] = json.loads(line)
        except ValueError:
            raise BenchmarkError(f"{self.kind} server wrote {line[:80]!r}") from None
        return data

    async def command(self, name: str) -> dict[str, Any]:
        proc = self._proc
        if proc is None or proc.stdin is None:
            raise BenchmarkError(f"{self.kind} server is not running")
        proc.stdin.write(f"{name}\n".encode())
        await proc.stdin.drain()
        return await self._read()

    async def stop(self) -> None:
        proc = self._proc
        if proc is None:
            return
        with contextlib.suppress(BenchmarkError, ConnectionError):
            await self.command("quit")
        try:
            async with asyncio.timeout(CONTROL_TIMEOUT):
                await proc.wait()
        except TimeoutError:
            await self.kill()
        self._proc = None

    async def kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()


@dataclass(frozen=True)
class Load:
    """How calls are placed: all at once on virtual time, or paced in real time."""

    calls: int
    concurrency: int = 0
    ramp: float = 0.0
    time_scale: float = 0.0
    talk: float = 1.0
    #: ``calls`` or ``errors`` (hang-ups and hostile peers too: the leak check)
    mix: str = "calls"
    #: the whole run's real seconds at most when given (a server under valgrind is ~50x
    #: slower: benchmarks/pymisses.py); else :attr:`deadline`'s own bound
    limit: float | None = None
    #: the simulator's own event loop (benchmarks/loops.py)
    loop: str = "asyncio"

    @property
    def deadline(self) -> float:
        """A generous bound on the run's real duration."""
        if self.limit is not None:
            return self.limit
        return 60.0 + self.calls * 0.05 + self.ramp + self.talk * 2


@dataclass
class DriveResult:
    """What the simulator process saw of one load run."""

    calls: int
    correct: int
    errors: list[Any]
    wall_s: float
    driver_cpu_s: float
    max_in_flight: int
    #: what the PBX side measured: header/reply sent → next command received
    sim_latency_ms: dict[str, Any]
    outcomes: dict[str, int]
    #: placements by kind (call, hangup, hostile)
    kinds: dict[str, int]
    #: the simulator process itself: its collections, the garbage it left, its peak RSS
    simulator: dict[str, Any]

    @property
    def correct_pct(self) -> float:
        return round(100.0 * self.correct / self.calls, 3) if self.calls else 0.0


async def drive(port: int, load: Load, *, caller_commands: int) -> DriveResult:
    """Run the load generator (:mod:`benchmarks.driver`) against ``port``; bounded in time."""
    before = children_cpu_seconds()
    proc = await asyncio.create_subprocess_exec(
        *driver_command(
            port,
            load.calls,
            caller_commands=caller_commands,
            concurrency=load.concurrency,
            ramp=load.ramp,
            time_scale=load.time_scale,
            talk=load.talk,
            mix=load.mix,
            loop=load.loop,
        ),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(load.deadline):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise BenchmarkError(
            f"load generator run of {load.calls} calls exceeded {load.deadline:g} s"
        ) from None
    except asyncio.CancelledError:  # the benchmark stopped: the simulator stops with it
        proc.kill()
        await proc.wait()
        raise
    driver_cpu = children_cpu_seconds() - before
    try:
        data = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = err.decode(errors="replace").strip().splitlines()[-3:]
        raise BenchmarkError(
            f"load generator exited {proc.returncode}: {' | '.join(tail)}"
        ) from None
    return DriveResult(
        calls=int(data["calls"]),
        correct=int(data["correct"]),
        errors=list(data["wrong"]),
        wall_s=float(data["wall_seconds"]),
        driver_cpu_s=round(driver_cpu, 4),
        max_in_flight=int(data["max_in_flight"]),
        sim_latency_ms=data.get("sim_latency_ms", {}),
        outcomes=data.get("outcomes", {}),
        kinds=data.get("kinds", {}),
        simulator=data.get("simulator", {}),
    )
