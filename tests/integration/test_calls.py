"""Calls through a real Asterisk running the shipped docker/asterisk/etc, served by the runtime.

Each scenario of the call flow that Local channels can express is placed the
way a tester does it, with ``hotline call`` (a scripted ``[sim-caller]`` dials
the hotline number in ``[hotline-in]``); the runtime hunts the scripted agents
of ``[sim-agents]``.  The outcome is asserted twice: from the runtime's
``call_summary`` log line and from what ``hotline call`` printed (AMI events
only).  Only the targets, ring times and confirm timeouts differ from
config/hotline.toml, to keep each call short; one test runs the example config
exactly as shipped.  Where the test must act at a given point (hang up while an
agent rings, once a call is bridged), it waits for the AMI event of that point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from hotline.ami.checks import HotlineEntry, run_startup_checks
from hotline.ami.messages import header_value
from tests.integration.conftest import Lab, phone_side, targets_of
from tests.integration.harness import bridged_agent, dial_begin, hotline_toml, write_config
from tests.integration.pbx import REPO

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

#: the confirm settings of the test hotlines: one short round, no replay
QUICK_CONFIRM = {"timeout": 2.0, "replays": 0}
FALLBACK = {"context": "hotline-fallback", "extension": "support", "priority": 1}


def support(
    tmp: Path,
    targets: Sequence[Mapping[str, object]],
    *,
    fallback: Mapping[str, object] | None = None,
) -> Path:
    """The shipped dialplan's hotline 100 ("support", PIN 1234) with the given targets."""
    toml = hotline_toml(
        "support",
        "100",
        targets,
        confirm=QUICK_CONFIRM,
        fallback=fallback,
        pin="1234",
        pin_attempts=2,
        pin_timeout=4.0,
        dial="Local/{number}@sim-agents",
        ring_time=10,
    )
    return write_config(tmp / "hotline.toml", toml)


async def test_startup_checks_accept_the_shipped_dialplan(lab: Lab) -> None:
    settings = lab.load(REPO / "config" / "hotline.toml")
    report = await run_startup_checks(
        lab.ami,
        hotlines=[
            HotlineEntry(h.name, h.context, h.extension or "", h.moh_class)
            for h in settings.hotlines
        ],
        agi_base=f"agi://127.0.0.1:{lab.pbx.agi_port}",
    )
    assert report.errors == []
    assert report.warnings == []
    assert report.version is not None


async def test_license_is_bound_to_the_pbx_server_key(lab: Lab) -> None:
    """The runtime reads the server key from the PBX's global (compose's HOTLINE_SERVER_KEY)."""
    await lab.start_runtime(support(lab.tmp, [{"number": "201"}]))
    checked = await lab.log.event("pbx_checked", 5)
    assert checked["server_key_on_pbx"] is True
    assert lab.log.named("license_valid")


def assert_hotline_ended(result: tuple[int, str], expected: str, output: str) -> None:
    """``hotline call``'s verdict on a call that the hotline (not the caller) hung up.

    It reads who ended the call from the hang-up requests on the caller's
    channel (the runtime's ``HANGUP`` is a ``SoftHangupRequest``), so the
    order of the two Local halves' ``Hangup`` events, which Asterisk 22 emits
    either way round, no longer matters.
    """
    assert result == (0, expected), output


async def agent_hangs_up_once_bridged(lab: Lab, number: str, within: float) -> None:
    """Wait until agent ``number`` is bridged with the caller, then hang up the agent's phone."""
    bridged = await lab.events.wait_for(bridged_agent(number), within, f"bridge with {number}")
    await lab.hang_up(phone_side(header_value(bridged, "Channel")))


async def test_agent_accepts(lab: Lab) -> None:
    config = support(lab.tmp, [{"number": "201", "label": "Ben"}])
    await lab.start_runtime(config)
    call = await lab.hotline_call(config, "support", "--pin", "1234", "--expect", "connected")
    await agent_hangs_up_once_bridged(lab, "201", 40)

    assert await call.finished(20) == (0, "connected"), call.output
    summary = await lab.summary(5)
    assert summary["outcome"] == "connected"
    assert summary["connected_to"] == "201"
    assert summary["hung_up_by"] == "agent"
    assert summary["talk_seconds"] >= 0
    assert targets_of(summary) == [("201", "confirmed")]
    assert lab.log.named("pin_accepted")


async def test_caller_hangs_up_in_the_bridge(lab: Lab) -> None:
    config = support(lab.tmp, [{"number": "201", "label": "Ben"}])
    await lab.start_runtime(config)
    call = await lab.hotline_call(config, "support", "--pin", "1234", "--expect", "connected")
    await lab.events.wait_for(bridged_agent("201"), 40, "bridge with 201")
    await lab.hang_up(phone_side(lab.caller_leg()))

    assert await call.finished(20) == (0, "connected"), call.output
    summary = await lab.summary(5)
    assert summary["outcome"] == "connected"
    assert summary["hung_up_by"] == "caller"
    assert targets_of(summary) == [("201", "confirmed")]
    assert not lab.log.named("confirm_subroutine_gave_no_verdict")


