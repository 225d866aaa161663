"""``hotline check`` and ``hotline schedule`` on schedules; bad schedules are one line each."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest

from hotline.check import run_check
from hotline.cli import main
from hotline.config import load_settings
from hotline.schedule.engine import Schedule
from hotline.schedule.report import parse_when

EXAMPLE = Path(__file__).parents[2] / "config" / "hotline.toml"

CONFIG = """
[[hotlines]]
name = "support"
[[hotlines.targets]]
number = "200"
[hotlines.schedule]
timezone = "Europe/Berlin"
open = ["Mon-Fri 08:00-20:00", "Sat 09:00-12:00"]
holidays = {{ country = "DE", subdivision = "BY" }}
{extra}
[[hotlines.schedule.shifts]]
name = "day"
hours = ["Mon-Fri 08:00-16:00"]
targets = [{{ number = "201" }}, {{ number = "202" }}]
[[hotlines.schedule.shifts]]
name = "evening"
hours = ["Mon-Fri 16:00-20:00"]
targets = [{{ number = "301" }}]
"""


def write(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "hotline.toml"
    path.write_text(CONFIG.format(extra=extra))
    return path


def check_status(path: Path, now: dt.datetime) -> str:
    out = io.StringIO()
    assert run_check(path, load_settings(path, {}), live=False, out=out, now=now) == 0
    (line,) = [ln for ln in out.getvalue().splitlines() if ln.startswith("  support: ")]
    return line


@pytest.mark.parametrize(
    "now",
    [
        dt.datetime(2026, 3, 27, 11, 0, tzinfo=dt.UTC),  # Friday, day shift
        dt.datetime(2026, 3, 27, 15, 30, tzinfo=dt.UTC),  # Friday, evening shift
        dt.datetime(2026, 3, 28, 15, 0, tzinfo=dt.UTC),  # Saturday afternoon: closed
        dt.datetime(2026, 4, 2, 17, 0, tzinfo=dt.UTC),  # Thursday before Easter
        dt.datetime(2026, 10, 24, 12, 0, tzinfo=dt.UTC),  # Saturday before the DST change
    ],
)
def test_check_prints_state_shift_and_next_change_that_read_back_true(
    tmp_path: Path, now: dt.datetime
) -> None:
    path = write(tmp_path)
    line = check_status(path, now)
    schedule = Schedule(load_settings(path, {}).hotline("support"))
    decision = schedule.decide(now)
    assert line.startswith(f"  support: {decision.state()} ({decision.rule})")
    # round trip: the printed next change is when the plan really changes, to that minute
    printed = line.split("; next change ", 1)[1]
    when_text, then = printed.split(": ", 1)
    at = parse_when(when_text)
    assert schedule.decide(at).state() == then
    assert schedule.decide(at - dt.timedelta(minutes=1)).key == decision.key
    assert schedule.decide(at).key != decision.key


def test_check_examples(tmp_path: Path) -> None:
    path = write(tmp_path)
    friday_noon = dt.datetime(2026, 3, 27, 11, 0, tzinfo=dt.UTC)
    assert check_status(path, friday_noon) == (
        "  support: open, shift day (hours Mon-Fri 08:00-20:00): 201, 202 [Europe/Berlin]; "
        "next change Fri 2026-03-27 16:00 +01:00: open, shift evening"
    )
    good_friday = dt.datetime(2026, 4, 3, 9, 0, tzinfo=dt.UTC)
    assert check_status(path, good_friday) == (
        "  support: closed (holiday 2026-04-03 Good Friday (DE-BY)) [Europe/Berlin]; "
        "next change Sat 2026-04-04 09:00 +02:00: open"
    )


def test_schedule_week(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path)
    code = main(
        ["schedule", "support", "--config", str(path), "--week", "--at", "2026-10-23T12:00"]
    )
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "support: week from Fri 2026-10-23 00:00 +02:00 to Fri 2026-10-30 00:00 +01:00 "
        "[Europe/Berlin]"
    )
    assert lines[1:5] == [
        "  Fri 2026-10-23 00:00 +02:00 .. Fri 2026-10-23 08:00 +02:00  "
        "closed (outside opening hours)",
        "  Fri 2026-10-23 08:00 +02:00 .. Fri 2026-10-23 16:00 +02:00  open, shift day "
        "(hours Mon-Fri 08:00-20:00): 201, 202   <- now",
        "  Fri 2026-10-23 16:00 +02:00 .. Fri 2026-10-23 20:00 +02:00  open, shift evening "
        "(hours Mon-Fri 08:00-20:00): 301",
        "  Fri 2026-10-23 20:00 +02:00 .. Sat 2026-10-24 09:00 +02:00  "
        "closed (outside opening hours)",
    ]
    # across the DST change on Sunday night, Monday opens at 08:00 local (+01:00)
    assert (
        "  Mon 2026-10-26 08:00 +01:00 .. Mon 2026-10-26 16:00 +01:00  open, shift day "
        "(hours Mon-Fri 08:00-20:00): 201, 202"
    ) in lines


def test_schedule_now_and_bad_options(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path)
    assert main(["schedule", "support", "--config", str(path), "--at", "2026-03-28 13:00"]) == 0
    assert capsys.readouterr().out == (
        "support: closed (outside opening hours) [Europe/Berlin]; "
        "next change Mon 2026-03-30 08:00 +02:00: open, shift day\n"
    )
    assert main(["schedule", "sales", "--config", str(path)]) == 2
    assert capsys.readouterr().err == (
        "hotline: no hotline 'sales' in the configuration; configured: support\n"
    )
    assert main(["schedule", "support", "--config", str(path), "--at", "friday"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert "--at friday: not a date/time" in err[0]


def test_example_config_shows_hours_holidays_and_two_shifts() -> None:
    settings = load_settings(EXAMPLE, {})
    schedule = settings.hotline("support").schedule
    assert schedule is not None
    assert schedule.open
    assert schedule.holidays is not None
    assert schedule.holidays.country == "DE"
    assert len(schedule.shifts) == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            'special = [{ date = "2026-12-31", open = ["09:00-25:00"] }]',
            "hotlines[0].schedule.special[0].open[0]: '25:00' is not a time of day; "
            "use 00:00 to 23:59 (24:00 as an end)",
        ),
        (
            'special = [{ date = "2026-12-31", open = ["09:00-12:00", "11:00-13:00"] }]',
            "hotlines[0].schedule.special[0].open: '09:00-12:00' and '11:00-13:00' overlap; "
            "merge them into one range",
        ),
        (
            'special = [{ date = "2026-12-31", open = [] }]',
            "hotlines[0].schedule.special[0].open: is empty; list ranges such as '09:00-12:00', "
            "or remove the key",
        ),
        (
            'special = [{ date = "31.12.2026", open = ["09:00-12:00"] }]',
            "hotlines[0].schedule.special[0].date: '31.12.2026' is not a date; write "
            "YYYY-MM-DD, e.g. 2026-12-24",
        ),
    ],
)
def test_bad_special_days_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str, message: str
) -> None:
    path = write(tmp_path, extra)
    assert main(["check", str(path)]) == 2
    assert capsys.readouterr().err == f"{path}: {message}\n"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'timezone = "Europe/Berlin"',
            'timezone = "Europe/Berlinn"',
            "hotlines[0].schedule.timezone: 'Europe/Berlinn' is not a known IANA time zone; "
            "use a name such as 'Europe/Berlin'",
        ),
        (
            'country = "DE"',
            'country = "XX"',
            "hotlines[0].schedule.holidays.country: 'XX' is not a country the holidays package "
            "knows; use an ISO 3166 code such as 'DE', 'AT', 'CH', 'US'",
        ),
        (
            'subdivision = "BY"',
            'subdivision = "XY"',
            "hotlines[0].schedule.holidays.subdivision: 'XY' is not a subdivision of DE; use one "
            "of: BB, BE, BW, BY, HB, HE, HH, MV, NI, NW, RP, SH, SL, SN, ST, TH, Augsburg",
        ),
        (
            '"Sat 09:00-12:00"',
            '"Sat 09:00-12:00", "Sat 11:00-13:00"',
            "hotlines[0].schedule.open: 'Sat 09:00-12:00' and 'Sat 11:00-13:00' overlap; "
            "merge them into one range",
        ),
        (
            '"Mon-Fri 16:00-20:00"',
            '"Mon-Fri 15:00-20:00"',
            "hotlines[0].schedule.shifts: 'Mon-Fri 08:00-16:00' and 'Mon-Fri 15:00-20:00' "
            "overlap; a moment may belong to one shift only",
        ),
        (
            'open = ["Mon-Fri 08:00-20:00", "Sat 09:00-12:00"]',
            "open = []",
            "hotlines[0].schedule.open: is empty; list ranges such as 'Mon-Fri 08:00-18:00', "
            "or remove the key",
        ),
        (
            '"Sat 09:00-12:00"',
            '"Sat 09:00-25:00"',
            "hotlines[0].schedule.open[1]: '25:00' is not a time of day; use 00:00 to 23:59 "
            "(24:00 as an end)",
        ),
        (
            '"Sat 09:00-12:00"',
            '"Sat 12:00-12:00"',
            "hotlines[0].schedule.open[1]: '12:00-12:00' is empty (starts where it ends); "
            "remove it or fix the times",
        ),
        (
            '"Sat 09:00-12:00"',
            '"Saturday-ish 09:00-12:00"',
            "hotlines[0].schedule.open[1]: 'ish' is not a weekday; use Mon, Tue, "
            "Wed, Thu, Fri, Sat, Sun (or 'daily')",
        ),
        (
            'targets = [{ number = "301" }]',
            "targets = []",
            "hotlines[0].schedule.shifts[1].targets: is empty; a shift needs at least one "
            "target to dial",
        ),
        (
            'subdivision = "BY" }',
            'subdivision = "BY", dates = ["2026-02-30"] }',
            "hotlines[0].schedule.holidays.dates[0]: '2026-02-30' is not a date; write "
            "YYYY-MM-DD, e.g. 2026-12-24",
        ),
    ],
)
def test_bad_schedules_are_one_line_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, message: str
) -> None:
    path = write(tmp_path)
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    assert main(["check", str(path)]) == 2
    assert capsys.readouterr().err == f"{path}: {message}\n"
