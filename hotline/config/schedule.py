"""``[hotlines.schedule]``: opening hours, holidays, special days and shifts of one hotline.

Only validation lives here (one line per problem, naming the field); what a
schedule decides at a given moment is :mod:`hotline.schedule.engine`'s job.
The targets of a shift and the ``closed`` destination are the same models as
the hotline's own ``targets`` and ``fallback``.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Annotated, Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from hotline.config.fields import ConfigModel
from hotline.config.targets import FallbackConfig, Target
from hotline.schedule.ranges import DailyHours, WeeklyHours, first_overlap, parse_weekly


@cache
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ValueError with a one-line reason when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not a known IANA time zone; use a name such as 'Europe/Berlin'"
        ) from None


def _zone_name(value: str) -> str:
    zone(value)
    return value


TimeZoneName = Annotated[str, AfterValidator(_zone_name)]


def _dates_field(value: Any) -> Any:
    """TOML dates arrive as dates, quoted ones as strings: both are fine, anything else is not."""
    if isinstance(value, dt.datetime):
        raise ValueError(  # noqa: TRY004 - pydantic reports ValueError as a field problem
            f"{value.isoformat()} is a date and time; write the date only, YYYY-MM-DD"
        )
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"{value!r} is not a date; write YYYY-MM-DD, e.g. 2026-12-24"
            ) from None
    return value


#: a date as TOML writes it (2026-12-24) or quoted ("2026-12-24")
Date = Annotated[dt.date, BeforeValidator(_dates_field)]


class HolidaysConfig(ConfigModel):
    """Public holidays from the ``holidays`` package, plus the admin's own closed days."""

    #: ISO 3166 country code, e.g. "DE"; None: only the admin's own ``dates``
    country: str | None = None
    #: the state/province whose holidays apply, e.g. "BY" (Bavaria)
    subdivision: str | None = None
    #: the admin's own closed days (company holidays, bridge days)
    dates: list[Date] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known(self) -> Self:
        if self.subdivision is not None and self.country is None:
            raise ValueError("subdivision is set without country; add country, e.g. 'DE'")
        if self.country is not None:
            check_holiday_region(self.country, self.subdivision)
        return self


def check_holiday_region(country: str, subdivision: str | None) -> None:
    """ValueError naming the field when the ``holidays`` package does not know the region."""
    import holidays  # imported on use: a few MB of tables only schedules with holidays need

    supported = holidays.list_supported_countries()
    if country not in supported:
        raise ValueError(
            f"country: {country!r} is not a country the holidays package knows; "
            "use an ISO 3166 code such as 'DE', 'AT', 'CH', 'US'"
        )
    if subdivision is not None and subdivision not in supported[country]:
        raise ValueError(
            f"subdivision: {subdivision!r} is not a subdivision of {country}; use one of: "
            f"{', '.join(supported[country])}"
        )


class SpecialDay(ConfigModel):
    """Hours on one date that replace the weekly ones (also on a holiday)."""

    date: Date
    #: the hours of that day, e.g. ["09:00-12:00"]
    open: DailyHours


class ShiftConfig(ConfigModel):
    """A named team with its own hours; a call arriving in them hunts these targets."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,40}$")]
    hours: WeeklyHours
    targets: list[Target]

    @field_validator("targets", mode="before")
    @classmethod
    def _targets_not_empty(cls, value: Any) -> Any:
        if isinstance(value, list) and not value:
            raise ValueError("is empty; a shift needs at least one target to dial")
        return value


class ScheduleConfig(ConfigModel):
    """When a hotline is open, and who answers in which shift."""

    #: IANA time zone of every time below; default: the machine's
    timezone: TimeZoneName | None = None
    #: weekly opening hours; without them the hotline is open around the clock
    #: (holidays still close it)
    open: WeeklyHours | None = None
    holidays: HolidaysConfig | None = None
    #: dates with their own hours
    special: list[SpecialDay] = Field(default_factory=list)
    shifts: list[ShiftConfig] = Field(default_factory=list)
    #: where a caller goes when the hotline is closed (after the ``closed`` prompt unless
    #: ``announce = false``); without it the call is hung up after the prompt
    closed: FallbackConfig | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        seen_dates: set[dt.date] = set()
        for index, day in enumerate(self.special):
            if day.date in seen_dates:
                raise ValueError(
                    f"special[{index}].date: {day.date} is listed twice; keep one entry per date"
                )
            seen_dates.add(day.date)
        names: set[str] = set()
        for index, shift in enumerate(self.shifts):
            if shift.name.lower() in names:
                raise ValueError(f"shifts[{index}].name: {shift.name!r} is used twice")
            names.add(shift.name.lower())
        every = [parse_weekly(text) for shift in self.shifts for text in shift.hours]
        overlap = first_overlap(every)
        if overlap is not None:
            raise ValueError(
                f"shifts: {overlap[0]!r} and {overlap[1]!r} overlap; "
                "a moment may belong to one shift only"
            )
        return self
