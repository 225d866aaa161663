"""Startup time: ``hotline run`` to its ``serving`` line, and ``hotline check`` to its exit.

``hotline run`` needs a valid license, so a throw-away vendor key pair is made
for the measurement and a full key is issued for a made-up server key; the
runtime is started through :mod:`benchmarks.licensed_run`, which hands the
throw-away public key to ``serve`` (the configuration cannot carry one).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.errors import BenchmarkError
from benchmarks.procs import ROOT

EXAMPLE_CONFIG = ROOT / "config" / "hotline.toml"
SERVER_KEY = "BENCH-SERVER-0000-0001"
STARTUP_TIMEOUT = 30.0


def make_license(folder: Path) -> tuple[Path, str]:
    """A throw-away vendor public key file and a module key it signed for :data:`SERVER_KEY`."""
    from hotline.licensing.model import InstallationIdentity
    from hotline.licensing.vendor import generate_keypair, issue_key

    private_pem, public_pem = generate_keypair()
    public_file = folder / "bench-vendor-public.pem"
    public_file.write_bytes(public_pem)
    key = issue_key(
        private_pem,
        installations=[InstallationIdentity.of(server_key=SERVER_KEY)],
        kind="full",
        licensee="benchmark (throw-away key)",
    )
    return public_file, key


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _time_run(
    config: Path, public_key: Path, module_key: str, environ: dict[str, str]
) -> tuple[float, str]:
    """Seconds from spawning the runtime to its ``serving`` log line, and the heap that line
    names; then SIGTERM."""
    env = {
        **environ,
        "HOTLINE_LICENSE__MODULE_KEY": module_key,
        "HOTLINE_LICENSE__SERVER_KEY": SERVER_KEY,
        "HOTLINE_AGI__PORT": str(_free_port()),
        "HOTLINE_LOGGING__FORMAT": "json",
        # no PBX here: serve without AMI (it needs an AMI secret otherwise)
        "HOTLINE_ASTERISK__ENABLED": "false",
        # the example config's journal, page and metrics, kept out of the checkout and off 9464
        "HOTLINE_JOURNAL__PATH": str(public_key.parent / "journal.sqlite"),
        "HOTLINE_HTTP__PORT": str(_free_port()),
    }
    env.pop("HOTLINE_CONFIG", None)
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.licensed_run",
        "--config",
        str(config),
        "--public-key",
        str(public_key),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    try:
        async with asyncio.timeout(STARTUP_TIMEOUT):
            while True:
                line = await proc.stdout.readline()
                if not line:
                    problem = (await proc.stderr.read()).decode(errors="replace").strip()
                    await proc.wait()
                    raise BenchmarkError(f"hotline run exited before serving: {problem[-300:]}")
                if b'"event":"serving"' in line:
                    elapsed = time.perf_counter() - started
                    heap = str(json.loads(line).get("heap"))
                    break
            proc.send_signal(signal.SIGTERM)
            await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise BenchmarkError(f"hotline run did not serve within {STARTUP_TIMEOUT:g} s") from None
    if proc.returncode != 0:
        raise BenchmarkError(f"hotline run exited {proc.returncode} on SIGTERM")
    return elapsed, heap


async def _time_process(*command: str) -> tuple[float, int]:
    """Seconds a command takes from spawn to exit, and its exit code."""
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *command,
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with asyncio.timeout(STARTUP_TIMEOUT):
            code = await proc.wait()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise BenchmarkError(f"{command[-1]} did not finish in {STARTUP_TIMEOUT:g} s") from None
    return time.perf_counter() - started, code


def _summary(samples: list[float]) -> dict[str, Any]:
    return {
        "median_s": round(statistics.median(samples), 4),
        "min_s": round(min(samples), 4),
        "max_s": round(max(samples), 4),
        "runs": [round(s, 4) for s in samples],
    }


async def measure_startup(folder: Path, runs: int, config: Path = EXAMPLE_CONFIG) -> dict[str, Any]:
    """Median startup of ``hotline run`` (to serving), ``hotline check`` and bare Python."""
    public_key, module_key = make_license(folder)
    hotline_cli = Path(sys.executable).with_name("hotline")
    check_command = (
        [str(hotline_cli)] if hotline_cli.exists() else [sys.executable, "-m", "hotline"]
    ) + ["check", str(config)]
    starts = {
        "hotline_run_to_serving": dict(os.environ),
        # PYTHONMALLOC set: the admin chose the heap, so ``hotline run`` does not start itself
        # once more (hotline/heap.py); the difference is what that second start costs
        "hotline_run_on_pymalloc": {**os.environ, "PYTHONMALLOC": "pymalloc"},
    }
    timed: dict[str, list[tuple[float, str]]] = {key: [] for key in starts}
    check_samples: list[float] = []
    python_samples: list[float] = []
    check_codes: set[int] = set()
    for _ in range(runs):
        for key, environ in starts.items():
            timed[key].append(await _time_run(config, public_key, module_key, environ))
        seconds, code = await _time_process(*check_command)
        check_samples.append(seconds)
        check_codes.add(code)
        python_samples.append((await _time_process(sys.executable, "-c", "pass"))[0])
    return {
        "config": str(config.relative_to(ROOT) if config.is_relative_to(ROOT) else config),
        # each with the heaps its ``serving`` lines named
        **{
            key: {**_summary([s for s, _heap in found]), "heaps": sorted({h for _s, h in found})}
            for key, found in timed.items()
        },
        "hotline_check": {**_summary(check_samples), "exit_codes": sorted(check_codes)},
        "python_startup": _summary(python_samples),
    }
