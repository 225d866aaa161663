"""Weekly time ranges as admins write them: ``"Mon-Fri 08:00-18:00"``, ``"Sat 09:00-12:00"``.

A range belongs to the day it starts on.  An end at or before the start runs
over midnight into the next day (``"Fri 22:00-06:00"`` ends Saturday 06:00);
``24:00`` is the end of the day.  Times are local wall-clock times in the
schedule's time zone, so a range keeps its hours across a DST change (the
day simply has 23 or 25 hours).  Pure: no clock, no time zone here.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator

DAY_NAMES: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_INDEX = {name.lower(): index for index, name in enumerate(DAY_NAMES)} | {
    name: index for index, name in enumerate(_FULL_NAMES)
}
_ALL_DAYS = ("daily", "mon-sun")

MINUTES_PER_DAY = 24 * 60
_WEEK = 7 * MINUTES_PER_DAY

_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")


@dataclass(frozen=True)
class TimeRange:
    """``start``-``end`` in minutes after local midnight; ``end <= start`` crosses midnight."""

    start: int
    end: int

    @property
    def overnight(self) -> bool:
        return self.end <= self.start

    def text(self) -> str:
        return f"{format_minutes(self.start)}-{format_minutes(self.end)}"


@dataclass(frozen=True)
class WeeklyRange:
    """A :class:`TimeRange` on some weekdays (0 = Monday), as written in the config."""

    days: frozenset[int]
    hours: TimeRange
    source: str

    def starts_on(self, weekday: int) -> bool:
        return weekday in self.days


def format_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _parse_time(text: str, *, end: bool) -> int:
    match = _TIME.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a time; write HH:MM, e.g. 08:00")
    hours, minutes = int(match[1]), int(match[2])
    if end and (hours, minutes) == (24, 0):
        return MINUTES_PER_DAY
    if hours > 23 or minutes > 59:
        raise ValueError(f"{text!r} is not a time of day; use 00:00 to 23:59 (24:00 as an end)")
    return hours * 60 + minutes


def parse_time_range(text: str) -> TimeRange:
    """``"08:00-18:00"``; ``"22:00-06:00"`` runs over midnight."""
    start_text, sep, end_text = text.strip().partition("-")
    if not sep:
        raise ValueError(f"{text!r} is not a time range; write HH:MM-HH:MM, e.g. 08:00-18:00")
    start = _parse_time(start_text.strip(), end=False)
    end = _parse_time(end_text.strip(), end=True)
    if start == end:
        raise ValueError(f"{text!r} is empty (starts where it ends); remove it or fix the times")
    # an end of 00:00 is midnight after the start: the same as 24:00
    return TimeRange(start, end or MINUTES_PER_DAY)


def _parse_day(text: str) -> int:
    try:
        return _DAY_INDEX[text.lower()]
    except KeyError:
        raise ValueError(
            f"{text!r} is not a weekday; use {', '.join(DAY_NAMES)} (or 'daily')"
        ) from None


def parse_days(text: str) -> frozenset[int]:
    """``"Mon-Fri"``, ``"Sat"``, ``"Mon,Wed,Fri"``, ``"Fri-Mon"`` (wraps), ``"daily"``."""
    if text.lower() in _ALL_DAYS:
        return frozenset(range(7))
    days: set[int] = set()
    for part in text.split(","):
        first, sep, last = part.strip().partition("-")
        start = _parse_day(first.strip())
        if not sep:
            days.add(start)
            continue
        stop = _parse_day(last.strip())
        day = start
        days.add(day)
        while day != stop:
            day = (day + 1) % 7
            days.add(day)
    return frozenset(days)


def parse_weekly(text: str) -> WeeklyRange:
    """``"<days> HH:MM-HH:MM"``; raises ValueError with a one-line reason."""
    days_text, _, hours_text = text.strip().rpartition(" ")
    if not days_text.strip():
        raise ValueError(
            f"{text!r} names no days; write e.g. 'Mon-Fri 08:00-18:00' or 'daily 22:00-06:00'"
        )
    return WeeklyRange(parse_days(days_text.strip()), parse_time_range(hours_text), text)


def _week_intervals(ranges: Iterable[WeeklyRange]) -> list[tuple[int, int, str]]:
    """Each range as intervals in minutes from Monday 00:00, split where the week wraps."""
    out = []
    for weekly in ranges:
        hours = weekly.hours
        length = (hours.end - hours.start) % MINUTES_PER_DAY or MINUTES_PER_DAY
        for day in weekly.days:
            start = day * MINUTES_PER_DAY + hours.start
            end = start + length
            if end <= _WEEK:
                out.append((start, end, weekly.source))
            else:
                out.append((start, _WEEK, weekly.source))
                out.append((0, end - _WEEK, weekly.source))
    return out


def first_overlap(ranges: Sequence[WeeklyRange]) -> tuple[str, str] | None:
    """Two ranges (as written) that share some minute of the week, or None."""
    intervals = sorted(_week_intervals(ranges))
    for (_s1, e1, src1), (s2, _e2, src2) in itertools.pairwise(intervals):
        if s2 < e1:
            return src1, src2
    return None


def _one_weekly(text: str) -> str:
    parse_weekly(text)
    return text


def _one_daily(text: str) -> str:
    parse_time_range(text)
    return text


def _no_overlap(value: list[str], *, daily: bool) -> list[str]:
    if not value:
        example = "'09:00-12:00'" if daily else "'Mon-Fri 08:00-18:00'"
        raise ValueError(f"is empty; list ranges such as {example}, or remove the key")
    parsed = [
        WeeklyRange(frozenset({0}), parse_time_range(t), t) if daily else parse_weekly(t)
        for t in value
    ]
    overlap = first_overlap(parsed)
    if overlap is not None:
        raise ValueError(f"{overlap[0]!r} and {overlap[1]!r} overlap; merge them into one range")
    return value


#: ``["Mon-Fri 08:00-18:00", ...]``: validated (parse, not empty, no overlap), kept as written
WeeklyHours = Annotated[
    list[Annotated[str, AfterValidator(_one_weekly)]],
    AfterValidator(lambda v: _no_overlap(v, daily=False)),
]
#: ``["09:00-12:00", ...]`` for one date
DailyHours = Annotated[
    list[Annotated[str, AfterValidator(_one_daily)]],
    AfterValidator(lambda v: _no_overlap(v, daily=True)),
]
