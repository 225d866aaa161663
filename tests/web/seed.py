"""A journal with known calls, written with the journal's own store before the runtime starts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotline.config.journal import JournalConfig
from hotline.journal import store


@dataclass(frozen=True)
class Seeded:
    outcome: str
    ago: float  # seconds before now
    wait: float | None = None
    attempts: tuple[tuple[str, str], ...] = ()  # (number, outcome)


def yesterdays_noon(zone: dt.tzinfo) -> dt.datetime:
    """The "now" the seeded calls are placed before and the runtime's clock is pinned to:
    noon of yesterday in ``zone``, so "today"'s calls, 10-50 s before it, are inside today
    whatever the wall clock says (seeded before the real now, the test failed in the first
    50 s after local midnight: 2 of the 5 calls, seen at 00:00:20), and a clock that is not
    the real one shows the page counts on the runtime's clock. Yesterday, not a fixed date:
    the journal deletes calls older than ``keep_days`` (365) before the real now."""
    local = dt.datetime.now(zone)
    day = local.date() - dt.timedelta(days=1)
    return dt.datetime(day.year, day.month, day.day, 12, tzinfo=zone)


#: today: 5 calls (3 answered after 5, 15 and 45 s, 1 abandoned, 1 nobody available)
TODAY = (
    Seeded("connected", 10, 5.0, (("201", "confirmed"),)),
    Seeded("connected", 20, 15.0, (("201", "confirmed"),)),
    Seeded("connected", 30, 45.0, (("202", "no_answer"), ("201", "confirmed"))),
    Seeded("abandoned", 40),
    Seeded("nobody_available", 50, None, (("201", "no_answer"), ("202", "busy"))),
)
#: two days ago: 2 more answered calls (waits 25 and 130 s), in the last 7 days only
EARLIER = (
    Seeded("connected", 2 * 86400, 25.0, (("201", "confirmed"),)),
    Seeded("connected", 2 * 86400 + 60, 130.0, (("202", "confirmed"),)),
)


async def seed_journal(path: Path, calls: tuple[Seeded, ...], at: dt.datetime) -> list[float]:
    """Write ``calls`` (hotline support), arrived their ``ago`` before ``at``, to a new SQLite
    journal; returns their arrival epochs."""
    engine = store.make_engine(JournalConfig(enabled=True, path=path))
    now = at.timestamp()
    call_rows: list[dict[str, Any]] = []
    attempt_rows: list[dict[str, Any]] = []
    for index, call in enumerate(calls):
        call_id = f"1795300000.{index}"
        call_rows.append(
            {
                "call_id": call_id,
                "hotline": "support",
                "caller": None,
                "arrived": store.from_epoch(now - call.ago),
                "outcome": call.outcome,
                "step": "ringing" if call.outcome == "abandoned" else None,
                "connected_to": "201" if call.outcome == "connected" else None,
                "connected_label": None,
                "wait_seconds": call.wait,
                "talk_seconds": 60.0 if call.wait is not None else None,
                "hung_up_by": "caller",
                "duration": 100.0,
                "schedule": None,
                "shift": None,
            }
        )
        attempt_rows += [
            {
                "call_id": call_id,
                "attempt": n,
                "hunt_step": n,
                "number": number,
                "label": "Anna" if number == "201" else None,
                "outcome": outcome,
                "seconds": 5.0,
                "dialstatus": None,
                "hangupcause": None,
            }
            for n, (number, outcome) in enumerate(call.attempts, 1)
        ]
    try:
        await store.migrate(engine)
        await store.write_calls(engine, call_rows, attempt_rows)
    finally:
        await engine.dispose()
    return [now - call.ago for call in calls]
