"""The schedule decides at instants the tests choose (an injected clock, never the real one)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hotline.config import settings_from_mapping
from hotline.schedule.engine import Decision, Schedule

BERLIN = ZoneInfo("Europe/Berlin")


def schedule(*, targets: list[dict[str, Any]] | None = None, **config: Any) -> Schedule:
    hotline = {
        "name": "support",
        "targets": targets or [{"number": "200"}],
        "schedule": {"timezone": "Europe/Berlin", **config},
    }
    settings = settings_from_mapping({"hotlines": [hotline]})
    return Schedule(settings.hotlines[0])


def at(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=BERLIN)


def is_open(sched: Schedule, moment: dt.datetime) -> bool:
    return sched.decide(moment).open


OFFICE: dict[str, Any] = {"open": ["Mon-Fri 08:00-18:00", "Sat 09:00-12:00"]}


def test_open_and_closed_a_second_either_side_of_each_edge() -> None:
    sched = schedule(**OFFICE)
    # Friday 2026-03-27
    assert not is_open(sched, at(2026, 3, 27, 7, 59, 59))
    assert is_open(sched, at(2026, 3, 27, 8, 0, 0))
    assert is_open(sched, at(2026, 3, 27, 17, 59, 59))
    assert not is_open(sched, at(2026, 3, 27, 18, 0, 0))
    # Saturday, Sunday
    assert not is_open(sched, at(2026, 3, 28, 8, 59, 59))
    assert is_open(sched, at(2026, 3, 28, 9, 0, 0))
    assert not is_open(sched, at(2026, 3, 28, 12, 0, 0))
    assert not is_open(sched, at(2026, 3, 29, 10, 0, 0))
    decision = sched.decide(at(2026, 3, 27, 12, 0))
    assert decision.rule == "hours Mon-Fri 08:00-18:00"
    assert sched.decide(at(2026, 3, 27, 19, 0)).rule == "outside opening hours"


def test_the_same_instant_in_another_zone_gives_the_same_answer() -> None:
    sched = schedule(**OFFICE)
    utc = dt.datetime(2026, 3, 27, 7, 0, 0, tzinfo=dt.UTC)  # 08:00 in Berlin
    assert is_open(sched, utc)
    assert not is_open(sched, utc - dt.timedelta(seconds=1))
    with pytest.raises(ValueError, match="aware datetime"):
        sched.decide(dt.datetime(2026, 3, 27, 12, 0))


def test_a_range_over_midnight_belongs_to_the_day_it_starts_on() -> None:
    sched = schedule(open=["Fri 22:00-06:00"])
    assert not is_open(sched, at(2026, 3, 27, 21, 59, 59))
    assert is_open(sched, at(2026, 3, 27, 22, 0, 0))
    assert is_open(sched, at(2026, 3, 28, 0, 0, 0))  # Saturday
    assert is_open(sched, at(2026, 3, 28, 5, 59, 59))
    assert not is_open(sched, at(2026, 3, 28, 6, 0, 0))
    assert not is_open(sched, at(2026, 3, 28, 23, 0, 0))  # Saturday night is not Friday night
    assert not is_open(sched, at(2026, 3, 27, 3, 0, 0))  # Friday morning: Thursday has no range


def test_24_00_ends_the_day_and_sunday_night_runs_into_monday() -> None:
    sched = schedule(open=["Sun 20:00-02:00", "Mon 08:00-24:00"])
    assert is_open(sched, at(2026, 3, 30, 1, 59, 59))  # Monday, from Sunday's range
    assert not is_open(sched, at(2026, 3, 30, 2, 0, 0))
    assert is_open(sched, at(2026, 3, 30, 23, 59, 59))
    assert not is_open(sched, at(2026, 3, 31, 0, 0, 0))


def test_public_holiday_of_the_configured_state_only() -> None:
    bavaria = schedule(**OFFICE, holidays={"country": "DE", "subdivision": "BY"})
    berlin = schedule(**OFFICE, holidays={"country": "DE", "subdivision": "BE"})
    epiphany = at(2026, 1, 6, 10, 0)  # a Tuesday; a holiday in Bavaria, not in Berlin
    decision = bavaria.decide(epiphany)
    assert not decision.open
    assert decision.rule == "holiday 2026-01-06 Epiphany (DE-BY)"
    assert is_open(berlin, epiphany)
    # a holiday in both: German Unity Day 2026-10-03 is a Saturday, so take Labour Day (Friday)
    assert not is_open(bavaria, at(2026, 5, 1, 10, 0))
    assert not is_open(berlin, at(2026, 5, 1, 10, 0))
    # the day before and after are ordinary days
    assert is_open(bavaria, at(2026, 1, 5, 10, 0))
    assert is_open(bavaria, at(2026, 1, 7, 10, 0))


def test_admin_dates_and_special_hours() -> None:
    sched = schedule(
        **OFFICE,
        holidays={"country": "DE", "subdivision": "BY", "dates": ["2026-12-24", "2026-12-31"]},
        special=[
            {"date": "2026-12-23", "open": ["08:00-12:00"]},
            {"date": "2026-12-26", "open": ["10:00-14:00"]},  # a public holiday, opened anyway
        ],
    )
    christmas_eve = sched.decide(at(2026, 12, 24, 10, 0))
    assert not christmas_eve.open
    assert christmas_eve.rule == "closed date 2026-12-24 (holidays.dates)"
    assert is_open(sched, at(2026, 12, 23, 11, 59, 59))
    short_day = sched.decide(at(2026, 12, 23, 12, 0, 0))
    assert not short_day.open
    assert short_day.rule == "special 2026-12-23: outside its hours"
    assert is_open(sched, at(2026, 12, 26, 10, 0))
    assert sched.decide(at(2026, 12, 26, 10, 0)).rule == "special 2026-12-26 10:00-14:00"
    assert not is_open(sched, at(2026, 12, 25, 10, 0))


@pytest.mark.parametrize(
    ("day", "before", "after"),
    [
        # spring forward: 02:00 CET -> 03:00 CEST, the day has 23 hours
        ((2026, 3, 29), dt.timedelta(hours=1), dt.timedelta(hours=2)),
        # fall back: 03:00 CEST -> 02:00 CET, the day has 25 hours
        ((2026, 10, 25), dt.timedelta(hours=2), dt.timedelta(hours=1)),
    ],
)
def test_dst_days_keep_wall_clock_hours(
    day: tuple[int, int, int], before: dt.timedelta, after: dt.timedelta
) -> None:
    sched = schedule(open=["Sun 08:00-18:00", "Sat 22:00-02:30"])
    y, m, d = day
    # 08:00 local, whatever the offset that day
    eight_utc = dt.datetime(y, m, d, 8, 0, tzinfo=dt.UTC) - after
    assert sched.decide(eight_utc).at.utcoffset() == after
    assert is_open(sched, eight_utc)
    assert not is_open(sched, eight_utc - dt.timedelta(seconds=1))
    # Saturday night's range ends at 02:30 local
    assert is_open(sched, dt.datetime(y, m, d, 0, 30, tzinfo=dt.UTC) - before)


def test_dst_spring_forward_range_inside_the_gap() -> None:
    """02:00-03:00 does not exist on 2026-03-29: a range ending 02:30 ends at the jump."""
    sched = schedule(open=["Sun 01:00-02:30"])
    jump = dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC)  # 02:00 CET == 03:00 CEST
    assert is_open(sched, jump - dt.timedelta(seconds=1))  # 01:59:59 CET
    assert not is_open(sched, jump)  # 03:00 CEST
    change = sched.next_change(dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC))
    assert change is not None
    assert change[0] == jump
    assert not change[1].open


def test_dst_fall_back_the_repeated_hour_counts_twice() -> None:
    """02:00-03:00 happens twice on 2026-10-25; a range 02:00-03:00 is open both times."""
    sched = schedule(open=["Sun 02:00-03:00"])
    first = dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)  # 02:30 CEST
    second = dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC)  # 02:30 CET
    assert is_open(sched, first)
    assert is_open(sched, second)
    assert not is_open(sched, dt.datetime(2026, 10, 25, 2, 0, tzinfo=dt.UTC))  # 03:00 CET
    segments = list(
        sched.segments(
            dt.datetime(2026, 10, 24, 22, 0, tzinfo=dt.UTC),  # Sunday 00:00 CEST
            dt.datetime(2026, 10, 25, 23, 0, tzinfo=dt.UTC),  # Monday 00:00 CET
        )
    )
    opened = [(a, b) for a, b, d in segments if d.open]
    assert opened == [
        (
            dt.datetime(2026, 10, 25, 0, 0, tzinfo=dt.UTC),
            dt.datetime(2026, 10, 25, 2, 0, tzinfo=dt.UTC),
        )
    ]  # two real hours


SHIFTS: dict[str, Any] = {
    "open": ["daily 00:00-24:00"],
    "shifts": [
        {"name": "day", "hours": ["Mon-Fri 08:00-16:00"], "targets": [{"number": "201"}]},
        {"name": "evening", "hours": ["Mon-Fri 16:00-22:00"], "targets": [{"number": "202"}]},
        {"name": "night", "hours": ["daily 22:00-08:00"], "targets": [{"number": "+4917099"}]},
    ],
}


def numbers(decision: Decision) -> list[str]:
    return [t.number for t in decision.targets]


def test_shifts_pick_the_targets_by_the_time_of_arrival() -> None:
    sched = schedule(**SHIFTS)
    assert (
        sched.decide(at(2026, 3, 27, 15, 59, 59)).shift,
        numbers(sched.decide(at(2026, 3, 27, 15, 59, 59))),
    ) == ("day", ["201"])
    evening = sched.decide(at(2026, 3, 27, 16, 0))
    assert (evening.shift, numbers(evening)) == ("evening", ["202"])
    night = sched.decide(at(2026, 3, 28, 3, 0))  # Saturday early: Friday's night shift
    assert (night.shift, numbers(night)) == ("night", ["+4917099"])
    weekend = sched.decide(at(2026, 3, 28, 12, 0))  # no shift: the hotline's own targets
    assert (weekend.shift, numbers(weekend)) == (None, ["200"])


def test_a_target_with_its_own_hours_is_left_out_outside_them() -> None:
    sched = schedule(
        targets=[{"number": "200"}, {"number": "201", "hours": ["Mon-Fri 09:00-17:00"]}],
    )
    assert numbers(sched.decide(at(2026, 3, 27, 8, 59))) == ["200"]
    assert sched.decide(at(2026, 3, 27, 8, 59)).off_hours == ("201",)
    assert numbers(sched.decide(at(2026, 3, 27, 9, 0))) == ["200", "201"]


def test_next_change_and_week_segments() -> None:
    sched = schedule(**OFFICE, holidays={"country": "DE", "subdivision": "BY"})
    change = sched.next_change(at(2026, 4, 2, 12, 0))  # Thursday before Easter
    assert change is not None
    assert change[0] == at(2026, 4, 2, 18, 0)
    # Good Friday and Easter Monday are holidays: next opening is Saturday 09:00
    change = sched.next_change(change[0])
    assert change is not None
    assert change[0] == at(2026, 4, 4, 9, 0)
    start = at(2026, 4, 2, 0, 0)
    segments = list(sched.segments(start, start + dt.timedelta(days=7)))
    assert segments[0][0] == start
    assert segments[-1][1] == start + dt.timedelta(days=7)
    for (_a, b, _d), (c, _e, _f) in itertools.pairwise(segments):
        assert b == c  # no gaps
    opened = [(a.astimezone(BERLIN), b.astimezone(BERLIN)) for a, b, d in segments if d.open]
    assert opened == [
        (at(2026, 4, 2, 8, 0), at(2026, 4, 2, 18, 0)),
        (at(2026, 4, 4, 9, 0), at(2026, 4, 4, 12, 0)),
        (at(2026, 4, 7, 8, 0), at(2026, 4, 7, 18, 0)),
        (at(2026, 4, 8, 8, 0), at(2026, 4, 8, 18, 0)),
    ]


def test_no_schedule_is_always_open_in_the_machine_zone() -> None:
    settings = settings_from_mapping({"hotlines": [{"name": "x", "targets": [{"number": "1"}]}]})
    sched = Schedule(settings.hotlines[0], ZoneInfo("UTC"))
    decision = sched.decide(dt.datetime(2026, 1, 1, 3, 0, tzinfo=dt.UTC))
    assert decision.open
    assert decision.rule == "always open: no opening hours set"
    assert sched.next_change(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)) is None


def test_without_weekly_hours_only_holidays_and_special_days_close() -> None:
    sched = schedule(
        holidays={"country": "DE", "subdivision": "BY", "dates": ["2026-12-24"]},
        special=[{"date": "2026-12-31", "open": ["08:00-14:00"]}],
    )
    assert is_open(sched, at(2026, 3, 28, 3, 0))  # a Saturday night: open around the clock
    assert sched.decide(at(2026, 1, 6, 3, 0)).rule == "holiday 2026-01-06 Epiphany (DE-BY)"
    assert not is_open(sched, at(2026, 12, 24, 23, 59, 59))
    assert is_open(sched, at(2026, 12, 27, 0, 0))
    assert is_open(sched, at(2026, 12, 31, 13, 59, 59))
    assert not is_open(sched, at(2026, 12, 31, 14, 0))
    change = sched.next_change(at(2026, 12, 30, 12, 0))
    assert change is not None
    assert change[0] == at(2026, 12, 31, 0, 0)  # the special day starts closed until 08:00
