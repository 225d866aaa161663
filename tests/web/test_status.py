"""The status line as ``hotline run`` fills it: version, license, AMI, schedules."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from hotline import __version__
from hotline.config import settings_from_mapping
from hotline.sim.ami_server import AmiServer
from tests.ami.stack import ENTITY_ID, Vendor, config_data, sim_state, start_serving
from tests.net import free_port


async def snapshot(url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(url + "api/snapshot") as response:
        assert response.status == 200
        data: dict[str, Any] = await response.json()
        return data


async def test_status_shows_version_license_ami_and_schedules() -> None:
    agi_port = free_port()
    ami = AmiServer(sim_state(agi_port))
    await ami.start()
    vendor = Vendor.new()
    data = config_data(ami, agi_port, module_key=vendor.key_for(entity_id=ENTITY_ID))
    data["http"] = {"page": True, "port": 0}
    data["hotlines"][0]["schedule"] = {"timezone": "UTC", "open": ["Mon-Sun 00:00-24:00"]}
    serving = await start_serving(settings_from_mapping(data), vendor.verifier)
    try:
        web = serving.runtime.web
        assert web is not None
        status = (await snapshot(web.url))["status"]
        assert status["version"] == __version__
        assert status["license"] == {"kind": "full", "expires": None}
        assert status["ami"] is True
        (hotline,) = (await snapshot(web.url))["hotlines"]
        assert hotline["schedule"]["open"] is True
        assert hotline["schedule"]["rule"].startswith("hours Mon-Sun")
        lost = asyncio.Event()
        serving.ami.on_connection(lambda up: None if up else lost.set())
        await ami.close()
        await asyncio.wait_for(lost.wait(), 5)
        assert (await snapshot(web.url))["status"]["ami"] is False
    finally:
        await serving.shutdown()
        await ami.close()
