"""``hotline report``: what the journal says about a period, per hotline."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hotline.config import Settings
from hotline.errors import HotlineError
from hotline.schedule.engine import machine_zone

if TYPE_CHECKING:  # the database and plotting stack loads only when a report is made
    from hotline.journal.render import Format
    from hotline.journal.report import GroupBy, Journal

#: the default period: the last 7 days up to now
DEFAULT_DAYS = 7


class ReportError(HotlineError):
    """The report cannot be made (bad period, no journal, database unreachable)."""

    exit_code = 2


def add_report_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """The ``report`` subcommand's parser (the caller adds the config arguments)."""
    parser = commands.add_parser(
        "report",
        help="calls, answered rate, waits and agents from the call journal",
        description=(
            "Per hotline and period (default: the last 7 days), grouped by day, hour or agent: "
            "calls, answered rate, abandoned (and where), wrong PIN, closed, nobody available, "
            "fallback, wait until connected p50/p90/max; per agent: offered, accepted, declined, "
            "not confirmed, no answer, busy/skipped, acceptance rate."
        ),
    )
    parser.add_argument("--hotline", metavar="NAME", help="one hotline (default: each of them)")
    parser.add_argument(
        "--since", metavar="DATE", help="YYYY-MM-DD or YYYY-MM-DDTHH:MM (default: 7 days ago)"
    )
    parser.add_argument(
        "--until", metavar="DATE", help="end, exclusive; a plain date includes that day"
    )
    parser.add_argument("--by", choices=("day", "hour", "agent"), default="day")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    parser.add_argument("--plot", metavar="FILE.png", type=Path, help="also draw it (PNG)")
    parser.add_argument(
        "--tz",
        metavar="ZONE",
        help="time zone of days and hours, e.g. Europe/Berlin (default: local)",
    )
    return parser


def _zone(name: str | None) -> tzinfo:
    if name is None:
        # the machine's zone with its DST rules; today's offset (datetime.now().astimezone())
        # put every call on the other side of a DST change an hour off
        return machine_zone()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ReportError(
            f"--tz: unknown time zone {name!r}; use a name like Europe/Berlin or UTC"
        ) from None


def _moment(option: str, text: str, tz: tzinfo, *, end: bool) -> datetime:
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if end:
                day += timedelta(days=1)
            return datetime(day.year, day.month, day.day, tzinfo=tz)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ReportError(
            f"{option}: {text!r} is not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def period(
    since: str | None, until: str | None, tz: tzinfo, now: datetime | None = None
) -> tuple[datetime, datetime]:
    end = _moment("--until", until, tz, end=True) if until else (now or datetime.now(UTC))
    start = (
        _moment("--since", since, tz, end=False) if since else end - timedelta(days=DEFAULT_DAYS)
    )
    if start >= end:
        raise ReportError(f"--since {start.isoformat()} is not before --until {end.isoformat()}")
    return start, end


async def _read(
    settings: Settings, hotline: str | None, since: datetime, until: datetime
) -> Journal:
    from hotline.journal import store
    from hotline.journal.report import read_period

    journal = settings.journal
    if journal.url is None and not journal.path.exists():
        raise ReportError(
            f"journal: {journal.path} does not exist: nothing recorded yet "
            "(is [journal] enabled, and has hotline run served calls?)"
        )
    engine = store.make_engine(journal)
    try:
        revision = await store.current_revision(engine)
        data = await read_period(engine, since, until, hotline)  # it takes them to UTC
    except Exception as exc:  # noqa: BLE001 - any driver error: one line, no traceback
        if revision_missing(exc):
            raise ReportError(f"journal: {journal.where()} holds no journal yet") from None
        raise ReportError(
            f"journal: cannot read {journal.where()}: {type(exc).__name__}: {str(exc)[:200]}"
        ) from None
    finally:
        await engine.dispose()
    if revision is None:
        raise ReportError(f"journal: {journal.where()} holds no journal yet")
    return data


def revision_missing(exc: Exception) -> bool:
    """A database without the journal's tables (e.g. a wrong URL or an empty file)."""
    text = str(exc).lower()
    return "no such table" in text or ("does not exist" in text and "relation" in text)


def run_report(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    """Read the period, print the figures (and draw them); exit 0."""
    from hotline.journal.render import plot, render
    from hotline.journal.report import agent_figures, call_groups

    names = [h.name for h in settings.hotlines]
    if args.hotline is not None and args.hotline not in names:
        raise ReportError(
            f"--hotline: no hotline {args.hotline!r} in the config ({', '.join(names)})"
        )
    tz = _zone(args.tz)
    since, until = period(args.since, args.until, tz)
    journal = asyncio.run(_read(settings, args.hotline, since, until))
    by: GroupBy = args.by
    rows: list[dict[str, Any]] = (
        agent_figures(journal) if by == "agent" else call_groups(journal, by, tz)
    )
    meta = {
        "since": since.isoformat(timespec="minutes"),
        "until": until.isoformat(timespec="minutes"),
        "timezone": str(tz),
        "by": by,
        "hotline": args.hotline,
    }
    fmt: Format = args.format
    out.write(render(rows, fmt, meta))
    if args.plot is not None:
        waits = [
            c.wait_seconds
            for c in journal.calls
            if c.outcome == "connected" and c.wait_seconds is not None
        ]
        try:
            plot(rows, waits, by, args.plot)
        except OSError as exc:
            raise ReportError(f"--plot: cannot write {args.plot}: {exc.strerror or exc}") from None
    return 0
