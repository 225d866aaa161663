"""Today / the last 7 days for the page, from the call journal.

The numbers are ``hotline report``'s (:mod:`hotline.journal.report`: one
definition of answered rate, abandoned, waits and per-agent offers); this
module only picks the period, adds the two charts' counts, and keeps the
answer for :data:`CACHE_SECONDS` so that pages left open do not query the
database more than twice a minute.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.journal.report import CallRow, agent_figures, call_figures, read_period
from hotline.schedule.engine import machine_zone
from hotline.web.charts import bar_chart

Period = Literal["today", "week"]
PERIODS: tuple[Period, ...] = ("today", "week")
#: a period's numbers are read again at most this often
CACHE_SECONDS = 30.0
#: the wait chart's bars: upper bounds in seconds (the last bar is "more")
WAIT_BOUNDS = (10, 20, 30, 60, 120)


def since(period: Period, now: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """Local midnight today, or six days before it (today and the 6 days before)."""
    local = now.astimezone(tz)
    midnight = dt.datetime(local.year, local.month, local.day, tzinfo=tz)
    start = midnight if period == "today" else midnight - dt.timedelta(days=6)
    # through UTC: where the clocks skip midnight (a DST switch at 00:00) the day starts at
    # 01:00, and a time in the gap compares unequal to every moment (tests/web/test_stats_period.py)
    return start.astimezone(dt.UTC).astimezone(tz)


def wait_bars(rows: Sequence[CallRow]) -> list[tuple[str, int]]:
    """Connected calls by their wait until an agent accepted."""
    waits = [
        r.wait_seconds for r in rows if r.outcome == "connected" and r.wait_seconds is not None
    ]
    labels = [f"<{WAIT_BOUNDS[0]}s"]
    labels += [f"{a}-{b}s" for a, b in itertools.pairwise(WAIT_BOUNDS)]
    labels.append(f">{WAIT_BOUNDS[-1]}s")
    counts = [0] * len(labels)
    for wait in waits:
        index = next((i for i, bound in enumerate(WAIT_BOUNDS) if wait < bound), len(WAIT_BOUNDS))
        counts[index] += 1
    return list(zip(labels, counts, strict=True))


def hour_bars(rows: Sequence[CallRow], tz: dt.tzinfo) -> list[tuple[str, int]]:
    """Calls by the local hour they arrived in (summed over the period's days)."""
    hours = Counter(r.arrived.astimezone(tz).hour for r in rows)
    return [(f"{h:02d}", hours[h]) for h in range(24)]


class JournalStats:
    """The page's numbers for one period, per hotline and per agent."""

    def __init__(
        self,
        engine: AsyncEngine,
        tz: dt.tzinfo | None = None,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.engine = engine
        self.tz = tz or machine_zone()
        self.now = now
        self._cache: dict[Period, tuple[float, dict[str, Any]]] = {}

    async def figures(self, period: Period, hotlines: Sequence[str]) -> dict[str, Any]:
        cached = self._cache.get(period)
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        now = self.now()
        start = since(period, now, self.tz)
        journal = await read_period(self.engine, start, now + dt.timedelta(seconds=1))
        by_hotline: dict[str, list[CallRow]] = defaultdict(list)
        for row in journal.calls:
            by_hotline[row.hotline].append(row)
        names = list(hotlines) + sorted(set(by_hotline) - set(hotlines))
        result = {
            "journal": True,
            "period": period,
            "since": start.isoformat(),
            "timezone": str(self.tz),
            "hotlines": [
                {
                    "hotline": name,
                    "figures": call_figures(by_hotline[name]),
                    "charts": {
                        "wait": bar_chart(wait_bars(by_hotline[name]), title="wait"),
                        "hours": bar_chart(
                            hour_bars(by_hotline[name], self.tz), title="hours", label_every=3
                        ),
                    },
                }
                for name in names
            ],
            "agents": agent_figures(journal),
        }
        self._cache[period] = (time.monotonic(), result)
        return result
