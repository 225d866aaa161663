"""Calls against a schedule: closed calls, shifts, and a plan kept for the whole call.

The wall clock is injected (``Runtime(now=…)``); the simulator's virtual clock
runs the call itself, over real loopback sockets.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from hotline.flow.registry import Acceptance, CallRegistry
from hotline.flow.state import RuntimeState
from hotline.sim.agents import parse_agents
from hotline.sim.caller import CallerScript
from tests.conftest import CapturedLog
from tests.flow.conftest import Scenario, make_settings
from tests.simrun import sim_runtime

BERLIN = ZoneInfo("Europe/Berlin")
FRIDAY_NOON = dt.datetime(2026, 3, 27, 12, 0, tzinfo=BERLIN)
FRIDAY_NIGHT = dt.datetime(2026, 3, 27, 20, 0, tzinfo=BERLIN)

SCHEDULE: dict[str, Any] = {
    "timezone": "Europe/Berlin",
    "open": ["Mon-Fri 08:00-18:00"],
    "holidays": {"country": "DE", "subdivision": "BY"},
}


def support(**kw: Any) -> CallerScript:
    return CallerScript(hotline="support", **kw)


def numbers(dialed: list[str]) -> list[str]:
    return [d.split(",", 1)[0].split("/", 1)[1].split("@", 1)[0] for d in dialed]


async def test_open_hours_call_is_hunted_and_logs_the_decision(scenario: Scenario) -> None:
    settings = make_settings(pin=None, schedule=SCHEDULE)
    record = await scenario.call(settings, "201=accept", support(), now=lambda: FRIDAY_NOON)
    assert record.bridged_to == "201"
    (decision,) = scenario.events(record.uniqueid, "schedule_decision")
    assert decision["open"] is True
    assert decision["rule"] == "hours Mon-Fri 08:00-18:00"
    assert decision["local_time"] == "2026-03-27T12:00:00+01:00"
    summary = scenario.summary(record.uniqueid)
    assert summary["schedule"] == "hours Mon-Fri 08:00-18:00"
    assert summary["shift"] is None


async def test_closed_call_hears_closed_and_is_hung_up(scenario: Scenario) -> None:
    settings = make_settings(schedule=SCHEDULE)  # with a PIN: not asked when closed
    record = await scenario.call(settings, "201=accept", support(), now=lambda: FRIDAY_NIGHT)
    assert record.dialed == []
    assert record.played == ["/var/lib/hotline/sounds/en/closed"]
    assert record.hung_up_by == "runtime"
    summary = scenario.summary(record.uniqueid)
    assert (summary["outcome"], summary["schedule"]) == ("closed", "outside opening hours")
    (decision,) = scenario.events(record.uniqueid, "schedule_decision")
    assert decision["open"] is False
    assert decision["targets"] == []


async def test_closed_on_a_holiday_goes_to_the_closed_destination(scenario: Scenario) -> None:
    closed = {"context": "hotline-closed", "extension": "support", "priority": 2}
    settings = make_settings(pin=None, schedule={**SCHEDULE, "closed": closed})
    epiphany = dt.datetime(2026, 1, 6, 10, 0, tzinfo=BERLIN)
    record = await scenario.call(settings, "201=accept", support(), now=lambda: epiphany)
    assert record.dialed == []
    assert record.played == ["/var/lib/hotline/sounds/en/closed"]
    assert record.fallback == ("hotline-closed", "support", "2")
    summary = scenario.summary(record.uniqueid)
    assert (summary["outcome"], summary["schedule"]) == (
        "closed",
        "holiday 2026-01-06 Epiphany (DE-BY)",
    )
    assert scenario.events(record.uniqueid, "closed_destination_taken")


SHIFTS: dict[str, Any] = {
    "timezone": "Europe/Berlin",
    "shifts": [
        {
            "name": "day",
            "hours": ["Mon-Fri 08:00-16:00"],
            "targets": [{"number": "201"}, {"number": "202"}],
        },
        {"name": "evening", "hours": ["Mon-Fri 16:00-22:00"], "targets": [{"number": "301"}]},
    ],
}


class _DialSignal(CallRegistry):
    """The registry the caller leg announces each dial to: here, the moment a hunt is under way."""

    def __init__(self) -> None:
        super().__init__()
        self.dialling = asyncio.Event()

    def expect(self, call_id: str, targets: Iterable[str] = ()) -> asyncio.Future[Acceptance]:
        self.dialling.set()
        return super().expect(call_id, targets)


async def test_a_shift_change_during_the_hunt_keeps_the_calls_targets(
    captured_log: CapturedLog,
) -> None:
    settings = make_settings(pin=None, ring_time=15, schedule=SHIFTS)
    wall = {"now": dt.datetime(2026, 3, 27, 15, 59, 50, tzinfo=BERLIN)}
    registry = _DialSignal()
    agents = parse_agents("201=no-answer,202=accept,301=accept")
    state = RuntimeState(registry=registry)
    now = lambda: wall["now"]  # noqa: E731 - read at each call's arrival
    async with sim_runtime(settings, agents, now=now, state=state) as (_runtime, pbx):
        first = asyncio.create_task(pbx.place_call(support(callerid="5550001")))
        await registry.dialling.wait()  # the day shift's first target is ringing
        wall["now"] = dt.datetime(2026, 3, 27, 16, 0, 0, tzinfo=BERLIN)
        second = await pbx.place_call(support(callerid="5550002"))
        first_record = await first
    assert numbers(first_record.dialed) == ["201", "202"]
    assert first_record.bridged_to == "202"
    assert numbers(second.dialed) == ["301"]
    by_call = {e["call_id"]: e for e in captured_log.named("call_summary")}
    assert by_call[first_record.uniqueid]["shift"] == "day"
    assert by_call[second.uniqueid]["shift"] == "evening"
    # asked once per call, at arrival
    assert len(captured_log.named("schedule_decision")) == 2


async def test_targets_outside_their_own_hours_are_not_dialled(scenario: Scenario) -> None:
    settings = make_settings(
        pin=None,
        targets=[
            {"number": "201", "hours": ["Mon-Fri 14:00-18:00"]},
            {"number": "202"},
        ],
        schedule={"timezone": "Europe/Berlin"},
    )
    record = await scenario.call(
        settings, "201=accept,202=accept", support(), now=lambda: FRIDAY_NOON
    )
    assert numbers(record.dialed) == ["202"]
    (decision,) = scenario.events(record.uniqueid, "schedule_decision")
    assert decision["off_hours"] == ["201"]
