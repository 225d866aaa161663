"""What a hotline's schedule says at a given moment: open or closed, which shift, which targets.

Pure and clock-free: every question takes the moment as an aware ``datetime``
(the runtime passes the wall clock, tests pass any instant).  Times of the
config are wall-clock times of the schedule's zone; a moment is turned into
that zone's local date and minute, so ranges keep their hours across DST
changes and a range over midnight belongs to the day it starts on.

Precedence for the opening hours of a date: a ``special`` day's hours, else
closed on a public holiday or one of the admin's dates, else the weekly hours.
Shifts and a target's own hours follow their weekly ranges only (who answers
does not depend on holidays; whether anyone is asked does).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hotline.config import HotlineConfig, Settings, Target
from hotline.config.schedule import ScheduleConfig, zone
from hotline.records import record
from hotline.schedule.ranges import (
    MINUTES_PER_DAY,
    TimeRange,
    WeeklyRange,
    parse_time_range,
    parse_weekly,
)

#: how far ahead a next change is looked for
HORIZON = dt.timedelta(days=8)
#: candidate instants between range boundaries, so that DST jumps are found too
_GRID = dt.timedelta(minutes=15)
_MINUTE = dt.timedelta(minutes=1)


def machine_zone() -> ZoneInfo:
    """The machine's zone with its DST rules (not just today's offset): $TZ, else /etc/localtime."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return zone(name)
        except ValueError:
            pass
    localtime = Path("/etc/localtime")
    try:
        target = str(localtime.resolve())
        if "/zoneinfo/" in target:
            return zone(target.split("/zoneinfo/", 1)[1])
        with localtime.open("rb") as file:
            return ZoneInfo.from_file(file, key="localtime")
    except (OSError, ValueError):
        return zone("UTC")


Key = tuple[bool, str | None, tuple[str, ...]]


@record
class Decision:
    """The plan for a call arriving at ``at``: kept by that call until it ends."""

    at: dt.datetime  # local time in the schedule's zone
    open: bool
    #: what decided, e.g. "hours Mon-Fri 08:00-18:00" or "holiday Christmas Day (DE-BY)"
    rule: str
    #: the shift whose targets are hunted (None: the hotline's own, or closed)
    shift: str | None
    #: whom the call hunts, in order (empty while closed)
    targets: tuple[Target, ...]
    #: targets left out because their own hours exclude this moment
    off_hours: tuple[str, ...] = ()

    @property
    def key(self) -> Key:
        """What makes two moments plan calls differently (while closed, nobody is dialled)."""
        return self.open, self.shift, tuple(t.number for t in self.targets)

    @property
    def detailed_key(self) -> Key:
        """:attr:`key`, and also why it is closed (a week plan shows a holiday as its own line)."""
        return (False, self.rule, ()) if not self.open else self.key

    def state(self) -> str:
        if not self.open:
            return "closed"
        return f"open, shift {self.shift}" if self.shift else "open"

    def log_fields(self) -> dict[str, Any]:
        return {
            "open": self.open,
            "rule": self.rule,
            "shift": self.shift,
            "local_time": self.at.isoformat(timespec="seconds"),
            "targets": [t.number for t in self.targets],
            "off_hours": list(self.off_hours) or None,
        }


@dataclass(frozen=True)
class _Ranges:
    """Weekly ranges with the day they start on; answers "which range holds this minute"."""

    weekly: tuple[WeeklyRange, ...]

    @classmethod
    def parse(cls, texts: Sequence[str] | None) -> _Ranges:
        return cls(tuple(parse_weekly(t) for t in texts or ()))

    def day(self, date: dt.date) -> list[tuple[TimeRange, str]]:
        return [(w.hours, w.source) for w in self.weekly if w.starts_on(date.weekday())]


def _holding(
    today: Sequence[tuple[TimeRange, str]],
    yesterday: Sequence[tuple[TimeRange, str]],
    minute: int,
) -> str | None:
    """The source of the range holding ``minute`` of today (yesterday's may run over midnight)."""
    for hours, source in today:
        end = MINUTES_PER_DAY if hours.overnight else hours.end
        if hours.start <= minute < end:
            return source
    for hours, source in yesterday:
        if hours.overnight and minute < hours.end:
            return source
    return None


