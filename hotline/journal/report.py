"""``hotline report``'s numbers: calls per hotline and period, by day, hour or agent.

The rows of the period are read once and counted here, in Python, so that
SQLite and PostgreSQL give the same numbers by construction (no two dialects
of date arithmetic and percentiles).  Definitions, which the README repeats:

* **answered**: calls connected to an agent; **answered rate** = answered / calls.
* **abandoned**: the caller hung up first; counted per step where they left.
* **wait**: arrival until an agent accepted, connected calls only; percentiles
  are nearest-rank (p50 of 1, 2, 3, 4 is 2), the plainest to check by hand.
* **offer** (per agent): an agent rung for a call in one hunt step.  Legs of
  one parallel step that reach the same agent are ONE offer, whose result is
  the best of its legs (confirmed over declined over not confirmed ...), so an
  agent is never credited twice for one call, and an agent who answered in a
  parallel step is credited once.
* **acceptance rate** = accepted / offers the agent could decide on (offers
  minus those where the caller hung up first or a colleague in the same
  parallel step took the call).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.journal.schema import attempts, calls
from hotline.journal.store import utc

GroupBy = Literal["day", "hour", "agent"]

#: an offer's result when its legs ended differently: the first that occurs wins
OFFER_PRECEDENCE = (
    "confirmed",
    "taken",
    "declined",
    "agent_hung_up",
    "not_confirmed",
    "answered_elsewhere",
    "no_answer",
    "busy",
    "unavailable",
    "congestion",
    "skipped",
    "caller_gone",
    "failed",
)
#: which column an offer's result counts in
AGENT_COLUMNS = {
    "confirmed": "accepted",
    "declined": "declined",
    "agent_hung_up": "declined",
    "not_confirmed": "not_confirmed",
    "no_answer": "no_answer",
    "busy": "busy_skipped",
    "unavailable": "busy_skipped",
    "congestion": "busy_skipped",
    "skipped": "busy_skipped",
    "caller_gone": "caller_gone",
    "taken": "answered_elsewhere",  # pressed 1 (or was being asked) as a colleague took it
    "answered_elsewhere": "answered_elsewhere",  # rang in a parallel step a colleague took
    "failed": "other",
}
#: which column a call's outcome counts in (every CallOutcome; tests/journal/test_report.py)
CALL_COLUMNS = {
    "connected": "answered",
    "abandoned": "abandoned",
    "pin_failed": "wrong_pin",
    "locked_out": "wrong_pin",
    "closed": "closed",
    "nobody_available": "nobody_available",
    "fallback": "fallback",
    "refused": "other",
    "failed": "other",
}
#: the agent columns in the order the report shows them; any other result counts as "other"
AGENT_ORDER = (
    "accepted",
    "declined",
    "not_confirmed",
    "no_answer",
    "busy_skipped",
    "answered_elsewhere",
    "caller_gone",
    "other",
)


@dataclass(frozen=True)
class CallRow:
    call_id: str
    hotline: str
    arrived: datetime  # aware UTC
    outcome: str
    step: str | None
    connected_to: str | None
    wait_seconds: float | None


@dataclass(frozen=True)
class AttemptRow:
    call_id: str
    attempt: int
    hunt_step: int
    number: str
    label: str | None
    outcome: str


@dataclass
class Journal:
    """The calls of one period (and their attempts), as read from the database."""

    calls: list[CallRow] = field(default_factory=list)
    attempts: list[AttemptRow] = field(default_factory=list)


async def read_period(
    engine: AsyncEngine, since: datetime, until: datetime, hotline: str | None = None
) -> Journal:
    """Calls that arrived in [since, until), optionally of one hotline, with their attempts."""
    # in UTC, as the times are stored: SQLite compares the text of the wall-clock time and
    # drops the offset, so Berlin's midnight (23:00 UTC) was read as 00:00 UTC and "today"
    # missed the calls of the first hour after local midnight (seen at 00:30 Berlin)
    since, until = since.astimezone(UTC), until.astimezone(UTC)
    where = [calls.c.arrived >= since, calls.c.arrived < until]
    if hotline is not None:
        where.append(calls.c.hotline == hotline)
    query = select(
        calls.c.call_id,
        calls.c.hotline,
        calls.c.arrived,
        calls.c.outcome,
        calls.c.step,
        calls.c.connected_to,
        calls.c.wait_seconds,
    ).where(*where)
    attempt_query = (
        select(
            attempts.c.call_id,
            attempts.c.attempt,
            attempts.c.hunt_step,
            attempts.c.number,
            attempts.c.label,
            attempts.c.outcome,
        )
        .join(calls, calls.c.call_id == attempts.c.call_id)
        .where(*where)
    )
    async with engine.connect() as conn:
        call_rows = [
            CallRow(
                r.call_id,
                r.hotline,
                utc(r.arrived),
                r.outcome,
                r.step,
                r.connected_to,
                r.wait_seconds,
            )
            for r in await conn.execute(query)
        ]
        attempt_rows = [
            AttemptRow(r.call_id, r.attempt, r.hunt_step, r.number, r.label, r.outcome)
            for r in await conn.execute(attempt_query)
        ]
    return Journal(call_rows, attempt_rows)


def nearest_rank(values: Sequence[float], q: float) -> float | None:
    """The q-quantile by nearest rank: the smallest value with at least q of them at or below."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def call_figures(rows: Iterable[CallRow]) -> dict[str, Any]:
    """Calls, answered rate, the ways calls ended, and the wait until connected."""
    rows = list(rows)
    counts = Counter(CALL_COLUMNS.get(r.outcome, "other") for r in rows)
    steps = Counter(r.step or "unknown" for r in rows if r.outcome == "abandoned")
    waits = [
        r.wait_seconds for r in rows if r.outcome == "connected" and r.wait_seconds is not None
    ]
    return {
        "calls": len(rows),
        "answered": counts["answered"],
        "answered_rate": _rate(counts["answered"], len(rows)),
        "abandoned": counts["abandoned"],
        "abandoned_at": dict(sorted(steps.items())),
        "wrong_pin": counts["wrong_pin"],
        "closed": counts["closed"],
        "nobody_available": counts["nobody_available"],
        "fallback": counts["fallback"],
        "other": counts["other"],  # refused (no license), failed (a bug or a broken dialplan)
        "wait_p50": nearest_rank(waits, 0.5),
        "wait_p90": nearest_rank(waits, 0.9),
        "wait_max": max(waits) if waits else None,
    }


