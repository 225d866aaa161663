"""Issue 19's targets read over several windows (benchmarks/pool.py, report.own_block_ms)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from benchmarks import pool, report
from benchmarks.errors import BenchmarkError


def _run(number: int, cpu: float, **extra: Any) -> dict[str, Any]:
    return {
        "run": number,
        "cpu_us_per_command": cpu,
        "correct_pct": 100.0,
        "turnaround_p99_ms": 1.0,
        "loop_cpu_lag_max_ms": 5.0,
        **extra,
    }


def _window(
    hotline: Sequence[float],
    bare: Sequence[float],
    panoramisk: Sequence[float],
    python: str = "3.13.0",
    **extra: Any,
) -> dict[str, Any]:
    runs = {
        server: {"1000": [_run(i + 1, cpu, **extra) for i, cpu in enumerate(cpus)]}
        for server, cpus in (("hotline", hotline), ("bare", bare), ("panoramisk", panoramisk))
    }
    return {"machine": {"python": python}, "loop": "uvloop", "modes": {"paced": {"runs": runs}}}


def _watched(
    rounds: int, every_beat: float, late: int, stolen: int, unstolen: float | None
) -> dict[str, Any]:
    """A window whose simulator watched the steal, every runtime run with these late beats."""
    return _window(
        [90] * rounds,
        [70] * rounds,
        [80] * rounds,
        loop_cpu_lag_max_ms=every_beat,
        late_beats=late,
        late_beats_stolen=stolen,
        loop_cpu_lag_unstolen_ms=unstolen,
    )


def _without_machine() -> dict[str, Any]:
    window = _window([90], [70], [80])
    del window["machine"]
    return window


def _targets(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["target"].split(",")[0].split(" (")[0]: t for t in result["targets"]}


def test_the_ratios_are_the_pooled_medians_not_one_windows() -> None:
    over = _window([100, 100, 100], [70, 70, 70], [80, 80, 80])  # 1.25x panoramisk alone
    under = _window([90, 90, 90], [70, 70, 70], [85, 85, 85])  # 1.06x alone
    result = pool.pooled([("a", over), ("b", under)])

    assert [w["ratios"]["panoramisk"] for w in result["windows"]] == [1.25, 1.059]
    assert result["cpu_us_per_command"]["hotline"] == 95.0
    assert result["cpu_us_per_command"]["panoramisk"] == 82.5
    assert result["ratios"]["panoramisk"] == round(95 / 82.5, 3)
    found = _targets(result)
    assert found["CPU per command / panoramisk's"]["met"] is True
    assert found["CPU per command / panoramisk's"]["measured"].startswith("1.15x")
    assert "6 rounds' ratios" in found["CPU per command / panoramisk's"]["measured"]
    # the same windows read one at a time disagree
    alone = _targets(pool.pooled([("a", over)]))
    assert alone["CPU per command / panoramisk's"]["met"] is False


def test_p99_and_correctness_read_every_run_of_every_window() -> None:
    quiet = _window([90] * 3, [70] * 3, [80] * 3)
    slow = _window([90] * 3, [70] * 3, [80] * 3)
    slow["modes"]["paced"]["runs"]["hotline"]["1000"][2]["turnaround_p99_ms"] = 6.5
    slow["modes"]["paced"]["runs"]["hotline"]["1000"][1]["correct_pct"] = 99.9
    found = _targets(pool.pooled([("quiet", quiet), ("slow", slow)]))

    assert found["p99 turnaround"]["met"] is False
    assert found["p99 turnaround"]["measured"] == "6.500 ms"
    assert found["1000 concurrent calls"]["met"] is False
    assert found["1000 concurrent calls"]["measured"] == "99.9 %"
    # neither window watched the steal: the block is not read
    assert found["longest event-loop block"]["met"] is None
    assert found["longest event-loop block"]["measured"] == "no run to read"


def test_the_block_leaves_out_beats_the_hosts_steal_was_near() -> None:
    # a 30 ms beat with steal near it, every other beat under 10 ms: not the server's
    watched = _watched(3, every_beat=30.0, late=1, stolen=1, unstolen=None)
    unwatched = _window([90] * 3, [70] * 3, [80] * 3, loop_cpu_lag_max_ms=25.0)
    result = pool.pooled([("unwatched", unwatched), ("watched", watched)])

    block = _targets(result)["longest event-loop block"]
    assert block["met"] is True
    assert block["measured"].startswith("10.00 ms; 30.00 ms with the 3 late beat(s)")
    assert "3 runs that watched the steal" in block["target"]
    text = pool.render(result)
    assert "| unwatched | 3 |" in text
    assert "not watched / 25.00" in text
    assert "10.00 / 30.00" in text


def test_a_block_away_from_the_steal_is_the_servers() -> None:
    window = _watched(2, every_beat=21.0, late=2, stolen=1, unstolen=20.5)
    block = _targets(pool.pooled([("w", window)]))["longest event-loop block"]

    assert block["met"] is False
    assert block["measured"].startswith("20.50 ms")


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        ({"loop_cpu_lag_max_ms": 22.7}, 22.7),  # not watched: every beat
        ({"loop_cpu_lag_max_ms": 6.0, "late_beats": 0, "late_beats_stolen": 0}, 6.0),
        ({"loop_cpu_lag_max_ms": 40.0, "late_beats": 2, "late_beats_stolen": 2}, 10.0),
        (
            {
                "loop_cpu_lag_max_ms": 40.0,
                "late_beats": 2,
                "late_beats_stolen": 1,
                "loop_cpu_lag_unstolen_ms": 12.5,
            },
            12.5,
        ),
    ],
)
def test_own_block(run: dict[str, Any], expected: float) -> None:
    assert report.own_block_ms(run) == expected


def test_windows_of_different_pythons_are_not_pooled() -> None:
    with pytest.raises(BenchmarkError, match=r"3\.11\.7 on uvloop, 3\.13\.0 on uvloop"):
        pool.pooled(
            [
                ("a", _window([90], [70], [80], python="3.13.0")),
                ("b", _window([90], [70], [80], python="3.11.7")),
            ]
        )


def test_the_command_reads_files_and_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = tmp_path / "one.json"
    one.write_text(json.dumps(_window([90] * 3, [70] * 3, [80] * 3)))
    several = tmp_path / "several.json"
    several.write_text(json.dumps({"b": _window([88] * 3, [66] * 3, [77] * 3)}))
    out = tmp_path / "pooled.json"

    assert pool.main([str(one), f"{several}#b", "--json", str(out)]) == 0
    assert "| **pooled** | 6 |" in capsys.readouterr().out
    assert json.loads(out.read_text())["rounds"] == 6


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: "missing.json", "missing.json: cannot be read"),
        (lambda p: (p.write_text("{"), str(p))[1], "not JSON"),
        (lambda p: (p.write_text("{}"), f"{p}#w")[1], "has no window 'w'"),
        (lambda p: (p.write_text('{"modes": {}}'), str(p))[1], "no paced load in it"),
        (
            lambda p: (p.write_text(json.dumps(_without_machine())), str(p))[1],
            "a window lacks what benchmarks.load writes (KeyError: 'machine')",
        ),
    ],
)
def test_what_is_not_a_window_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: Any, message: str
) -> None:
    assert pool.main([make(tmp_path / "w.json")]) == 1
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_rounds_that_do_not_pair_leave_only_the_pooled_ratio() -> None:
    window = _window([90, 90], [70, 70], [80, 80])
    for number, run in enumerate(window["modes"]["paced"]["runs"]["panoramisk"]["1000"], 7):
        run["run"] = number
    found = _targets(pool.pooled([("w", window)]))

    assert found["CPU per command / panoramisk's"]["measured"] == "1.12x"
    assert "rounds' ratios" in found["CPU per command / bare's"]["measured"]
