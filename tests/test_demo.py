"""``hotline demo`` on the example config: every scripted outcome, exit 0."""

from __future__ import annotations

import datetime as dt
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hotline import demo
from hotline.cli import main

EXAMPLE = str(Path(__file__).parents[1] / "config" / "hotline.toml")


#: a Wednesday when the example's support hotline is open on its weekly hours (day shift)
WEDNESDAY_10_BERLIN = dt.datetime(2026, 12, 2, 10, tzinfo=ZoneInfo("Europe/Berlin"))


def test_demo_plays_each_outcome(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the calls are planned at a fixed moment (default_calls' now), not the wall clock's:
    # from Tue 2026-12-22 20:00 to Wed 12:00 Berlin support's next opening is the example's
    # special day (rule="special 2026-12-23 ..."), seen with faketime at 2026-12-23 08:00 UTC
    monkeypatch.setattr(demo, "default_calls", partial(demo.default_calls, now=WEDNESDAY_10_BERLIN))
    assert main(["demo", "--config", EXAMPLE]) == 0
    out = capsys.readouterr().out
    outcomes = [line.split()[1] for line in out.splitlines() if line.startswith("   outcome:")]
    assert outcomes == [
        "connected",
        "pin_failed",
        "fallback",
        "abandoned",
        "connected",
        *["connected"] * 4,  # sales: round robin over its three steps, then a busy agent
        "closed",
    ]
    # the simulator also plays AMI: startup checks pass and dial events enrich the log
    assert "startup checks over AMI: 0 errors" in out
    # a busy target's cause as Asterisk gives it (recording 04: 17 on the agent's half)
    assert 'hangup_cause_txt="User busy"' in out
    assert out.count("[as expected]") == 10
    # the example's support hotline has opening hours and shifts: calls arrive while it is
    # open (now, or at its next opening), and one while it is closed, which hears the
    # closed prompt only
    assert 'schedule_decision  open=true rule="hours ' in out
    assert "/var/lib/hotline/sounds/en/closed" in out
    assert "no license needed" in out
    # the steps name the prompt files they play, and the PIN is never shown
    assert "/var/lib/hotline/sounds/en/enter_pin" in out
    assert "/var/lib/hotline/sounds/de/intro" in out
    assert "1234" not in out


def test_demo_shows_round_robin_a_parallel_step_and_a_skipped_busy_agent(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo", "--config", EXAMPLE]) == 0
    out = capsys.readouterr().out
    taken_by = [
        line.split('connected_to="')[1].split('"')[0]
        for line in out.splitlines()
        if line.startswith("   outcome: connected")
    ]
    # the rotation: 201, 202, then the step 203+205 (203 answers first), then 201 is busy
    assert taken_by[-4:] == ["201", "202", "203", "202"]
    assert "caller connected to 203 (leg 1)" in out
    assert "HOTLINE_CONFIRM=TAKEN" in out  # 205, rung with 203, heard "taken"
    assert 'outcome="taken"' in out
    assert "device states over AMI: Custom:agent201=INUSE" in out
    assert 'number="201" label="Dora" outcome="skipped" reason="device busy (INUSE)"' in out


def test_demo_with_chosen_agents(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--config", EXAMPLE, "--agents", "200=busy,202=busy,201=accept"])
    assert code == 0
    out = capsys.readouterr().out
    assert 'outcome: connected  outcome="connected" connected_to="201"' in out


def test_demo_bad_agent_spec_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--config", EXAMPLE, "--agents", "201=dance"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "dance" in err[0]