@dataclass
class Schedule:
    """One hotline's schedule, parsed once per config; ask it with :meth:`decide`."""

    hotline: HotlineConfig
    default_zone: ZoneInfo = field(default_factory=machine_zone)

    def __post_init__(self) -> None:
        config = self.hotline.schedule or ScheduleConfig()
        self.config = config
        self.zone = zone(config.timezone) if config.timezone else self.default_zone
        self._open = _Ranges.parse(config.open) if config.open is not None else None
        self._special = {
            day.date: [(parse_time_range(t), f"special {day.date} {t}") for t in day.open]
            for day in config.special
        }
        self._shifts = [(s, _Ranges.parse(s.hours)) for s in config.shifts]
        self._target_hours = [
            (t, _Ranges.parse(t.hours) if t.hours is not None else None)
            for t in self.hotline.targets
        ]
        self._shift_target_hours = {
            s.name: [(t, _Ranges.parse(t.hours) if t.hours else None) for t in s.targets]
            for s in config.shifts
        }
        holidays = config.holidays
        self._own_dates = frozenset(holidays.dates) if holidays else frozenset()
        self._public: Mapping[dt.date, str] | None = None
        if holidays is not None and holidays.country is not None:
            import holidays as holidays_lib

            public = holidays_lib.country_holidays(holidays.country, subdiv=holidays.subdivision)
            # names in English where the package has them (its default is the country's
            # language, and which translations load differs between installs)
            if "en_US" in public.supported_languages:
                public = holidays_lib.country_holidays(
                    holidays.country, subdiv=holidays.subdivision, language="en_US"
                )
            self._public = public
            self._region = "-".join(filter(None, (holidays.country, holidays.subdivision)))

    # --- one moment ----------------------------------------------------------

    def local(self, now: dt.datetime) -> dt.datetime:
        if now.tzinfo is None:
            raise ValueError("the schedule needs an aware datetime (with a time zone)")
        return now.astimezone(self.zone)

    def closed_reason(self, date: dt.date) -> str | None:
        """Why ``date`` is closed all day (a holiday or the admin's date), or None."""
        if self._public is not None:
            name = self._public.get(date)
            if name is not None:
                return f"holiday {date} {name} ({self._region})"
        if date in self._own_dates:
            return f"closed date {date} (holidays.dates)"
        return None

    def _opening(self, date: dt.date) -> list[tuple[TimeRange, str]]:
        if date in self._special:
            return self._special[date]
        if self.closed_reason(date) is not None:
            return []
        assert self._open is not None
        return [(h, f"hours {src}") for h, src in self._open.day(date)]

    def _is_open(self, local: dt.datetime, minute: int) -> tuple[bool, str]:
        date = local.date()
        if self._open is None:
            # no weekly hours: open around the clock, but for holidays and special days
            if date in self._special:
                source = _holding(self._special[date], [], minute)
                return (True, source) if source else (False, f"special {date}: outside its hours")
            reason = self.closed_reason(date)
            return (False, reason) if reason else (True, "always open: no opening hours set")
        yesterday = date - dt.timedelta(days=1)
        source = _holding(self._opening(date), self._opening(yesterday), minute)
        if source is not None:
            return True, source
        if date in self._special:
            return False, f"special {date}: outside its hours"
        return False, self.closed_reason(date) or "outside opening hours"

    def decide(self, now: dt.datetime) -> Decision:
        """The plan for a call arriving at ``now``."""
        local = self.local(now)
        minute = local.hour * 60 + local.minute
        is_open, rule = self._is_open(local, minute)
        if not is_open:
            return Decision(local, False, rule, None, ())  # nobody is dialled: no shift
        date = local.date()
        yesterday = date - dt.timedelta(days=1)
        shift_name: str | None = None
        candidates = self._target_hours
        for shift, ranges in self._shifts:
            if _holding(ranges.day(date), ranges.day(yesterday), minute):
                shift_name = shift.name
                candidates = self._shift_target_hours[shift.name]
                break
        targets: list[Target] = []
        off: list[str] = []
        for target, hours in candidates:
            if hours is None or _holding(hours.day(date), hours.day(yesterday), minute):
                targets.append(target)
            else:
                off.append(target.number)
        return Decision(local, is_open, rule, shift_name, tuple(targets), tuple(off))

    # --- over time -------------------------------------------------------------

    def _boundaries(self, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
        """Instants (UTC) where the decision may change between ``start`` and ``end``."""
        minutes: set[int] = {0}
        every: list[_Ranges] = [r for _s, r in self._shifts]
        every += [r for _t, r in self._target_hours if r is not None]
        every += [r for rs in self._shift_target_hours.values() for _t, r in rs if r is not None]
        if self._open is not None:
            every.append(self._open)
        for ranges in every:
            for weekly in ranges.weekly:
                minutes.update({weekly.hours.start, weekly.hours.end % MINUTES_PER_DAY})
        for day_ranges in self._special.values():
            for hours, _src in day_ranges:
                minutes.update({hours.start, hours.end % MINUTES_PER_DAY})
        out: set[dt.datetime] = set()
        date = self.local(start).date() - dt.timedelta(days=1)
        last = self.local(end).date() + dt.timedelta(days=1)
        while date <= last:
            for minute in minutes:
                wall = dt.datetime.combine(date, dt.time(minute // 60, minute % 60))
                for fold in (0, 1):
                    out.add(wall.replace(tzinfo=self.zone, fold=fold).astimezone(dt.UTC))
            date += dt.timedelta(days=1)
        grid = start.astimezone(dt.UTC).replace(second=0, microsecond=0)
        grid -= dt.timedelta(minutes=grid.minute % 15)
        while grid <= end:
            out.add(grid)
            grid += _GRID
        return sorted(t for t in out if start < t <= end)

    def next_change(
        self, now: dt.datetime, horizon: dt.timedelta = HORIZON, *, detailed: bool = False
    ) -> tuple[dt.datetime, Decision] | None:
        """The first moment after ``now`` (to the minute) whose plan differs, or None.

        ``detailed``: a change of the reason for being closed counts too.
        """

        def key(decision: Decision) -> Key:
            return decision.detailed_key if detailed else decision.key

        current = key(self.decide(now))
        previous = now
        for candidate in self._boundaries(now, now + horizon):
            if key(self.decide(candidate)) != current:
                # narrow (previous, candidate] to the first whole minute that differs
                low = previous.astimezone(dt.UTC).replace(second=0, microsecond=0)
                high = candidate.astimezone(dt.UTC)
                while high - low > _MINUTE:
                    middle = low + ((high - low) // _MINUTE // 2) * _MINUTE
                    if key(self.decide(middle)) == current:
                        low = middle
                    else:
                        high = middle
                return high, self.decide(high)
            previous = candidate
        return None

    def first(
        self, now: dt.datetime, *, open: bool, within: dt.timedelta = HORIZON
    ) -> tuple[dt.datetime, Decision] | None:
        """The first moment from ``now`` when the hotline is open (with someone to dial)
        or closed, as asked; None when there is none within ``within``."""
        for start, _until, decision in self.segments(now, now + within):
            if decision.open == open and (not open or decision.targets):
                return start, decision
        return None

    def segments(
        self, start: dt.datetime, end: dt.datetime
    ) -> Iterator[tuple[dt.datetime, dt.datetime, Decision]]:
        """``(from, until, decision)`` covering ``start``..``end`` without gaps."""
        at = start
        while at < end:
            decision = self.decide(at)
            change = self.next_change(at, horizon=end - at, detailed=True)
            until = change[0] if change is not None else end
            yield at, min(until, end), decision
            at = until


class Schedules:
    """Every hotline's :class:`Schedule` for one config (rebuilt on reload, like the prompts)."""

    def __init__(
        self, hotlines: Sequence[HotlineConfig] = (), default_zone: ZoneInfo | None = None
    ) -> None:
        self._default_zone = default_zone or machine_zone()
        self._by_name = {h.name: Schedule(h, self._default_zone) for h in hotlines}

    @classmethod
    def from_settings(cls, settings: Settings) -> Schedules:
        return cls(settings.hotlines)

    def __iter__(self) -> Iterator[Schedule]:
        return iter(self._by_name.values())

    def get(self, hotline: HotlineConfig) -> Schedule:
        schedule = self._by_name.get(hotline.name)
        if schedule is None or schedule.hotline is not hotline:
            schedule = Schedule(hotline, self._default_zone)
            self._by_name[hotline.name] = schedule
        return schedule