def _offers(attempt_rows: Iterable[AttemptRow]) -> dict[tuple[str, int, str], str]:
    """One result per (call, hunt step, agent): the best result of that agent's legs."""
    rank = {outcome: i for i, outcome in enumerate(OFFER_PRECEDENCE)}
    offers: dict[tuple[str, int, str], str] = {}
    for a in attempt_rows:
        key = (a.call_id, a.hunt_step, a.number)
        best = offers.get(key)
        if best is None or rank.get(a.outcome, len(rank)) < rank.get(best, len(rank)):
            offers[key] = a.outcome
    return offers


def agent_figures(journal: Journal) -> list[dict[str, Any]]:
    """Per hotline and agent: offers and what became of them (see the module docstring)."""
    hotline_of = {c.call_id: c.hotline for c in journal.calls}
    labels: dict[str, str | None] = {}
    for a in journal.attempts:
        labels[a.number] = a.label or labels.get(a.number)
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for (call_id, _step, number), outcome in _offers(journal.attempts).items():
        tally = counts[(hotline_of[call_id], number)]
        tally["offered"] += 1
        tally[AGENT_COLUMNS.get(outcome, "other")] += 1
    rows = []
    for (hotline, number), tally in sorted(counts.items()):
        row: dict[str, Any] = {
            "hotline": hotline,
            "agent": number,
            "label": labels.get(number),
            "offered": tally["offered"],
        }
        row.update({column: tally[column] for column in AGENT_ORDER})
        decidable = tally["offered"] - tally["caller_gone"] - tally["answered_elsewhere"]
        row["acceptance_rate"] = _rate(tally["accepted"], decidable)
        rows.append(row)
    return rows


def period_key(arrived: datetime, by: GroupBy, tz: tzinfo) -> str:
    local = arrived.astimezone(tz)
    return local.strftime("%Y-%m-%d") if by == "day" else local.strftime("%Y-%m-%d %H:00")


def call_groups(journal: Journal, by: GroupBy, tz: tzinfo) -> list[dict[str, Any]]:
    """Per hotline and day (or hour): :func:`call_figures`, then one total row per hotline."""
    groups: dict[tuple[str, str], list[CallRow]] = defaultdict(list)
    per_hotline: dict[str, list[CallRow]] = defaultdict(list)
    for row in journal.calls:
        groups[(row.hotline, period_key(row.arrived, by, tz))].append(row)
        per_hotline[row.hotline].append(row)
    out = []
    for hotline in sorted(per_hotline):
        for (h, period), rows in sorted(groups.items()):
            if h == hotline:
                out.append({"hotline": hotline, by: period, **call_figures(rows)})
        out.append({"hotline": hotline, by: "total", **call_figures(per_hotline[hotline])})
    return out
