"""`hotline prompts …` through a fresh argparse parser, as the CLI wires it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from hotline.cli import report
from hotline.errors import HotlineError
from hotline.prompts.catalogue import SLOTS, WAV8, WAV16
from hotline.prompts.commands import DEFAULT_SOUNDS_DIR, add_prompts_parser
from hotline.prompts.store import custom_prompt_path
from tests.prompts.audio import measure, write_tone


def _parser(default_sounds_dir: Path | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotline")
    commands = parser.add_subparsers(dest="command", required=True)
    add_prompts_parser(commands, default_sounds_dir=default_sounds_dir)
    return parser


def _run(argv: list[str], default_sounds_dir: Path | None = None) -> int:
    """The subcommand, its errors printed as ``hotline.cli.main`` prints them."""
    args = _parser(default_sounds_dir).parse_args(argv)
    try:
        code: int = args.func(args)
    except HotlineError as exc:
        return report(exc, sys.stderr)
    return code


def test_list_shows_every_slot_with_its_texts(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["prompts", "list"]) == 0
    out = capsys.readouterr().out
    for entry in SLOTS:
        assert f"{entry.name} ({entry.leg}):" in out
        assert f"    de: {entry.text('de')}" in out
        assert f"    en: {entry.text('en')}" in out


def test_list_one_language(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["prompts", "list", "--language", "de"]) == 0
    out = capsys.readouterr().out
    assert "    de: Willkommen" in out
    assert "    en:" not in out


def test_convert_one_file_into_a_hotlines_slot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_tone(tmp_path / "welcome.wav")
    sounds = tmp_path / "sounds"
    sounds.mkdir()
    argv = ["prompts", "convert", str(source), "--hotline", "support", "--slot", "intro"]
    assert _run([*argv, "--sounds-dir", str(sounds)]) == 0
    for fmt in (WAV8, WAV16):
        assert measure(custom_prompt_path(sounds, "support", "intro", fmt)).rate == fmt.rate
    out = capsys.readouterr().out
    assert "intro: 1.2 s" in out
    assert "[1/1]" not in out
    assert f'intro = "{sounds / "custom" / "support" / "intro"}"' in out


def test_the_sounds_dir_defaults_to_what_the_cli_passes(tmp_path: Path) -> None:
    source = write_tone(tmp_path / "welcome.wav")
    sounds = tmp_path / "configured"
    sounds.mkdir()
    argv = ["prompts", "convert", str(source), "--hotline", "support", "--slot", "intro"]
    assert _run(argv, default_sounds_dir=sounds) == 0
    assert custom_prompt_path(sounds, "support", "intro", WAV8).is_file()
    assert _parser().parse_args(argv).sounds_dir == DEFAULT_SOUNDS_DIR


def test_batch_by_slot_names_and_file_names_with_progress(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hold = write_tone(tmp_path / "hold-music-intro.wav")
    goodbye = write_tone(tmp_path / "goodbye.wav", tone_s=0.5)
    sounds = tmp_path / "sounds"
    sounds.mkdir()
    argv = ["prompts", "convert", f"please_hold={hold}", str(goodbye), "--hotline", "support"]
    assert _run([*argv, "--sounds-dir", str(sounds)]) == 0
    out = capsys.readouterr().out
    assert f"[1/2] please_hold: converting {hold} ..." in out
    assert "[1/2] please_hold: 1.2 s" in out
    assert f"[2/2] goodbye: converting {goodbye} ..." in out
    assert "[2/2] goodbye: 0.7 s" in out
    assert custom_prompt_path(sounds, "support", "please_hold", WAV8).is_file()
    assert custom_prompt_path(sounds, "support", "goodbye", WAV16).is_file()


def test_one_bad_file_in_a_batch_does_not_stop_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write_tone(tmp_path / "intro.wav")
    empty = tmp_path / "goodbye.mp3"
    empty.write_bytes(b"")
    sounds = tmp_path / "sounds"
    sounds.mkdir()
    argv = ["prompts", "convert", str(empty), str(good), "--hotline", "support"]
    assert _run([*argv, "--sounds-dir", str(sounds)]) == 1
    captured = capsys.readouterr()
    assert f"cannot convert {empty}: the file is empty (0 bytes)" in captured.err
    assert "1 of 2 recordings were not converted" in captured.err
    assert custom_prompt_path(sounds, "support", "intro", WAV8).is_file()
    assert not custom_prompt_path(sounds, "support", "goodbye", WAV8).exists()


@pytest.mark.parametrize(
    ("inputs", "extra", "says"),
    [
        (["welcome.wav"], [], "cannot tell which slot welcome.wav is for"),
        (["welcome=a.wav"], [], "cannot tell which slot welcome=a.wav is for"),
        (["a.wav", "b.wav"], ["--slot", "intro"], "--slot names the slot of one INPUT"),
        (["a.wav"], ["--slot", "intor"], "unknown prompt slot 'intor'"),
        (["intro=a.wav", "intro.mp3"], [], "slot intro is given more than once"),
        (["intro.wav"], ["--hotline", "../x"], "hotline name '../x'"),
        (["intro.wav"], ["--sounds-dir", "/nonexistent/sounds"], "/nonexistent/sounds does not"),
    ],
)
def test_usage_mistakes_are_one_line_before_anything_is_converted(
    inputs: list[str],
    extra: list[str],
    says: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hotline = [] if "--hotline" in extra else ["--hotline", "support"]
    sounds = [] if "--sounds-dir" in extra else ["--sounds-dir", str(tmp_path)]
    argv = ["prompts", "convert", *inputs, *hotline, *extra, *sounds]
    assert _run(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("hotline: ")
    assert says in err
    assert err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_install_defaults(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sounds = tmp_path / "sounds"
    assert _run(["prompts", "install-defaults", "--sounds-dir", str(sounds)]) == 0
    assert (sounds / "de" / "intro.wav").is_file()
    assert (sounds / "en" / "caller_gone.wav16").is_file()
    assert (
        f"installed {2 * 2 * len(SLOTS)} default prompt files under {sounds}"
        in capsys.readouterr().out
    )


def test_install_defaults_into_an_unwritable_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "sounds"
    blocker.write_text("not a directory")
    assert _run(["prompts", "install-defaults", "--sounds-dir", str(blocker)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"hotline: cannot write {blocker}/de/")
    assert err.count("\n") == 1


def test_a_subcommand_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["prompts"])
    assert "convert" in capsys.readouterr().err
