"""``hotline schedule HOTLINE [--week] [--at TIME]``: a hotline's plan now, or for a week."""

from __future__ import annotations

import datetime as dt
from typing import TextIO

from hotline.config import Settings
from hotline.errors import HotlineError
from hotline.schedule.engine import Schedule
from hotline.schedule.report import status_line, week_lines


class ScheduleOptionError(HotlineError):
    """A hotline name or a time on the command line that cannot be used."""

    exit_code = 2


def parse_at(text: str | None, schedule: Schedule) -> dt.datetime:
    """``--at``: ISO date/time, local to the schedule's zone unless it has an offset."""
    if text is None:
        return dt.datetime.now(dt.UTC)
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ScheduleOptionError(
            f"--at {text}: not a date/time; write e.g. 2026-12-24T10:00 or '2026-12-24 10:00+01:00'"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=schedule.zone)
    return moment


def run_schedule(
    settings: Settings, hotline: str, *, week: bool, at: str | None, out: TextIO
) -> int:
    names = [h.name for h in settings.hotlines]
    if hotline not in names:
        raise ScheduleOptionError(
            f"no hotline {hotline!r} in the configuration; configured: {', '.join(names)}"
        )
    schedule = Schedule(settings.hotline(hotline))
    now = parse_at(at, schedule)
    lines = week_lines(schedule, now) if week else [status_line(schedule, now).strip()]
    for line in lines:
        print(line, file=out)
    return 0
