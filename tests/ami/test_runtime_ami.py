"""``serve()`` with AMI over real sockets: refusals before the port opens, logs, outages."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import pytest

from hotline.ami.errors import AmiAuthError, StartupCheckError
from hotline.ami_wiring import client_from_settings
from hotline.calltest import CallRequest, CallTestError, place_call
from hotline.config import settings_from_mapping
from hotline.licensing.errors import WrongInstallationError
from hotline.runtime import serve
from hotline.sim.ami_server import AmiServer
from hotline.sim.ami_state import AmiSimState
from hotline.sim.caller import CallerScript
from tests.ami.stack import (
    ENTITY_ID,
    Installation,
    Vendor,
    config_data,
    fast_backoff,
    install,
    sim_state,
    start_serving,
)
from tests.conftest import CapturedLog
from tests.net import free_port, port_open


@pytest.fixture
async def pbx_port() -> int:
    return free_port()


@pytest.fixture
async def ami(pbx_port: int) -> AsyncIterator[AmiServer]:
    server = AmiServer(sim_state(pbx_port))
    await server.start()
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
async def installation() -> AsyncIterator[Installation]:
    inst = await install()
    try:
        yield inst
    finally:
        await inst.close()


async def test_wrong_credentials_end_serve_with_one_line_before_the_port_opens(
    ami: AmiServer, pbx_port: int
) -> None:
    vendor = Vendor.new()
    data = config_data(
        ami,
        pbx_port,
        module_key=vendor.key_for(entity_id=ENTITY_ID),
        asterisk={"secret": "not-the-secret"},
    )
    settings = settings_from_mapping(data)
    async with asyncio.timeout(5):  # a bound, not a speed claim
        with pytest.raises(AmiAuthError) as info:
            await serve(settings, verifier=vendor.verifier)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"AMI login as 'hotline' at 127.0.0.1:{ami.port} refused")
    assert "not-the-secret" not in message
    assert info.value.exit_code != 0
    assert ami.count("Login") == 1  # no retry loop behind the refusal
    assert not port_open(pbx_port)


Change = Callable[[AmiSimState], None]


def _no_confirm(state: AmiSimState) -> None:
    del state.dialplan["hotline-confirm"]


def _no_dial(state: AmiSimState) -> None:
    state.modules.discard("app_dial")


def _old(state: AmiSimState) -> None:
    state.asterisk_version = "16.30.1"


@pytest.mark.parametrize(
    ("change", "line_start"),
    [
        (
            _no_confirm,
            "dialplan context [hotline-confirm] (the agent confirm subroutine) is missing",
        ),
        (
            _no_dial,
            "Asterisk module app_dial.so is not loaded (needed for Dial() to ring the agents)",
        ),
        (_old, "Asterisk 16.30.1 is too old: hotline needs Asterisk 18.0 or newer"),
    ],
    ids=["missing-confirm-context", "missing-module", "too-old"],
)
async def test_failed_startup_check_refuses_with_its_one_line(
    ami: AmiServer, pbx_port: int, change: Change, line_start: str, captured_log: CapturedLog
) -> None:
    change(ami.state)
    vendor = Vendor.new()
    settings = settings_from_mapping(
        config_data(ami, pbx_port, module_key=vendor.key_for(entity_id=ENTITY_ID))
    )
    with pytest.raises(StartupCheckError) as info:
        await serve(settings, verifier=vendor.verifier)
    (line,) = info.value.problems
    assert line.startswith(line_start), line
    assert "\n" not in line
    assert info.value.exit_code == 2
    assert not port_open(pbx_port)
    assert ami.session_count == 0  # AMI was closed on the way out
    assert [e["problem"] for e in captured_log.named("startup_check_failed")] == [line]


async def test_unreachable_asterisk_refuses_with_one_line(pbx_port: int) -> None:
    dead = AmiServer()
    await dead.start()
    await dead.kill()  # a port where nothing listens any more
    vendor = Vendor.new()
    settings = settings_from_mapping(
        config_data(dead, pbx_port, module_key=vendor.key_for(entity_id=ENTITY_ID))
    )
    with pytest.raises(StartupCheckError) as info:
        await serve(settings, verifier=vendor.verifier)
    (line,) = info.value.problems
    assert line.startswith(f"Asterisk AMI at 127.0.0.1:{dead.port} is not reachable")
    assert not port_open(pbx_port)


async def test_untested_version_only_warns(
    ami: AmiServer, pbx_port: int, captured_log: CapturedLog
) -> None:
    ami.state.asterisk_version = "19.8.0"
    vendor = Vendor.new()
    settings = settings_from_mapping(
        config_data(ami, pbx_port, module_key=vendor.key_for(entity_id=ENTITY_ID))
    )
    serving = await start_serving(settings, vendor.verifier)
    assert port_open(pbx_port)
    assert await serving.shutdown() == 0
    (warning,) = captured_log.named("startup_check_warning")
    assert warning["problem"].startswith("Asterisk 19.8.0 is a version hotline was not tested on")


async def test_license_checked_against_the_server_key_kept_on_the_pbx(
    ami: AmiServer, pbx_port: int
) -> None:
    ami.state.globals["HOTLINE_SERVER_KEY"] = "PBX-KEY-4242"
    vendor = Vendor.new()
    settings = settings_from_mapping(
        config_data(ami, pbx_port, module_key=vendor.key_for(server_key="PBX-KEY-4242"))
    )
    serving = await start_serving(settings, vendor.verifier)
    assert await serving.shutdown() == 0
    assert ami.count("Getvar", Variable="HOTLINE_SERVER_KEY") == 1


async def test_configured_server_key_wins_over_the_pbx(ami: AmiServer, pbx_port: int) -> None:
    ami.state.globals["HOTLINE_SERVER_KEY"] = "PBX-KEY-4242"
    vendor = Vendor.new()
    data = config_data(
        ami,
        pbx_port,
        module_key=vendor.key_for(server_key="PBX-KEY-4242"),
        license={"server_key": "CONFIGURED-KEY-1"},
    )
    with pytest.raises(WrongInstallationError):
        await serve(settings_from_mapping(data), verifier=vendor.verifier)
    assert ami.count("Getvar") == 0  # not even read
    assert not port_open(pbx_port)
    assert ami.session_count == 0  # AMI closed on the way out


def _outcomes(log: CapturedLog, call_id: str) -> list[dict[str, Any]]:
    return [e for e in log.named("target_outcome") if e.get("call_id") == call_id]


async def test_target_outcomes_carry_the_hangup_cause_when_ami_is_up(
    installation: Installation, captured_log: CapturedLog
) -> None:
    record = await installation.pbx.place_call(
        CallerScript("support", pin_entries=["4711#"], extension="100")
    )
    assert record.bridged_to == "203"
    lines = _outcomes(captured_log, record.uniqueid)
    assert [line["outcome"] for line in lines] == ["no_answer", "not_confirmed", "confirmed"]
    for line in lines:
        assert isinstance(line["hangup_cause"], int), line
        assert line["hangup_cause_txt"]
        assert "ring_time" in line
    assert [line["ami_dial_status"] for line in lines] == ["NOANSWER", "CONTINUE", "ANSWER"]
    assert lines[2]["talk_time"] >= 0
    assert not captured_log.holds_digits("4711")


async def test_shutdown_logs_off_from_ami(installation: Installation) -> None:
    assert installation.ami.session_count == 1
    assert await installation.serving.shutdown() == 0
    assert installation.ami.count("Logoff") == 1
    assert not installation.serving.ami.connected


class Outage:
    """An event sink that kills AMI at the first DialBegin and brings it back at the second.

    The simulator waits for its sink, so the outage happens exactly there.
    """

    def __init__(self, inst: Installation, clients: list[Any]) -> None:
        self.inst = inst
        self.clients = clients
        self.forward = inst.pbx.event_sink
        self.dial_begins = 0

    async def __call__(self, event: Mapping[str, str]) -> None:
        if event.get("Event") == "DialBegin":
            self.dial_begins += 1
            if self.dial_begins == 1:
                await self.inst.ami.kill()
            elif self.dial_begins == 2:
                await self.inst.ami.restart()
                for client in self.clients:
                    await client.wait_connected(timeout=10)
        assert self.forward is not None
        await self.forward(dict(event))


async def test_ami_outage_mid_call_loses_no_call_and_sends_no_originate_twice(
    installation: Installation, captured_log: CapturedLog
) -> None:
    inst = installation
    caller_ami = client_from_settings(inst.settings.asterisk, backoff=fast_backoff())
    await caller_ami.start()
    runtime_ami = inst.serving.ami
    inst.pbx.event_sink = Outage(inst, [runtime_ami, caller_ami])
    try:
        # the test call is placed through AMI Originate, as `hotline call` does
        with pytest.raises(CallTestError, match="AMI connection lost while following call"):
            await place_call(
                inst.settings,
                CallRequest("support", pin="4711"),
                out=io.StringIO(),
                client=caller_ami,
            )
        await inst.originator.wait_idle()
        (record,) = inst.originator.records
        assert record.bridged_to == "203"  # the call went on over FastAGI
        assert inst.originator.errors == []
        (summary,) = [
            e for e in captured_log.named("call_summary") if e["call_id"] == record.uniqueid
        ]
        assert summary["outcome"] == "connected"
        lines = _outcomes(captured_log, record.uniqueid)
        assert [line["outcome"] for line in lines] == ["no_answer", "not_confirmed", "confirmed"]
        assert "hangup_cause" not in lines[0]  # AMI was down: what FastAGI knows
        assert lines[0]["dialstatus"] == "NOANSWER"
        assert all("hangup_cause" in line for line in lines[1:])  # back up: enriched again
        assert runtime_ami.sessions_opened == 2  # reconnected
        assert caller_ami.connected
        await caller_ami.action("Ping")  # both sessions are usable again...
        await runtime_ami.action("Ping")
        assert inst.ami.count("Originate") == 1  # ...and nothing was sent twice
        assert captured_log.named("ami_disconnected")
    finally:
        await caller_ami.close()


async def test_a_caller_leaving_during_the_confirm_reaches_the_runtime_over_ami(
    installation: Installation, captured_log: CapturedLog
) -> None:
    """The simulator tells AMI of the caller's hang-up when it happens, during the confirm
    of voicemail-like agent 202 (tests/ami/recordings/20_*.raw); the runtime marks the
    caller gone and tells the agent.  (Whether a stop of the agent's prompt goes out
    depends on which socket the runtime reads first: the AMI event, or the leg's own
    checkhangup answer.)"""
    record = await installation.pbx.place_call(
        CallerScript(
            "support",
            pin_entries=["4711#"],
            extension="100",
            hangup_during=("confirm", 1),
            hangup_after=3.0,
        )
    )
    assert record.bridged_to is None
    seen = captured_log.named("caller_hangup_seen")
    assert [e["call_id"] for e in seen] == [record.uniqueid]
    (leg,) = [leg for leg in record.agent_legs if leg.hotline_confirm]
    assert leg.hotline_confirm == "CALLER_GONE"
    summary = [e for e in captured_log.named("call_summary") if e["call_id"] == record.uniqueid]
    assert (summary[0]["outcome"], summary[0]["step"]) == ("abandoned", "confirm")
