"""The live page's periods start at the first moment of the local day, also where
midnight does not exist (a DST switch at 00:00)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hotline.web.stats import since

BERLIN = ZoneInfo("Europe/Berlin")
#: Chile moves its clocks from 00:00 to 01:00 (2026-09-06, 04:00 UTC): no local midnight
SANTIAGO = ZoneInfo("America/Santiago")


def test_today_starts_at_local_midnight() -> None:
    now = dt.datetime(2026, 3, 29, 12, 0, tzinfo=BERLIN)  # Berlin's switch is at 02:00
    assert since("today", now, BERLIN) == dt.datetime(2026, 3, 28, 23, 0, tzinfo=dt.UTC)
    week = since("week", now, BERLIN)
    assert week == dt.datetime(2026, 3, 22, 23, 0, tzinfo=dt.UTC)  # six days earlier, CET


def test_a_day_without_midnight_starts_at_its_first_moment() -> None:
    now = dt.datetime(2026, 9, 6, 12, 0, tzinfo=SANTIAGO)
    start = since("today", now, SANTIAGO)
    first_moment = dt.datetime(2026, 9, 6, 4, 0, tzinfo=dt.UTC)  # 01:00 -03:00
    assert start == first_moment
    # not an hour of the day before: 03:59 UTC is still 23:59 on the 5th there
    assert (first_moment - dt.timedelta(minutes=1)).astimezone(SANTIAGO).day == 5
