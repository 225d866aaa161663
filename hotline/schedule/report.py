"""What ``hotline check`` and ``hotline schedule`` print about a schedule.

Times are printed as ``2026-03-27 18:00 +01:00`` (local time with its UTC
offset, parseable with ``%Y-%m-%d %H:%M %z``), so an admin sees the offset on
DST days and a script can read the line back.
"""

from __future__ import annotations

import datetime as dt

from hotline.schedule.engine import HORIZON, Decision, Schedule

WEEK = dt.timedelta(days=7)
#: the format every time is printed in (and read back with)
TIME_FORMAT = "%Y-%m-%d %H:%M %z"


def when(moment: dt.datetime, schedule: Schedule) -> str:
    """``Fri 2026-03-27 18:00 +01:00`` in the schedule's zone."""
    local = schedule.local(moment)
    offset = local.strftime("%z")
    return f"{local:%a %Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"


def parse_when(text: str) -> dt.datetime:
    """The inverse of :func:`when` (the weekday is checked by the date)."""
    return dt.datetime.strptime(text.split(" ", 1)[1], TIME_FORMAT)


def _targets(decision: Decision) -> str:
    if not decision.open:
        return ""
    numbers = ", ".join(t.number for t in decision.targets) or "nobody (every target off hours)"
    return f": {numbers}"


def state(decision: Decision) -> str:
    """``open, shift day`` / ``open`` / ``closed``, and what decided."""
    return f"{decision.state()} ({decision.rule})"


def status_line(schedule: Schedule, now: dt.datetime) -> str:
    """``hotline check``: open or closed now, the active shift, and the next change."""
    decision = schedule.decide(now)
    zone = schedule.zone.key
    line = f"  {schedule.hotline.name}: {state(decision)}{_targets(decision)} [{zone}]"
    change = schedule.next_change(now)
    if change is None:
        return f"{line}; no change in the next {HORIZON.days} days"
    at, then = change
    return f"{line}; next change {when(at, schedule)}: {then.state()}"


def week_lines(schedule: Schedule, now: dt.datetime) -> list[str]:
    """``hotline schedule HOTLINE --week``: today from midnight and the six days after."""
    local_now = schedule.local(now)
    midnight = dt.datetime.combine(local_now.date(), dt.time(), tzinfo=schedule.zone)
    end = dt.datetime.combine(local_now.date() + WEEK, dt.time(), tzinfo=schedule.zone)
    lines = [
        f"{schedule.hotline.name}: week from {when(midnight, schedule)} "
        f"to {when(end, schedule)} [{schedule.zone.key}]"
    ]
    for start, until, decision in schedule.segments(midnight, end):
        mark = "   <- now" if start <= now < until else ""
        lines.append(
            f"  {when(start, schedule)} .. {when(until, schedule)}  "
            f"{state(decision)}{_targets(decision)}{mark}"
        )
    return lines
