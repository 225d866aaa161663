"""The agent's confirm leg on a real Asterisk: a caller who leaves, an agent who is quick.

Agent 201 of the shipped ``[sim-agents]`` answers at once and presses 1 two
seconds later.  Two things an agent meets every day:

* the caller hangs up while the agent is being asked: the agent is never
  bridged, hears the caller-gone prompt within moments (AMI ``HangupRequest``
  reaches the runtime, which stops the agent's prompt), and the call is
  ``abandoned`` at step ``confirm``;
* the agent presses 1 while the caller's number is still being read out: that
  is the answer, and the call is connected without "press 1" ever playing.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hotline.ami.messages import header_value
from tests.integration.conftest import Lab, phone_side, targets_of
from tests.integration.harness import bridged_agent, dial_begin, hotline_toml, write_config

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def hotline_201(tmp: Path, *, announce: bool, timeout: float = 10.0) -> Path:
    """Hotline 101 ("billing", no PIN) with agent 201 as its only target."""
    toml = hotline_toml(
        "billing",
        "101",
        [{"number": "201"}],
        confirm={"timeout": timeout, "replays": 0, "announce_caller": announce},
        dial="Local/{number}@sim-agents",
        ring_time=10,
    )
    return write_config(tmp / "hotline.toml", toml)


async def test_caller_leaving_during_the_confirm_is_never_bridged(lab: Lab) -> None:
    await lab.start_runtime(hotline_201(lab.tmp, announce=False))
    call = await lab.hotline_call(
        hotline_201(lab.tmp, announce=False), "billing", "--expect", "abandoned"
    )
    # the agent is being asked ("press 1" is playing): the caller's phone hangs up
    await lab.log.event("confirm_asking", 30)
    left = time.monotonic()
    await lab.hang_up(phone_side(lab.caller_leg()))

    await lab.log.event("confirm_caller_gone", 5)
    told_after = time.monotonic() - left
    summary = await lab.summary(5)
    summary_after = time.monotonic() - left
    assert await call.finished(20) == (0, "abandoned"), call.output
    # agent 201 pressed 1 two seconds into the confirm, after the caller had left
    assert not lab.log.named("confirm_accepted")
    assert not [m for m in lab.events.received if bridged_agent("201")(m)]
    assert (summary["outcome"], summary["step"]) == ("abandoned", "confirm")
    assert targets_of(summary) == [("201", "caller_gone")]
    (result,) = lab.log.named("confirm_result")
    assert result["result"] == "CALLER_GONE"
    # AMI told the runtime at once and it stopped the agent's prompt
    assert lab.log.named("caller_hangup_seen")
    assert told_after < 1.0, told_after
    # the record is written when AMI tells, before the agent's leg ends (and so before
    # Dial returns, 1.75 s of caller-gone prompt later): hotline/flow/leaving.py
    names = [e["event"] for e in lab.log.events if e.get("call_id") == summary["call_id"]]
    assert names.index("call_summary") < names.index("confirm_result")
    assert summary_after < 1.0, summary_after


async def test_agent_pressing_1_during_the_caller_number_is_connected(lab: Lab) -> None:
    config = hotline_201(lab.tmp, announce=True)
    await lab.start_runtime(config)
    call = await lab.hotline_call(
        config, "billing", "--caller-id", "5550001234", "--expect", "connected"
    )
    bridged = await lab.events.wait_for(bridged_agent("201"), 40, "bridge with 201")
    await lab.hang_up(phone_side(lab.caller_leg()))
    assert bridged

    assert await call.finished(20) == (0, "connected"), call.output
    summary = await lab.summary(5)
    assert summary["outcome"] == "connected"
    assert targets_of(summary) == [("201", "confirmed")]
    (accepted,) = lab.log.named("confirm_accepted")
    # 201 pressed 1 two seconds in, while the digits were read: "press 1" never played
    assert accepted["during"].startswith("digits/"), accepted


async def test_sigterm_drains_a_call_whose_agent_is_being_dialled(lab: Lab) -> None:
    """Issue 11 item 4 on a real Asterisk: SIGTERM while agent 201 is dialled; its confirm
    leg connects during the drain, is served, and the call is connected; a new call is
    refused (the dialplan's fallback plays); the runtime exits when the call has ended."""
    config = hotline_201(lab.tmp, announce=False)
    await lab.start_runtime(config)
    call = await lab.hotline_call(config, "billing", "--expect", "connected")
    await lab.events.wait_for(dial_begin("201"), 30, "DialBegin to agent 201")
    lab.sigterm()
    await lab.log.event("agi_draining", 5)
    late = await lab.hotline_call(config, "billing")
    await lab.log.event("call_refused", 30)
    bridged = await lab.events.wait_for(bridged_agent("201"), 30, "bridge with 201")
    await lab.hang_up(phone_side(header_value(bridged, "Channel")))

    assert await call.finished(20) == (0, "connected"), call.output
    await late.finished(30)
    assert await lab.runtime_exited(20) == 0
    summary = await lab.summary(5)
    assert summary["outcome"] == "connected"
    assert targets_of(summary) == [("201", "confirmed")]
    (refused,) = lab.log.named("call_refused")
    assert refused["route"] == "hotline/billing"
    assert "draining" in refused["reason"]
    assert not lab.log.named("target_failed")
    full_log = lab.pbx.full_log.read_text(encoding="utf-8", errors="replace")
    assert "hotline runtime did not take the call" in full_log