async def test_voicemail_is_skipped_then_agent_accepts(lab: Lab) -> None:
    targets = [{"number": "202", "label": "voicemail"}, {"number": "201", "label": "Ben"}]
    config = support(lab.tmp, targets)
    await lab.start_runtime(config)
    call = await lab.hotline_call(config, "support", "--pin", "1234", "--expect", "connected")
    await agent_hangs_up_once_bridged(lab, "201", 60)

    assert await call.finished(20) == (0, "connected"), call.output
    summary = await lab.summary(5)
    assert summary["outcome"] == "connected"
    assert summary["connected_to"] == "201"
    assert targets_of(summary) == [("202", "not_confirmed"), ("201", "confirmed")]
    assert any(e.get("result") == "TIMEOUT" for e in lab.log.named("confirm_result"))


async def test_busy_agent_then_nobody(lab: Lab) -> None:
    config = support(lab.tmp, [{"number": "203", "label": "busy"}])
    await lab.start_runtime(config)
    call = await lab.hotline_call(config, "support", "--pin", "1234")

    assert_hotline_ended(await call.finished(40), "nobody_available", call.output)
    summary = await lab.summary(5)
    assert summary["outcome"] == "nobody_available"
    assert targets_of(summary) == [("203", "busy")]
    assert summary["hung_up_by"] == "runtime"


async def test_nobody_answers_then_voicemail_fallback(lab: Lab) -> None:
    config = support(lab.tmp, [{"number": "200", "ring_time": 2}], fallback=FALLBACK)
    await lab.start_runtime(config)
    call = await lab.hotline_call(config, "support", "--pin", "1234", "--expect", "fallback")

    summary = await lab.summary(40)
    assert summary["outcome"] == "fallback"
    assert targets_of(summary) == [("200", "no_answer")]
    # the runtime handed the call back to the dialplan: [hotline-fallback] runs VoiceMail
    leg = lab.caller_leg()
    line = await lab.wait_for_application(leg, "VoiceMail", 10)
    assert line.split("!")[1:3] == ["hotline-fallback", "support"]
    await lab.hang_up(phone_side(leg))  # the caller leaves no message
    assert await call.finished(20) == (0, "fallback"), call.output


async def test_wrong_pin(lab: Lab) -> None:
    config = support(lab.tmp, [{"number": "201"}])
    await lab.start_runtime(config)
    call = await lab.hotline_call(config, "support", "--pin", "9999")

    assert_hotline_ended(await call.finished(40), "pin_failed", call.output)
    summary = await lab.summary(5)
    assert summary["outcome"] == "pin_failed"
    assert summary["targets"] == []
    rejected = lab.log.named("pin_rejected")
    assert [e["reason"] for e in rejected] == ["wrong", "no input"]


async def test_caller_hangs_up_while_agent_rings(lab: Lab) -> None:
    config = support(lab.tmp, [{"number": "200", "ring_time": 30}])
    await lab.start_runtime(config)
    call = await lab.hotline_call(config, "support", "--pin", "1234", "--expect", "abandoned")
    ringing = await lab.events.wait_for(dial_begin("200"), 30, "DialBegin to agent 200")
    await lab.hang_up(phone_side(header_value(ringing, "Channel")))

    assert await call.finished(20) == (0, "abandoned"), call.output
    summary = await lab.summary(5)
    assert summary["outcome"] == "abandoned"
    assert summary["step"] == "ringing"
    assert targets_of(summary) == [("200", "caller_gone")]


async def test_example_config_billing_busy_then_accept(lab: Lab) -> None:
    """config/hotline.toml as shipped: billing (101, German, no PIN) hunts 203 (busy), 201."""
    config = REPO / "config" / "hotline.toml"
    await lab.start_runtime(config)
    call = await lab.hotline_call(config, "billing", "--expect", "connected")
    await agent_hangs_up_once_bridged(lab, "201", 60)

    assert await call.finished(20) == (0, "connected"), call.output
    summary = await lab.summary(5)
    assert summary["outcome"] == "connected"
    assert targets_of(summary) == [("203", "busy"), ("201", "confirmed")]


async def test_example_config_billing_nobody_when_agent_is_away(lab: Lab) -> None:
    """The tester's way to "nobody available": send 201 away for one call (AGENTS_AWAY)."""
    config = REPO / "config" / "hotline.toml"
    await lab.start_runtime(config)
    call = await lab.hotline_call(config, "billing", "--var", "__AGENTS_AWAY=201")

    assert_hotline_ended(await call.finished(60), "nobody_available", call.output)
    summary = await lab.summary(5)
    assert summary["outcome"] == "nobody_available"
    assert targets_of(summary) == [("203", "busy"), ("201", "no_answer")]


async def test_runtime_unreachable_plays_the_dialplan_fallback(lab: Lab) -> None:
    """No runtime listening: AGI() fails and [hotline-in] goes on to its own message."""
    config = support(lab.tmp, [{"number": "201"}])
    call = await lab.hotline_call(config, "support", "--pin", "1234")

    # AMI alone cannot tell this from a wrong PIN
    assert_hotline_ended(await call.finished(30), "pin_failed", call.output)
    assert "no target was dialled" in call.output
    full_log = lab.pbx.full_log.read_text(encoding="utf-8", errors="replace")
    assert "hotline runtime did not take the call: AGISTATUS=FAILURE" in full_log
    assert '"ss-noservice")' in full_log
