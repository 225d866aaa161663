"""``hotline check`` on bad configs: exit 2, one line per problem naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.cli import main

GOOD_HOTLINE = """
[[hotlines]]
name = "support"
pin = "1234"
[[hotlines.targets]]
number = "201"
"""


def _target(number: str = "201", extra: str = "") -> str:
    return f'[[hotlines]]\nname = "support"\n{extra}\n[[hotlines.targets]]\nnumber = "{number}"\n'


# (id, toml text, expected field path, expected words in the message)
BAD_CONFIGS = [
    ("toml-syntax", 'name = "x\n', "TOML syntax error", "line 1"),
    ("unknown-top-key", "[asterisk]\nhots = 1\n" + GOOD_HOTLINE, "asterisk.hots", "unknown key"),
    (
        "unknown-target-key",
        GOOD_HOTLINE + 'lable = "typo"\n',
        "hotlines[0].targets[0].lable",
        "unknown key",
    ),
    ("pin-not-digits", _target(extra='pin = "12a4"'), "hotlines[0].pin", "digits only"),
    ("no-targets", '[[hotlines]]\nname = "x"\ntargets = []\n', "hotlines[0].targets", "empty"),
    ("missing-targets", '[[hotlines]]\nname = "x"\n', "hotlines[0].targets", "missing"),
    ("no-hotlines", "[agi]\nport = 4573\n", "hotlines", "missing"),
    (
        "duplicate-names",
        GOOD_HOTLINE + GOOD_HOTLINE.replace('"1234"', '"99"'),
        "hotlines[1].name",
        "already used",
    ),
    ("dial-without-number", _target(extra='dial = "PJSIP/201"'), "hotlines[0].dial", "{number}"),
    (
        "dial-other-placeholder",
        _target(extra='dial = "PJSIP/{number}@{host}"'),
        "hotlines[0].dial",
        "unknown placeholder",
    ),
    ("ring-time-zero", _target(extra="ring_time = 0"), "hotlines[0].ring_time", "greater than"),
    ("ring-time-too-long", _target(extra="ring_time = 601"), "hotlines[0].ring_time", "600"),
    (
        "target-ring-time-zero",
        GOOD_HOTLINE + "ring_time = 0\n",
        "hotlines[0].targets[0].ring_time",
        "greater than",
    ),
    ("number-with-space", _target(number="20 1"), "hotlines[0].targets[0].number", "space"),
    ("number-with-comma", _target(number="201,t"), "hotlines[0].targets[0].number", "comma"),
    ("number-with-caret", _target(number="201^x"), "hotlines[0].targets[0].number", "'^'"),
    ("number-with-quote", _target(number='20\\"1'), "hotlines[0].targets[0].number", "quote"),
    ("number-with-newline", _target(number="20\\n1"), "hotlines[0].targets[0].number", "newline"),
    ("dial-with-pipe", _target(extra='dial = "PJSIP/{number}|t"'), "hotlines[0].dial", "'|'"),
    (
        "label-with-newline",
        GOOD_HOTLINE + 'label = "Anna\\nrm"\n',
        "hotlines[0].targets[0].label",
        "newline",
    ),
    ("agi-port-too-high", "[agi]\nport = 70000\n" + GOOD_HOTLINE, "agi.port", "65535"),
    ("ami-port-zero", "[asterisk]\nport = 0\n" + GOOD_HOTLINE, "asterisk.port", "greater than"),
    ("bad-language", _target(extra='language = "fr"'), "hotlines[0].language", "'de' or 'en'"),
    ("bad-name", _target().replace('"support"', '"sup port"'), "hotlines[0].name", "usable name"),
    (
        "same-confirm-digits",
        GOOD_HOTLINE + '[hotlines.confirm]\ndigit = "2"\n',
        "hotlines[0].confirm",
        "differ",
    ),
    (
        "secret-file-missing",
        '[asterisk]\nsecret_file = "/nonexistent/ami"\n' + GOOD_HOTLINE,
        "asterisk",
        "cannot read /nonexistent/ami",
    ),
    ("bad-log-level", "[logging]\nlevel = 'LOUD'\n" + GOOD_HOTLINE, "logging.level", "'DEBUG'"),
]


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [pytest.param(text, field, words, id=case) for case, text, field, words in BAD_CONFIGS],
)
def test_bad_config_exits_2_with_one_line_naming_the_field(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    field: str,
    words: str,
) -> None:
    monkeypatch.delenv("HOTLINE_CONFIG", raising=False)
    config = tmp_path / "hotline.toml"
    config.write_text(text, encoding="utf-8")

    code = main(["check", str(config)])

    out, err = capsys.readouterr()
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"{config}: {field}"), lines[0]
    assert words in lines[0]
    assert "Traceback" not in out + err


def test_missing_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(tmp_path / "absent.toml")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == f"{tmp_path / 'absent.toml'}: config file not found; " + (
        "copy config/hotline.toml or pass --config PATH"
    )


def test_several_problems_give_one_line_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "hotline.toml"
    config.write_text(
        "[agi]\nport = 0\n" + _target(number="1 2", extra='pin = "x"'), encoding="utf-8"
    )
    assert main(["check", str(config)]) == 2
    lines = capsys.readouterr().err.splitlines()
    fields = sorted(line.split(": ")[1] for line in lines)
    assert fields == ["agi.port", "hotlines[0].pin", "hotlines[0].targets[0].number"]


def test_example_config_checks_ok(capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).parents[2] / "config" / "hotline.toml"
    assert main(["check", str(example)]) == 0
    out = capsys.readouterr().out
    assert "configuration OK, 2 hotlines" in out
    assert "1234" not in out  # the PIN is never printed


def test_check_reports_a_missing_custom_prompt_by_hotline_and_slot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "custom" / "support" / "intro"
    config = tmp_path / "hotline.toml"
    config.write_text(
        GOOD_HOTLINE.replace(
            "[[hotlines.targets]]", f'[hotlines.prompts]\nintro = "{missing}"\n[[hotlines.targets]]'
        ),
        encoding="utf-8",
    )
    assert main(["check", str(config)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("hotline support, prompt intro: ")
    assert str(missing) in line
    assert "hotline prompts convert" in line


def test_unknown_prompt_slot_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "hotline.toml"
    config.write_text(
        GOOD_HOTLINE.replace(
            "[[hotlines.targets]]", '[hotlines.prompts]\nintr = "/x/intro"\n[[hotlines.targets]]'
        ),
        encoding="utf-8",
    )
    assert main(["check", str(config)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "hotlines[0].prompts.intr" in line
    assert "not a prompt slot" in line
