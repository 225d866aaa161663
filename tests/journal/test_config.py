"""`[journal]` and `[metrics]`: check prints where they are; mistakes are one line each."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.cli import main

HOTLINE = '[[hotlines]]\nname = "support"\n[[hotlines.targets]]\nnumber = "201"\n'


def _check(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    config = tmp_path / "hotline.toml"
    config.write_text(text + HOTLINE, encoding="utf-8")
    code = main(["check", str(config)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_check_prints_the_metrics_url_and_the_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _check(
        tmp_path,
        "[metrics]\nenabled = true\n[http]\nport = 9550\npage = true\n"
        '[journal]\nenabled = true\nurl = "postgresql://hl:s3cr3t-pw@db.example.org:5433/calls"\n'
        'caller = "hashed"\n',
        capsys,
    )
    assert code == 0
    assert "metrics: http://127.0.0.1:9550/metrics" in out.splitlines()
    assert "live page: http://127.0.0.1:9550/" in out.splitlines()
    assert (
        "journal: postgresql://db.example.org:5433/calls (callers hashed, kept 365 days)"
        in out.splitlines()
    )
    assert "s3cr3t-pw" not in out


def test_check_says_when_they_are_off(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _check(tmp_path, "", capsys)
    assert "metrics: off ([metrics] enabled = false)" in out
    assert "live page: off ([http] page = false)" in out
    assert "journal: off ([journal] enabled = false)" in out


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ('[journal]\nurl = "mysql://x:pw-9183@y/z"\n', "journal.url", "PostgreSQL URL"),
        ('[journal]\nurl = "postgresql://x:pw-9183@y:port/z"\n', "journal.url", "is not a URL"),
        ('[journal]\ncaller = "clear"\n', "journal.caller", "'full', 'masked' or 'hashed'"),
        ("[journal]\nkeep_days = 0\n", "journal.keep_days", "greater than or equal to 1"),
        ("[http]\nport = 70000\n", "http.port", "65535"),
    ],
)
def test_bad_values_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, field: str, words: str
) -> None:
    code, _, err = _check(tmp_path, text, capsys)
    assert code == 2
    (line,) = err.splitlines()
    assert f": {field}: " in line
    assert words in line
    assert "pw-9183" not in err  # a password in a bad URL is not echoed
