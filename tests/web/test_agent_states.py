"""Agents' states on the page from AMI device states (the simulated PBX's AMI, over a socket)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from hotline.agents.feed import DeviceStateFeed
from hotline.ami.client import AmiClient
from hotline.sim.agents import parse_agents
from hotline.sim.ami_server import AmiServer
from hotline.sim.ami_state import AmiSimState
from hotline.sim.caller import CallerScript
from tests.simrun import sim_runtime
from tests.web.stack import web_settings

TARGETS = [
    {"number": "201", "label": "Anna", "device": "Custom:agent201"},
    {"number": "202", "device": "Custom:agent202"},
    {"number": "203", "device": "Custom:agent203"},
    {"number": "204"},
]


async def states(url: str) -> dict[str, str]:
    async with aiohttp.ClientSession() as http, http.get(url + "api/snapshot") as response:
        data: dict[str, Any] = await response.json()
    return {a["number"]: a["state"] for a in data["agents"]}


async def test_device_states_show_as_free_busy_unavailable_and_unknown() -> None:
    hotline = {"name": "support", "dial": "Local/{number}@sim-agents", "targets": TARGETS}
    settings = web_settings(hotlines=[hotline])
    ami = AmiServer(
        AmiSimState(
            device_states={
                "Custom:agent201": "NOT_INUSE",
                "Custom:agent202": "INUSE",
                "Custom:agent203": "UNAVAILABLE",
            }
        ),
        host="127.0.0.1",
        port=0,
    )
    await ami.start()
    client = AmiClient(
        host="127.0.0.1", port=ami.port, username=ami.state.username, secret=ami.state.secret
    )
    try:
        await client.start()
        async with sim_runtime(settings, parse_agents("201=accept")) as (runtime, _pbx):
            assert runtime.web is not None
            feed = DeviceStateFeed(runtime.board, client)
            feed.attach()
            try:
                await asyncio.wait_for(feed.listed.wait(), 5)
                assert await states(runtime.web.url) == {
                    "201": "free",
                    "202": "busy",
                    "203": "unavailable",
                    "204": "unknown",  # no device: nothing to know it by
                }
                changed = asyncio.Event()
                client.on_event("DeviceStateChange", lambda _m: changed.set())
                await ami.set_device_state("Custom:agent201", "BUSY")
                await asyncio.wait_for(changed.wait(), 5)
                assert (await states(runtime.web.url))["201"] == "busy"
            finally:
                await feed.close()
    finally:
        await client.close()
        await ami.close()


async def test_after_a_connected_call_the_agent_is_in_wrap_up() -> None:
    hotline = {
        "name": "support",
        "dial": "Local/{number}@sim-agents",
        "hunt": {"wrap_up": 60},
        "targets": TARGETS[:1],
    }
    async with sim_runtime(web_settings(hotlines=[hotline]), parse_agents("201=accept")) as (
        runtime,
        pbx,
    ):
        assert runtime.web is not None
        assert (await states(runtime.web.url))["201"] == "unknown"  # no AMI here
        record = await pbx.place_call(CallerScript(hotline="support"))
        assert record.bridged_to == "201"
        assert (await states(runtime.web.url))["201"] == "wrap_up"
