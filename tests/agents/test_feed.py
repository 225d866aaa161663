"""The board's PBX view over a real AMI socket: listed at login, kept by events, untrusted
while AMI is down, listed again after the reconnect (the simulated Asterisk plays AMI)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hotline.agents.board import AgentBoard
from hotline.agents.devices import DeviceState
from hotline.agents.feed import DeviceStateFeed
from hotline.ami.client import AmiClient
from hotline.sim.ami_server import AmiServer
from hotline.sim.ami_state import AmiSimState
from hotline.sim.caller import CallerScript
from tests.ami.stack import fast_backoff, install
from tests.conftest import CapturedLog

pytestmark = pytest.mark.timeout(20)


@pytest.fixture
async def ami() -> AsyncIterator[AmiServer]:
    state = AmiSimState(
        device_states={"PJSIP/201": "INUSE", "Custom:agent202": "NOT_INUSE", "PJSIP/999": "BUSY"}
    )
    server = AmiServer(state)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
async def client(ami: AmiServer) -> AsyncIterator[AmiClient]:
    amic = AmiClient(
        host=ami.host,
        port=ami.port,
        username=ami.state.username,
        secret=ami.state.secret,
        backoff=fast_backoff(),
    )
    try:
        yield amic
    finally:
        await amic.close()


def watched_board() -> AgentBoard:
    board = AgentBoard()
    board.watch({"PJSIP/201": "PJSIP/201", "Custom:agent202": "Custom:agent202"})
    return board


async def test_listed_at_login_then_kept_by_events(ami: AmiServer, client: AmiClient) -> None:
    board = watched_board()
    feed = DeviceStateFeed(board, client)
    feed.attach()
    changed = asyncio.Event()
    client.on_event("DeviceStateChange", lambda _m: changed.set())  # after the feed's
    await client.start()
    await feed.listed.wait()
    assert board.device_state("PJSIP/201") is DeviceState.INUSE
    assert board.device_state("Custom:agent202") is DeviceState.NOT_INUSE
    assert board.sizes()["devices"] == 2  # PJSIP/999 is nobody's device
    await ami.set_device_state("Custom:agent202", "UNAVAILABLE")
    await changed.wait()
    assert board.device_state("Custom:agent202") is DeviceState.UNAVAILABLE
    await feed.close()


async def test_untrusted_while_ami_is_down_and_listed_again_after(
    ami: AmiServer, client: AmiClient
) -> None:
    board = watched_board()
    feed = DeviceStateFeed(board, client)
    feed.attach()
    down = asyncio.Event()
    client.on_connection(lambda up: None if up else down.set())
    await client.start()
    await feed.listed.wait()
    await ami.kill()
    await down.wait()
    # stale: nothing is skipped for device state while AMI is away
    assert not board.pbx_trusted
    assert board.device_state("PJSIP/201") is None
    ami.state.device_states["PJSIP/201"] = "NOT_INUSE"  # changed while nobody listened
    await ami.restart()
    await feed.listed.wait()
    assert board.device_state("PJSIP/201") is DeviceState.NOT_INUSE
    assert feed.lists == 2
    assert ami.count("DeviceStateList") == 2
    await feed.close()


async def test_a_pbx_without_device_state_list_leaves_the_board_untrusted(
    ami: AmiServer, client: AmiClient, captured_log: CapturedLog
) -> None:
    ami.state.modules.discard("res_manager_devicestate")
    board = watched_board()
    feed = DeviceStateFeed(board, client)
    feed.attach()
    await client.start()
    await ami.wait_until(lambda: ami.count("DeviceStateList") == 1)
    await feed.wait_idle()
    assert not board.pbx_trusted
    assert board.device_state("PJSIP/201") is None
    (warning,) = captured_log.named("device_states_unavailable")
    assert "Invalid/unknown command: DeviceStateList" in warning["error"]


async def test_busy_device_is_skipped_through_the_whole_stack(captured_log: CapturedLog) -> None:
    """serve() with AMI, the simulated PBX placing the calls: AMI's busy state reaches the
    hunt; with AMI down nothing is skipped for device state and calls still go through."""
    targets = [{"number": "201", "device": "PJSIP/201"}, {"number": "203"}]
    inst = await install("201=accept,203=accept", targets=targets)
    try:
        changed = asyncio.Event()
        inst.serving.ami.on_event("DeviceStateChange", lambda _m: changed.set())
        await inst.ami.set_device_state("PJSIP/201", "INUSE")
        await changed.wait()
        record = await inst.pbx.place_call(
            CallerScript("support", pin_entries=["4711#"], extension="100")
        )
        # AMI goes away: 201's INUSE may be stale, so 201 is dialled again and the call goes on
        down = asyncio.Event()
        inst.serving.ami.on_connection(lambda up: None if up else down.set())
        await inst.ami.kill()
        await down.wait()
        without_ami = await inst.pbx.place_call(
            CallerScript("support", pin_entries=["4711#"], extension="100")
        )
    finally:
        await inst.close()
    assert without_ami.bridged_to == "201"
    assert record.bridged_to == "203"
    assert [leg.agent for leg in record.agent_legs] == ["203"]
    outcomes = [
        (e["number"], e["outcome"], e.get("reason"))
        for e in captured_log.named("target_outcome")
        if e["call_id"] == record.uniqueid
    ]
    assert outcomes == [("201", "skipped", "device busy (INUSE)"), ("203", "confirmed", None)]
