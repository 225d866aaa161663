"""The simulator fails over between FastAGI servers as res_agi.c's ``hagi://`` does.

``launch_ha_netscript`` tries the SRV targets in order; ``launch_netscript`` counts a
connection as made once the header's first line (``agi_network: yes``) was sent, so a
server whose kernel completed the handshake and then reset the connection (the process
was killed with the connection in its listen backlog) is failed over too.
"""

from __future__ import annotations

import socket

import pytest

from hotline.agi.server import FastAgiServer
from hotline.agi.session import AgiSession
from hotline.agi.testing import FakeAsterisk
from hotline.sim.caller import CallerScript
from hotline.sim.pbx import SimulatedPbx


async def test_a_server_reset_after_the_handshake_is_failed_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served: list[str] = []

    async def hotline(session: AgiSession) -> None:
        served.append(session.request.uniqueid)
        await session.answer()

    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead.listen(8)  # never accepts: the handshake completes in the kernel's backlog
    dead_port = dead.getsockname()[1]
    connect = FakeAsterisk.connect

    async def connect_then_die(self: FakeAsterisk) -> FakeAsterisk:
        await connect(self)
        if self.port == dead_port:
            dead.close()  # what SIGKILL does to a listener: its backlog is reset
        return self

    monkeypatch.setattr(FakeAsterisk, "connect", connect_then_die)
    try:
        async with FastAgiServer({"hotline/sales": hotline}, port=0) as server:
            port = server.port
            pbx = SimulatedPbx(
                "127.0.0.1", dead_port, agi_servers=[("127.0.0.1", dead_port), ("127.0.0.1", port)]
            )
            record = await pbx.place_call(CallerScript("sales"))
    finally:
        dead.close()
    assert record.agi_servers == [("caller", port)]
    assert served == [record.uniqueid]
    assert record.error is None
    assert any(f"127.0.0.1:{dead_port} not reached" in text for _at, text in record.timeline)
