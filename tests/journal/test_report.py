"""``hotline report`` on a seeded journal: every number equals the one worked out by hand here."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hotline.cli import main
from hotline.config.journal import JournalConfig
from hotline.journal import store
from hotline.journal.report import read_period
from hotline.web.stats import JournalStats

Row = dict[str, Any]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _call(call_id: str, arrived: str, outcome: str, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "call_id": call_id,
        "hotline": "support",
        "caller": None,
        "arrived": _at(arrived),
        "outcome": outcome,
        "step": None,
        "connected_to": None,
        "connected_label": None,
        "wait_seconds": None,
        "talk_seconds": None,
        "hung_up_by": None,
        "duration": 60.0,
        "schedule": None,
        "shift": None,
    }
    row.update(kw)
    return row


def _attempts(call_id: str, *legs: tuple[int, int, str, str]) -> list[dict[str, Any]]:
    return [
        {
            "call_id": call_id,
            "attempt": attempt,
            "hunt_step": step,
            "number": number,
            "label": {"201": "Anna"}.get(number),
            "outcome": outcome,
            "seconds": 10.0,
            "dialstatus": None,
            "hangupcause": None,
        }
        for attempt, step, number, outcome in legs
    ]


CALLS = [
    # 2 November
    _call("c1", "2026-11-02 09:10", "connected", wait_seconds=20.0, connected_to="202"),
    _call("c2", "2026-11-02 09:50", "connected", wait_seconds=40.0, connected_to="201"),
    _call("c3", "2026-11-02 10:05", "abandoned", step="ringing"),
    _call("c4", "2026-11-02 10:30", "pin_failed"),
    _call("c5", "2026-11-02 14:00", "nobody_available"),
    # 3 November
    _call("c6", "2026-11-03 08:00", "connected", wait_seconds=10.0, connected_to="202"),
    _call("c7", "2026-11-03 08:30", "abandoned", step="pin"),
    _call("c8", "2026-11-03 12:00", "fallback"),
    _call("c9", "2026-11-03 22:00", "closed", schedule="after hours"),
    # another hotline, and support calls just outside the period
    _call("c10", "2026-11-02 11:00", "connected", hotline="sales", wait_seconds=5.0),
    _call("c11", "2026-11-04 00:30", "connected", wait_seconds=1.0),
    _call("c12", "2026-11-01 23:59", "pin_failed"),
]
ATTEMPTS = [
    *_attempts("c1", (1, 1, "201", "no_answer"), (2, 2, "202", "confirmed")),
    *_attempts("c2", (1, 1, "201", "confirmed")),
    *_attempts("c3", (1, 1, "201", "caller_gone")),
    *_attempts(
        "c5", (1, 1, "201", "declined"), (2, 2, "202", "not_confirmed"), (3, 3, "203", "busy")
    ),
    # a parallel step: 202 (on two devices) and 203 rung at once after 201; 202 answers
    *_attempts(
        "c6",
        (1, 1, "201", "no_answer"),
        (2, 2, "202", "confirmed"),
        (3, 2, "203", "answered_elsewhere"),
        (4, 2, "202", "answered_elsewhere"),
    ),
    *_attempts("c8", (1, 1, "201", "no_answer")),
    *_attempts("c10", (1, 1, "301", "confirmed")),
    *_attempts("c11", (1, 1, "201", "confirmed")),
]

HOTLINES = """
[[hotlines]]
name = "support"
[[hotlines.targets]]
number = "201"
[[hotlines]]
name = "sales"
[[hotlines.targets]]
number = "301"
"""


async def _seed(journal: JournalConfig, calls: list[Row], attempts: list[Row]) -> None:
    engine = store.make_engine(journal)
    try:
        await store.migrate(engine)
        await store.write_calls(engine, calls, attempts)
    finally:
        await engine.dispose()


@pytest.fixture
def seeded(journal_config: JournalConfig, tmp_path: Path) -> Path:
    """A config file whose journal holds CALLS and ATTEMPTS (the report runs its own loop)."""
    asyncio.run(_seed(journal_config, CALLS, ATTEMPTS))
    return _config_file(tmp_path, journal_config)


def _config_file(folder: Path, journal: JournalConfig) -> Path:
    where = (
        f'url = "{journal.url.get_secret_value()}"'
        if journal.url is not None
        else f'path = "{journal.path}"'
    )
    config = folder / "hotline.toml"
    config.write_text(f"[journal]\nenabled = true\n{where}\n{HOTLINES}", encoding="utf-8")
    return config


def report(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> dict[str, Any]:
    period = ["--since", "2026-11-02", "--until", "2026-11-03", "--tz", "UTC"]
    assert main(["report", "--config", str(config), *period, "--format", "json", *args]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def test_per_day_figures_equal_the_hand_computed_ones(
    seeded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = report(capsys, seeded, "--hotline", "support")
    assert result["since"] == "2026-11-02T00:00+00:00"
    assert result["until"] == "2026-11-04T00:00+00:00"  # --until's day is included
    rows = {row["day"]: row for row in result["rows"]}
    assert list(rows) == ["2026-11-02", "2026-11-03", "total"]
    assert rows["2026-11-02"] == {
        "hotline": "support",
        "day": "2026-11-02",
        "calls": 5,
        "answered": 2,
        "answered_rate": 0.4,
        "abandoned": 1,
        "abandoned_at": {"ringing": 1},
        "wrong_pin": 1,
        "closed": 0,
        "nobody_available": 1,
        "fallback": 0,
        "other": 0,
        "wait_p50": 20.0,  # waits 20, 40: nearest rank ceil(0.5 * 2) = 1st
        "wait_p90": 40.0,  # ceil(0.9 * 2) = 2nd
        "wait_max": 40.0,
    }
    assert rows["2026-11-03"] == {
        "hotline": "support",
        "day": "2026-11-03",
        "calls": 4,
        "answered": 1,
        "answered_rate": 0.25,
        "abandoned": 1,
        "abandoned_at": {"pin": 1},
        "wrong_pin": 0,
        "closed": 1,
        "nobody_available": 0,
        "fallback": 1,
        "other": 0,
        "wait_p50": 10.0,
        "wait_p90": 10.0,
        "wait_max": 10.0,
    }
    total = rows["total"]
    assert (total["calls"], total["answered"], total["answered_rate"]) == (9, 3, 0.3333)
    assert total["abandoned_at"] == {"pin": 1, "ringing": 1}
    # waits 10, 20, 40: p50 = ceil(1.5) = 2nd = 20, p90 = ceil(2.7) = 3rd = 40
    assert (total["wait_p50"], total["wait_p90"], total["wait_max"]) == (20.0, 40.0, 40.0)


def test_per_hour_and_every_hotline(seeded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = report(capsys, seeded, "--by", "hour")
    rows = {(row["hotline"], row["hour"]): row for row in result["rows"]}
    assert rows[("support", "2026-11-02 09:00")]["calls"] == 2
    assert rows[("support", "2026-11-02 09:00")]["answered_rate"] == 1.0
    assert rows[("support", "2026-11-02 10:00")]["calls"] == 2
    assert rows[("sales", "2026-11-02 11:00")]["answered"] == 1
    assert rows[("sales", "total")]["calls"] == 1
    assert rows[("support", "total")]["calls"] == 9
    assert sum(r["calls"] for k, r in rows.items() if k[0] == "support" and k[1] != "total") == 9


def test_agents_are_credited_once_per_offer(
    seeded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = report(capsys, seeded, "--by", "agent", "--hotline", "support")
    agents = {row["agent"]: row for row in result["rows"]}
    assert set(agents) == {"201", "202", "203"}
    # 201: c1 no answer, c2 accepted, c3 caller gone, c5 declined, c6 no answer, c8 no answer
    assert agents["201"] == {
        "hotline": "support",
        "agent": "201",
        "label": "Anna",
        "offered": 6,
        "accepted": 1,
        "busy_skipped": 0,
        "caller_gone": 1,
        "declined": 1,
        "no_answer": 3,
        "not_confirmed": 0,
        "answered_elsewhere": 0,
        "other": 0,
        "acceptance_rate": 0.2,  # 1 of the 5 offers where the caller was still there
    }
    # 202: c1 accepted, c5 voicemail-like, c6 accepted in the parallel step on one of its two
    # legs: one offer, one acceptance (not two offers, not an "answered elsewhere")
    assert (agents["202"]["offered"], agents["202"]["accepted"]) == (3, 2)
    assert agents["202"]["not_confirmed"] == 1
    assert agents["202"]["answered_elsewhere"] == 0
    assert agents["202"]["acceptance_rate"] == 0.6667
    # 203: c5 busy, c6 rang in the parallel step while 202 took the call: not held against
    # 203's acceptance rate (0 accepted of 1 decidable offer)
    assert (agents["203"]["offered"], agents["203"]["busy_skipped"]) == (2, 1)
    assert (agents["203"]["answered_elsewhere"], agents["203"]["accepted"]) == (1, 0)
    assert agents["203"]["acceptance_rate"] == 0.0
    # every answered call is credited to exactly one agent
    assert sum(a["accepted"] for a in agents.values()) == 3


def test_table_csv_and_plot(
    seeded: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    period = ["--since", "2026-11-02", "--until", "2026-11-03", "--tz", "UTC"]
    picture = tmp_path / "report.png"
    assert main(["report", "--config", str(seeded), *period, "--plot", str(picture)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0] == "2026-11-02T00:00+00:00 .. 2026-11-04T00:00+00:00 (UTC), by day"
    assert table[1].split()[:4] == ["hotline", "day", "calls", "answered"]
    total = next(line for line in table if line.startswith("support") and " total " in line)
    assert total.split()[2:5] == ["9", "3", "33.3%"]
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from matplotlib import image

    assert image.imread(picture).shape[:2] == (700, 1000)

    assert (
        main(["report", "--config", str(seeded), *period, "--format", "csv", "--by", "agent"]) == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("hotline,agent,label,offered,accepted,")
    assert lines[1].startswith("sales,301,,1,1,")


def test_default_period_is_the_last_seven_days(
    journal_config: JournalConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = time.time()
    recent = store.from_epoch(now - timedelta(days=6).total_seconds())
    old = store.from_epoch(now - timedelta(days=8).total_seconds())
    calls = [
        _call("new", "2026-01-01", "connected") | {"arrived": recent},
        _call("old", "2026-01-01", "connected") | {"arrived": old},
    ]
    asyncio.run(_seed(journal_config, calls, []))
    config = _config_file(tmp_path, journal_config)
    assert main(["report", "--config", str(config), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [(r["day"], r["calls"]) for r in rows][-1] == ("total", 1)


async def test_a_zones_day_is_read_from_its_own_midnight(journal_config: JournalConfig) -> None:
    """Periods bounded in a zone (the live page's today, local midnight) are read as the
    instants they are, on SQLite too: it compared the wall-clock text with the offset
    dropped, so Berlin's midnight (23:00 UTC) was read as 00:00 UTC and the page's "today"
    missed the calls of the first hour after local midnight (seen at 00:30 Berlin: 0 calls)."""
    berlin = ZoneInfo("Europe/Berlin")
    await _seed(
        journal_config,
        [
            _call("first", "2026-11-01 23:30", "connected"),  # 00:30 on 2 November in Berlin
            _call("last", "2026-11-02 22:30", "connected"),  # 23:30 in Berlin
            _call("next", "2026-11-02 23:30", "connected"),  # 00:30 on 3 November in Berlin
        ],
        [],
    )
    engine = store.make_engine(journal_config)
    try:
        day = await read_period(
            engine, datetime(2026, 11, 2, tzinfo=berlin), datetime(2026, 11, 3, tzinfo=berlin)
        )
        stats = JournalStats(
            engine, tz=berlin, now=lambda: datetime(2026, 11, 3, 0, 45, tzinfo=berlin)
        )
        today = await stats.figures("today", ["support"])
    finally:
        await engine.dispose()
    assert sorted(row.call_id for row in day.calls) == ["first", "last"]
    assert today["hotlines"][0]["figures"]["calls"] == 1  # "next"


def test_the_default_zone_keeps_its_dst_rules(
    journal_config: JournalConfig,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without --tz the hours are the machine zone's on each call's own date: 10:00 UTC is
    12:00 in a Berlin summer and 11:00 in its winter. Today's offset (the report's default
    until this test) put the calls of the other season an hour off, so what it printed
    depended on the date it ran."""
    winter = _call("w", "2026-01-15 10:00", "connected") | {"hotline": "sales"}
    summer = _call("s", "2026-07-15 10:00", "connected") | {"hotline": "sales"}
    asyncio.run(_seed(journal_config, [winter, summer], []))
    config = _config_file(tmp_path, journal_config)
    period = ["--since", "2026-01-01", "--until", "2026-12-31", "--by", "hour"]
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()  # the C library's local time too: the old default read it
    try:
        assert main(["report", "--config", str(config), *period, "--format", "json"]) == 0
    finally:
        monkeypatch.undo()
        time.tzset()
    result = json.loads(capsys.readouterr().out)
    assert [r["hour"] for r in result["rows"]] == ["2026-01-15 11:00", "2026-07-15 12:00", "total"]
    assert result["timezone"] == "Europe/Berlin"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "hotline: --since: 'yesterday' is not a date; use YYYY-MM-DD"),
        (["--tz", "Mars/Olympus"], "hotline: --tz: unknown time zone 'Mars/Olympus'"),
        (["--hotline", "nope"], "hotline: --hotline: no hotline 'nope' in the config"),
        (
            ["--since", "2026-11-03", "--until", "2026-11-01"],
            "hotline: --since 2026-11-03T00:00:00",
        ),
    ],
)
def test_bad_options_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    config = _config_file(tmp_path, JournalConfig(enabled=True, path=tmp_path / "absent.sqlite"))
    assert main(["report", "--config", str(config), *args]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(message)


def test_no_journal_yet_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config_file(tmp_path, JournalConfig(enabled=True, path=tmp_path / "none.sqlite"))
    assert main(["report", "--config", str(config)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line == (
        f"hotline: journal: {tmp_path / 'none.sqlite'} does not exist: nothing recorded yet "
        "(is [journal] enabled, and has hotline run served calls?)"
    )
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    config = _config_file(tmp_path, JournalConfig(enabled=True, path=empty))
    assert main(["report", "--config", str(config)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line == f"hotline: journal: {empty} holds no journal yet"


def test_every_outcome_has_its_column() -> None:
    """A new outcome (e.g. of a new hunt strategy) must be given its report column here."""
    from hotline.flow.outcomes import CallOutcome, TargetOutcome
    from hotline.journal.report import AGENT_COLUMNS, CALL_COLUMNS, OFFER_PRECEDENCE

    assert set(CALL_COLUMNS) == {o.value for o in CallOutcome}
    assert set(AGENT_COLUMNS) == {o.value for o in TargetOutcome}
    assert sorted(OFFER_PRECEDENCE) == sorted(AGENT_COLUMNS)
