"""The hotline container's health check against a real FastAGI server: healthy, and quiet."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from hotline.agi.server import FastAgiServer
from tests.conftest import CapturedLog
from tests.net import free_port

HEALTHCHECK = Path(__file__).resolve().parents[2] / "docker" / "hotline" / "healthcheck.py"


async def run_healthcheck(port: int) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HEALTHCHECK),
        env={**os.environ, "HOTLINE_AGI__PORT": str(port)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 10)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_healthy_while_serving_and_no_call_is_opened(captured_log: CapturedLog) -> None:
    async with FastAgiServer({}, host="127.0.0.1", port=0) as server:
        code, output = await run_healthcheck(server.port)
        await server.stop()
    assert (code, output) == (0, "")
    probes = captured_log.named("agi_probe_closed")
    assert len(probes) == 1
    assert probes[0]["level"] == "debug"  # invisible at the default INFO level
    noisy = [e["event"] for e in captured_log.events if e["level"] != "debug"]
    assert not [e for e in noisy if e.startswith(("agi_header", "agi_session", "agi_bad"))]


async def test_unhealthy_when_nothing_listens() -> None:
    port = free_port()
    code, output = await run_healthcheck(port)
    assert code == 1
    assert f"port {port} not accepting connections" in output
