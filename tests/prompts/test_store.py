"""The sounds-directory layout shared by the runtime, the converter and Asterisk."""

from __future__ import annotations

import stat
from pathlib import Path, PurePosixPath

import pytest

from hotline.prompts.catalogue import FORMATS, LANGUAGES, SLOTS, WAV8, WAV16
from hotline.prompts.errors import PromptError
from hotline.prompts.store import (
    custom_prompt_base,
    custom_prompt_path,
    default_prompt_base,
    default_prompt_path,
    install_default_prompts,
    playback_name,
    playback_name_for_file,
    shipped_prompts_dir,
    write_atomically,
)


def test_default_and_custom_paths(tmp_path: Path) -> None:
    assert default_prompt_path(tmp_path, "de", "intro", WAV8) == tmp_path / "de" / "intro.wav"
    assert default_prompt_path(tmp_path, "en", "goodbye", WAV16) == tmp_path / "en/goodbye.wav16"
    assert default_prompt_base(tmp_path, "en", "goodbye") == tmp_path / "en" / "goodbye"
    assert custom_prompt_base(tmp_path, "support", "intro") == tmp_path / "custom/support/intro"
    assert custom_prompt_path(tmp_path, "support", "intro", WAV16) == (
        tmp_path / "custom" / "support" / "intro.wav16"
    )


def test_playback_names_are_absolute_paths_without_extension() -> None:
    sounds = "/srv/asterisk/hotline-sounds"
    assert playback_name(sounds, "support", "de", "enter_pin", overridden=False) == (
        "/srv/asterisk/hotline-sounds/de/enter_pin"
    )
    assert playback_name(PurePosixPath(sounds), "support", "de", "intro", overridden=True) == (
        "/srv/asterisk/hotline-sounds/custom/support/intro"
    )


@pytest.mark.parametrize(
    ("sounds", "hotline", "lang", "slot_name", "says"),
    [
        ("sounds", "support", "en", "intro", "absolute"),
        ("/var/lib/my sounds", "support", "en", "intro", "blanks"),
        ("/var/lib/sounds", "support", "fr", "intro", "'fr'"),
        ("/var/lib/sounds", "support", "en", "welcome", "'welcome'"),
        ("/var/lib/sounds", "../etc", "en", "intro", "'../etc'"),
    ],
)
def test_playback_name_refuses_what_asterisk_could_not_find(
    sounds: str, hotline: str, lang: str, slot_name: str, says: str
) -> None:
    with pytest.raises(PromptError, match=says):
        playback_name(sounds, hotline, lang, slot_name, overridden=hotline != "support")


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "sales team", "-x", "x" * 65])
def test_hotline_names_must_be_one_safe_path_component(tmp_path: Path, name: str) -> None:
    with pytest.raises(PromptError, match="cannot name a prompt directory"):
        custom_prompt_base(tmp_path, name, "intro")


def test_write_atomically_creates_dirs_and_a_world_readable_file(tmp_path: Path) -> None:
    dst = tmp_path / "custom" / "support" / "intro.wav"
    write_atomically(dst, b"one")
    write_atomically(dst, b"two")
    assert dst.read_bytes() == b"two"
    assert stat.S_IMODE(dst.stat().st_mode) == 0o644
    assert [p.name for p in dst.parent.iterdir()] == ["intro.wav"]


def test_write_atomically_into_an_unwritable_place_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "custom"
    blocker.write_text("a file where a directory should be")
    with pytest.raises(PromptError, match=r"cannot write .*intro\.wav: .*; check the directory"):
        write_atomically(blocker / "support" / "intro.wav", b"x")


def test_install_default_prompts_copies_the_whole_set(tmp_path: Path) -> None:
    written = install_default_prompts(tmp_path / "sounds")
    assert len(written) == len(LANGUAGES) * len(SLOTS) * len(FORMATS)
    for lang in LANGUAGES:
        for entry in SLOTS:
            for fmt in FORMATS:
                copied = default_prompt_path(tmp_path / "sounds", lang, entry.name, fmt)
                original = default_prompt_path(shipped_prompts_dir(), lang, entry.name, fmt)
                assert copied.read_bytes() == original.read_bytes()


def test_install_default_prompts_names_a_missing_source_file(tmp_path: Path) -> None:
    source = tmp_path / "partial"
    (source / "de").mkdir(parents=True)
    with pytest.raises(PromptError, match=r"partial/de/intro\.wav cannot be read"):
        install_default_prompts(tmp_path / "sounds", source=source)


@pytest.mark.parametrize(
    ("configured", "name"),
    [
        (
            "/var/lib/hotline/sounds/custom/support/intro",
            "/var/lib/hotline/sounds/custom/support/intro",
        ),
        ("/srv/s/intro.wav", "/srv/s/intro"),
        (PurePosixPath("/srv/s/intro.wav16"), "/srv/s/intro"),
        ("/srv/s/intro.v2", "/srv/s/intro.v2"),
    ],
)
def test_playback_name_for_a_configured_file(configured: str | PurePosixPath, name: str) -> None:
    assert playback_name_for_file(configured) == name


@pytest.mark.parametrize("configured", ["intro.wav", "/srv/my prompts/intro.wav", '/srv/"x"'])
def test_playback_name_for_a_file_asterisk_cannot_be_told(configured: str) -> None:
    with pytest.raises(PromptError, match="must be absolute and free of blanks"):
        playback_name_for_file(configured)
