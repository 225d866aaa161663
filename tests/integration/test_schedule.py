"""Schedules and reloads through a real Asterisk (shipped dialplan).

The runtime runs on the wall clock here, so the opening hours are chosen around
the moment the test runs: open for one hour starting two hours from now (UTC),
hence closed now.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hotline.ami.messages import header_value
from hotline.reload import reload_from_file
from tests.integration.conftest import Lab, phone_side, targets_of
from tests.integration.harness import bridged_agent, dial_begin, hotline_toml, write_config
from tests.integration.test_calls import assert_hotline_ended

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def closed_now(tmp: Path, closed: str = "") -> Path:
    start = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    end = start + dt.timedelta(hours=1)
    toml = hotline_toml(
        "support",
        "100",
        [{"number": "201"}],
        pin="1234",
        dial="Local/{number}@sim-agents",
        ring_time=10,
    )
    toml += (
        "[hotlines.schedule]\n"
        'timezone = "UTC"\n'
        f'open = ["daily {start:%H:%M}-{end:%H:%M}"]\n'
        f"{closed}"
    )
    return write_config(tmp / "hotline.toml", toml)


async def test_closed_call_hears_closed_and_is_hung_up(lab: Lab) -> None:
    config = closed_now(lab.tmp)
    await lab.start_runtime(config)
    call = await lab.hotline_call(config, "support", "--pin", "1234")

    summary = await lab.summary(30)
    assert summary["outcome"] == "closed"
    assert summary["schedule"] == "outside opening hours"
    assert summary["targets"] == []
    assert summary["hung_up_by"] == "runtime"
    (played,) = lab.log.named("prompt_played")
    assert played["slot"] == "closed"
    assert not lab.log.named("pin_prompted")  # closed: no PIN asked
    # hotline call reads the same schedule: closed, whichever side's Hangup came first
    assert await call.finished(20) == (0, "closed"), call.output
    assert "no target was dialled" in call.output


async def test_closed_call_goes_to_the_closed_destination(lab: Lab) -> None:
    destination = (
        '[hotlines.schedule.closed]\ncontext = "hotline-fallback"\nextension = "support"\n'
    )
    config = closed_now(lab.tmp, destination)
    await lab.start_runtime(config)
    call = await lab.hotline_call(config, "support")

    summary = await lab.summary(30)
    assert summary["outcome"] == "closed"
    assert lab.log.named("closed_destination_taken")
    # the runtime handed the call back to the dialplan: [hotline-fallback] runs VoiceMail
    leg = lab.caller_leg()
    line = await lab.wait_for_application(leg, "VoiceMail", 10)
    assert line.split("!")[1:3] == ["hotline-fallback", "support"]
    await lab.hang_up(phone_side(leg))
    assert await call.finished(20) == (0, "closed"), call.output


async def test_a_reload_during_a_call_leaves_it_on_its_config(lab: Lab) -> None:
    """Through a real Asterisk: the call ringing 200 when the targets change still goes on
    to 201 (its config) and is connected; the next call hunts the new list."""
    path = lab.tmp / "hotline.toml"
    old = hotline_toml(
        "support",
        "100",
        [{"number": "200", "ring_time": 4}, {"number": "201"}],
        dial="Local/{number}@sim-agents",
        confirm={"timeout": 2.0, "replays": 0},
    )
    write_config(path, old)
    runtime = await lab.start_runtime(path)
    call = await lab.hotline_call(path, "support", "--expect", "connected")
    await lab.events.wait_for(dial_begin("200"), 30, "DialBegin to agent 200")
    write_config(
        path,
        old.replace('number = "200"', 'number = "203"', 1).replace(
            'number = "201"', 'number = "205"', 1
        ),
    )
    result = await reload_from_file(runtime, path, lab.env)
    assert result.ok, result.lines
    bridged = await lab.events.wait_for(bridged_agent("201"), 40, "bridge with 201")
    await lab.hang_up(phone_side(header_value(bridged, "Channel")))
    assert await call.finished(20) == (0, "connected"), call.output
    first = await lab.summary(5)
    assert first["outcome"] == "connected"
    assert targets_of(first) == [("200", "no_answer"), ("201", "confirmed")]

    second = await lab.hotline_call(path, "support")
    assert_hotline_ended(await second.finished(60), "nobody_available", second.output)
    summaries = lab.log.named("call_summary")
    assert len(summaries) == 2
    # 203 is busy, 205 declines: the new list, and nobody takes the call
    assert targets_of(summaries[-1]) == [("203", "busy"), ("205", "declined")]
