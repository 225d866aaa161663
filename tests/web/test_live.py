"""The live stream (/api/live) while simulated calls run: what it pushes, and how fast."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp

from hotline.sim.agents import parse_agents
from hotline.sim.caller import CallerScript
from tests.simrun import sim_runtime
from tests.web.sse import snapshots
from tests.web.stack import EventTimes, Gate, web_settings

PIN = "4711"


async def until(
    stream: AsyncIterator[dict[str, Any]], check: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    async for snapshot in stream:
        if check(snapshot):
            return snapshot
    raise AssertionError("the stream ended")


def support_calls(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = next(h for h in snapshot["hotlines"] if h["name"] == "support")[
        "calls"
    ]
    return calls


def agent(snapshot: dict[str, Any], number: str) -> dict[str, Any]:
    return next(a for a in snapshot["agents"] if a["number"] == number)


async def test_the_stream_shows_a_ringing_then_connected_call_within_a_second() -> None:
    settings = web_settings()
    times = EventTimes()
    gate = Gate()
    async with (
        sim_runtime(settings, parse_agents("201=accept")) as (runtime, pbx),
        aiohttp.ClientSession() as http,
    ):
        assert runtime.web is not None
        runtime.deps.observers.add(times)
        pbx.event_sink = gate.sink
        async with http.get(runtime.web.url + "api/live") as response:
            assert response.headers["Content-Type"] == "text/event-stream"
            stream = snapshots(response)
            first = await anext(stream)
            assert support_calls(first) == []
            assert agent(first, "201")["state"] == "unknown"  # no AMI: no device state
            call = asyncio.create_task(pbx.place_call(CallerScript(hotline="support")))
            try:
                ringing = await asyncio.wait_for(
                    until(
                        stream, lambda s: bool(support_calls(s) and support_calls(s)[0]["ringing"])
                    ),
                    1.0,
                )
                loop = asyncio.get_running_loop()
                assert loop.time() - times.first["TargetDialing"] < 1.0
                (live,) = support_calls(ringing)
                assert live["step"] == "ringing"
                assert live["ringing"]["201"]["number"] == "201"
                assert live["ringing"]["201"]["label"] == "Anna"
                assert agent(ringing, "201")["state"] == "ringing"
                assert agent(ringing, "202")["state"] == "unknown"
                await gate.ringing.wait()
                gate.release("ringing")
                await gate.connected.wait()
                connected = await asyncio.wait_for(
                    until(
                        stream,
                        lambda s: bool(support_calls(s) and support_calls(s)[0]["connected"]),
                    ),
                    1.0,
                )
                assert loop.time() - times.first["CallConnected"] < 1.0
                (live,) = support_calls(connected)
                assert live["step"] == "connected"
                assert live["connected"]["number"] == "201"
                assert agent(connected, "201")["state"] == "on_call"
                gate.release("connected")
                await call
                done = await asyncio.wait_for(until(stream, lambda s: not support_calls(s)), 1.0)
                assert agent(done, "201")["state"] in ("unknown", "wrap_up")
            finally:
                gate.release_all()
                await call


async def test_nobody_open_means_no_snapshot_is_built() -> None:
    settings = web_settings()
    async with sim_runtime(settings, parse_agents("201=accept")) as (runtime, pbx):
        assert runtime.web is not None
        for _ in range(3):
            await pbx.place_call(CallerScript(hotline="support"))
        assert runtime.web.broadcaster is not None
        assert runtime.web.broadcaster.built == 0
        assert len(runtime.state.live) == 0  # ended calls are not kept


async def test_the_calls_in_progress_are_kept_only_for_a_reader() -> None:
    """With the page (or Redis) a ringing call is in the live calls; without, nobody reads
    them and nothing is kept: hotline/runtime.py registers them only for a reader."""
    kept: dict[bool, int] = {}
    for page in (True, False):
        gate = Gate()
        settings = web_settings(http={"page": page, "port": 0})
        async with sim_runtime(settings, parse_agents("201=accept")) as (runtime, pbx):
            assert (runtime.web is not None) is page
            pbx.event_sink = gate.sink
            call = asyncio.create_task(pbx.place_call(CallerScript(hotline="support")))
            try:
                await asyncio.wait_for(gate.ringing.wait(), 5.0)
                kept[page] = len(runtime.state.live)
            finally:
                gate.release_all()
                await call
        assert len(runtime.state.live) == 0
    assert kept == {True: 1, False: 0}


async def test_the_snapshot_carries_no_secret() -> None:
    token = "tok-" + "x7Q9" * 6
    settings = web_settings(
        http={"token": token},
        hotlines=[
            {
                "name": "support",
                "pin": PIN,
                "dial": "Local/{number}@sim-agents",
                "targets": [{"number": "201"}],
            }
        ],
    )
    gate = Gate()
    async with (
        sim_runtime(settings, parse_agents("201=accept")) as (runtime, pbx),
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http,
    ):
        assert runtime.web is not None
        pbx.event_sink = gate.sink
        call = asyncio.create_task(
            pbx.place_call(CallerScript(hotline="support", pin_entries=(PIN,)))
        )
        try:
            await gate.ringing.wait()
            async with http.get(runtime.web.url + "api/snapshot") as response:
                body = await response.text()
            assert '"ringing"' in body
            assert token not in body
            assert f'"{PIN}"' not in body
            assert "pin" not in body.replace('"step":"pin"', "")
        finally:
            gate.release_all()
            await call
