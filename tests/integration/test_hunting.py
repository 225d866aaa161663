"""Hunting with the agent board and parallel steps, through a real Asterisk.

The shipped ``[hotline-step]`` context rings a step's agents at once, one
Local channel each, and bridges exactly the agent who confirmed; a device made
busy with ``devstate change`` (func_devstate's ``Custom:`` devices) reaches the
runtime as AMI device state and its target is skipped, never dialled.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from hotline.ami.checks import run_startup_checks
from hotline.ami.messages import header_value
from tests.integration.conftest import Lab, phone_side, targets_of
from tests.integration.harness import bridged_agent, hotline_toml, write_config

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

QUICK_CONFIRM = {"timeout": 2.0, "replays": 0}


def config(tmp: Path, targets: list[dict[str, object]], hunt: str) -> Path:
    toml = hotline_toml(
        "support",
        "100",
        targets,
        confirm=QUICK_CONFIRM,
        pin="1234",
        dial="Local/{number}@sim-agents",
        ring_time=10,
    )
    # the hunt table goes before the targets' array of tables
    head, _, rest = toml.partition("[[hotlines.targets]]")
    return write_config(tmp / "hotline.toml", f"{head}{hunt}\n[[hotlines.targets]]{rest}")


async def test_startup_checks_find_the_shipped_step_context(lab: Lab) -> None:
    report = await run_startup_checks(
        lab.ami,
        hotlines=[],
        agi_base=f"agi://127.0.0.1:{lab.pbx.agi_port}",
        step_hotlines=["x"],
        device_hotlines=["x"],  # res_manager_devicestate (DeviceStateList) is loaded
    )
    assert report.errors == []
    assert report.warnings == []


async def test_parallel_step_bridges_exactly_the_confirming_agent(lab: Lab) -> None:
    targets: list[dict[str, object]] = [{"number": "202"}, {"number": "201"}]
    hunt = '[hotlines.hunt]\n[[hotlines.hunt.steps]]\ntargets = ["202", "201"]\n'
    path = config(lab.tmp, targets, hunt)
    await lab.start_runtime(path)
    call = await lab.hotline_call(path, "support", "--pin", "1234", "--expect", "connected")
    # Asterisk bridges the confirming agent's Local leg with the caller; 202, still
    # being asked, is told a colleague took the call once its round is over
    bridged = await lab.events.wait_for(bridged_agent("201"), 40, "bridge with 201")
    await lab.log.event("confirm_result", 20, target="202")
    await lab.hang_up(phone_side(header_value(bridged, "Channel")))

    code, _ = await call.finished(30)
    assert code == 0, call.output
    summary = await lab.summary(10)
    assert summary["outcome"] == "connected"
    assert summary["connected_to"] == "201"
    outcomes = dict(targets_of(summary))
    assert outcomes["201"] == "confirmed"
    # 202 (a silent voicemail-like agent) was asked at the same time and never bridged
    assert outcomes["202"] == "taken"
    assert not [
        e
        for e in lab.events.received
        if header_value(e, "Event") == "BridgeEnter"
        and header_value(e, "Channel").startswith("Local/202@sim-agents-")
    ]
    legs = [e for e in lab.log.named("target_dialing") if e.get("parallel")]
    assert sorted(e["number"] for e in legs) == ["201", "202"]
    verdicts = {e["target"]: e["result"] for e in lab.log.named("confirm_result")}
    assert verdicts["201"] == "ACCEPTED"
    assert verdicts["202"] == "TAKEN"


async def test_custom_device_made_busy_is_skipped(lab: Lab) -> None:
    targets: list[dict[str, object]] = [
        {"number": "201", "device": "Custom:agent201"},
        {"number": "202"},
    ]
    path = config(lab.tmp, targets, '[hotlines.hunt]\nstrategy = "linear"\n')
    lab.pbx.cli("devstate change Custom:agent201 INUSE")
    await lab.start_runtime(path)
    await lab.log.event("device_states_listed", 10)
    call = await lab.hotline_call(path, "support", "--pin", "1234")
    code, _ = await call.finished(60)
    assert code == 0, call.output
    summary = await lab.summary(10)
    assert targets_of(summary) == [("201", "skipped"), ("202", "not_confirmed")]
    (skipped,) = [e for e in lab.log.named("target_outcome") if e["outcome"] == "skipped"]
    assert skipped["reason"] == "device busy (INUSE)"
    assert not [
        e
        for e in lab.events.received
        if header_value(e, "Event") == "DialBegin"
        and header_value(e, "DestChannel").startswith("Local/201@sim-agents-")
    ]
    # free again: the DeviceStateChange event reaches the board, 201 takes the next call
    lab.pbx.cli("devstate change Custom:agent201 NOT_INUSE")
    await lab.log.event("device_state_changed", 10, device="Custom:agent201", state="NOT_INUSE")
    call = await lab.hotline_call(path, "support", "--pin", "1234", "--expect", "connected")
    bridged = await lab.events.wait_for(bridged_agent("201"), 40, "bridge with 201")
    await lab.hang_up(phone_side(header_value(bridged, "Channel")))
    code, _ = await call.finished(30)
    assert code == 0, call.output
    second = lab.log.named("call_summary")[-1]
    assert targets_of(second) == [("201", "confirmed")]


async def test_a_leg_still_ringing_is_ended_as_answered_elsewhere(lab: Lab) -> None:
    """200 rings for ever; when 201 (rung with it) confirms, 200's phone is hung up with
    cause 26, which phones show as "answered elsewhere" instead of a missed call."""
    targets: list[dict[str, object]] = [{"number": "200"}, {"number": "201"}]
    hunt = '[hotlines.hunt]\n[[hotlines.hunt.steps]]\ntargets = ["200", "201"]\n'
    path = config(lab.tmp, targets, hunt)
    await lab.start_runtime(path)
    call = await lab.hotline_call(path, "support", "--pin", "1234", "--expect", "connected")
    bridged = await lab.events.wait_for(bridged_agent("201"), 40, "bridge with 201")

    def ringing_leg_hung_up(message: Mapping[str, Any]) -> bool:
        return header_value(message, "Event") == "Hangup" and header_value(
            message, "Channel"
        ).startswith("Local/200@sim-agents-")

    hangup = await lab.events.wait_for(ringing_leg_hung_up, 10, "hangup of 200's leg")
    assert header_value(hangup, "Cause") == "26"
    await lab.hang_up(phone_side(header_value(bridged, "Channel")))
    code, _ = await call.finished(30)
    assert code == 0, call.output
    summary = await lab.summary(10)
    assert dict(targets_of(summary)) == {"200": "answered_elsewhere", "201": "confirmed"}
