"""SIGTERM: the runtime stops taking calls but lets the calls in progress finish."""

from __future__ import annotations

import asyncio
import os
import signal

from hotline.agi.testing import DEAD_CHANNEL_REPLY, FakeAsterisk
from hotline.config import settings_from_mapping
from hotline.licensing.model import InstallationIdentity
from hotline.runtime import Runtime, serve
from tests.conftest import CapturedLog
from tests.licensing.conftest import SERVER_A, Vendor
from tests.net import free_port, port_open


async def test_sigterm_drains_the_call_in_progress(
    vendor: Vendor, captured_log: CapturedLog
) -> None:
    port = free_port()
    key = vendor.issue([InstallationIdentity.of(server_key=SERVER_A)])
    settings = settings_from_mapping(
        {
            "asterisk": {"enabled": False},
            "agi": {"port": port, "drain_timeout": 30},
            "license": {"module_key": key, "server_key": SERVER_A},
            "hotlines": [{"name": "support", "targets": [{"number": "201"}]}],
        }
    )
    ready = asyncio.Event()

    def started(_runtime: Runtime) -> None:
        ready.set()

    serving = asyncio.create_task(serve(settings, verifier=vendor.verifier(), started=started))
    await asyncio.wait_for(ready.wait(), 5)

    async with FakeAsterisk(port) as pbx:
        await pbx.send_header(script="hotline/support")
        assert await pbx.read_command() == "ANSWER"
        os.kill(os.getpid(), signal.SIGTERM)
        # the call goes on after the signal...
        await pbx.reply("200 result=0")
        assert (await pbx.read_command()).startswith("SET VARIABLE")
        assert not serving.done()
        # ...until the caller hangs up
        await pbx.send_hangup()
        await pbx.reply("200 result=1")
        assert (await pbx.read_command()).startswith("STREAM FILE")
        await pbx.reply(DEAD_CHANNEL_REPLY)
        await pbx.wait_closed()

    assert await asyncio.wait_for(serving, 5) == 0
    assert not port_open(port)
    (summary,) = captured_log.named("call_summary")
    assert summary["outcome"] == "abandoned"
    assert captured_log.named("stopping")[0]["active_calls"] == 1
