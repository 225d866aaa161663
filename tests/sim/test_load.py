"""Load helpers: run_load in-process and ``python -m hotline.sim`` in its own process."""

from __future__ import annotations

import asyncio
import json
import socket
import sys

import pytest

from hotline.agi.server import FastAgiServer
from hotline.agi.session import AgiSession
from hotline.sim.agents import parse_agents
from hotline.sim.caller import CallerScript
from hotline.sim.errors import SimError
from hotline.sim.load import run_load, summarize
from hotline.sim.pbx import SimulatedPbx
from tests.sim.conftest import Runtime


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_run_load_keeps_order_and_summarises(runtime: Runtime) -> None:
    scripts = [
        CallerScript("sales", callerid=f"555{n:04d}", args=["201"] if n % 2 else ["202"])
        for n in range(20)
    ]
    records = await run_load(
        "127.0.0.1",
        runtime.port,
        scripts,
        concurrency=5,
        agents=parse_agents("201=accept,202=busy"),
    )
    assert [r.outcome for r in records] == ["ended", "connected"] * 10
    summary = summarize(records, wall_seconds=1.0)
    assert summary["calls"] == 20
    assert summary["outcomes"] == {"ended": 10, "connected": 10}
    assert summary["commands"] == sum(len(r.commands) for r in records)
    assert summary["latency_ms"]["max"] >= summary["latency_ms"]["median"] >= 0


async def test_unreachable_runtime_is_one_clear_error() -> None:
    port = _closed_port()
    with pytest.raises(SimError, match=f"cannot reach the FastAGI runtime at 127.0.0.1:{port}"):
        await SimulatedPbx("127.0.0.1", port).place_call(CallerScript("sales"))
    (record,) = await run_load("127.0.0.1", port, [CallerScript("sales")])
    assert record.outcome == "error"
    assert record.error is not None
    assert "is it running?" in record.error


async def test_silent_runtime_gives_up_after_command_timeout() -> None:
    release = asyncio.Event()

    async def silent(session: AgiSession) -> None:
        await release.wait()

    server = FastAgiServer({"hotline/sales": silent}, port=0)
    async with server:
        pbx = SimulatedPbx("127.0.0.1", server.port, command_timeout=0.05)
        with pytest.raises(SimError, match=r"sent no AGI command for 0\.05 s"):
            await pbx.place_call(CallerScript("sales"))
        release.set()


def test_clock_for_unknown_uniqueid() -> None:
    with pytest.raises(SimError, match="not a channel of this simulated PBX"):
        SimulatedPbx("127.0.0.1", 1).clock_for("1.1")


async def test_module_runs_calls_in_its_own_process(runtime: Runtime) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hotline.sim",
        "--port",
        str(runtime.port),
        "--hotline",
        "sales",
        "--calls",
        "6",
        "--concurrency",
        "3",
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    lines = [json.loads(line) for line in out.decode().splitlines()]
    calls, summary = lines[:-1], lines[-1]["summary"]
    assert len(calls) == 6
    assert {c["hung_up_by"] for c in calls} == {"runtime"}
    assert summary["calls"] == 6
    assert summary["outcomes"] == {"ended": 6}


async def test_module_reports_bad_arguments_in_one_line() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hotline.sim",
        "--agents",
        "201=sleepy",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    assert process.returncode == 2
    assert err.decode().strip().splitlines() == [
        "hotline.sim: agent spec '201=sleepy': unknown behaviour 'sleepy'; use one of: "
        "no-answer, busy, unavailable, congestion, accept, voicemail, decline, wrong-key, hangup"
    ]
