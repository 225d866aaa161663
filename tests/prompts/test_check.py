"""check_prompts: every prompt a hotline will play is in place, checked before any call."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hotline.prompts.catalogue import SLOT_NAMES
from hotline.prompts.check import HotlinePrompts, PromptPlan, check_prompts
from hotline.prompts.convert import convert_prompt
from hotline.prompts.store import custom_prompt_base, shipped_prompts_dir
from tests.prompts.audio import write_tone


@pytest.fixture
def sounds(tmp_path: Path) -> Path:
    """A sounds directory holding a copy of the default set."""
    root = tmp_path / "sounds"
    shutil.copytree(shipped_prompts_dir(), root)
    return root


def test_the_shipped_defaults_pass_for_both_languages() -> None:
    plan = PromptPlan(
        defaults_dir=shipped_prompts_dir(),
        hotlines=[HotlinePrompts("support", "en"), HotlinePrompts("vertrieb", "de")],
    )
    assert check_prompts(plan) == []


def test_a_converted_custom_prompt_passes(sounds: Path, tmp_path: Path) -> None:
    base = custom_prompt_base(sounds, "support", "intro")
    convert_prompt(write_tone(tmp_path / "welcome.wav"), base)
    for given in (base, base.with_name("intro.wav")):
        plan = PromptPlan(sounds, [HotlinePrompts("support", "de", {"intro": given})])
        assert check_prompts(plan) == []


def test_a_missing_custom_prompt_names_hotline_slot_and_path(sounds: Path) -> None:
    missing = custom_prompt_base(sounds, "support", "intro")
    plan = PromptPlan(
        sounds,
        [
            HotlinePrompts("sales", "en"),
            HotlinePrompts("support", "de", {"intro": missing}),
        ],
    )
    (problem,) = check_prompts(plan)
    assert problem.startswith("hotline support, prompt intro: ")
    assert f"{missing}.wav is missing" in problem
    assert "hotline prompts convert FILE --hotline support --slot intro" in problem
    assert "\n" not in problem


def test_a_custom_prompt_in_the_wrong_format_says_what_it_is_and_should_be(
    sounds: Path, tmp_path: Path
) -> None:
    base = custom_prompt_base(sounds, "support", "please_hold")
    base.parent.mkdir(parents=True)
    write_tone(base.with_name("please_hold.wav"), rate=44100, channels=2)
    plan = PromptPlan(sounds, [HotlinePrompts("support", "en", {"please_hold": base})])
    (problem,) = check_prompts(plan)
    assert problem.startswith("hotline support, prompt please_hold: custom prompt ")
    assert "is 44100 Hz stereo 16-bit, expected 8000 Hz mono 16-bit" in problem


def test_an_unreadable_custom_prompt(sounds: Path) -> None:
    base = custom_prompt_base(sounds, "support", "intro")
    base.parent.mkdir(parents=True)
    base.with_name("intro.wav").write_text("not audio")
    plan = PromptPlan(sounds, [HotlinePrompts("support", "en", {"intro": base})])
    (problem,) = check_prompts(plan)
    assert "hotline support, prompt intro:" in problem
    assert "is not a PCM WAV file" in problem


def test_a_broken_optional_wideband_file_is_reported(sounds: Path, tmp_path: Path) -> None:
    base = custom_prompt_base(sounds, "support", "intro")
    convert_prompt(write_tone(tmp_path / "welcome.wav"), base)
    write_tone(base.with_name("intro.wav16"), rate=8000, channels=1)
    plan = PromptPlan(sounds, [HotlinePrompts("support", "en", {"intro": base})])
    (problem,) = check_prompts(plan)
    assert "intro.wav16 is 8000 Hz mono 16-bit, expected 16000 Hz mono 16-bit" in problem


def test_a_narrowband_only_custom_prompt_is_enough(sounds: Path, tmp_path: Path) -> None:
    base = custom_prompt_base(sounds, "support", "intro")
    convert_prompt(write_tone(tmp_path / "welcome.wav"), base)
    base.with_name("intro.wav16").unlink()
    plan = PromptPlan(sounds, [HotlinePrompts("support", "en", {"intro": base})])
    assert check_prompts(plan) == []


def test_a_missing_default_prompt_is_reported_per_hotline(sounds: Path) -> None:
    (sounds / "de" / "goodbye.wav").unlink()
    plan = PromptPlan(sounds, [HotlinePrompts("a", "de"), HotlinePrompts("b", "en")])
    (problem,) = check_prompts(plan)
    assert problem.startswith("hotline a, prompt goodbye: default prompt ")
    assert str(sounds / "de" / "goodbye.wav") in problem


def test_only_the_slots_a_hotline_plays_are_checked(sounds: Path) -> None:
    (sounds / "en" / "enter_pin.wav").unlink()
    without_pin = [s for s in SLOT_NAMES if s != "enter_pin"]
    assert check_prompts(PromptPlan(sounds, [HotlinePrompts("a", "en", slots=without_pin)])) == []
    assert len(check_prompts(PromptPlan(sounds, [HotlinePrompts("a", "en")]))) == 1


def test_unknown_slots_and_languages_are_named(sounds: Path) -> None:
    plan = PromptPlan(
        sounds,
        [HotlinePrompts("a", "fr", {"intor": sounds / "x"}, slots=["intro", "welcome"])],
    )
    problems = check_prompts(plan)
    assert problems[0] == "hotline a: language 'fr' has no prompts; use one of de, en"
    assert problems[1].startswith("hotline a: 'intor' is not a prompt slot; valid slots: intro,")
    assert problems[2].startswith("hotline a: 'welcome' is not a prompt slot")
    assert len(problems) == 3


def test_a_missing_defaults_directory_is_one_line(tmp_path: Path) -> None:
    plan = PromptPlan(tmp_path / "nowhere", [HotlinePrompts("a", "en"), HotlinePrompts("b", "de")])
    assert check_prompts(plan) == [
        f"default prompts directory {tmp_path / 'nowhere'} does not exist; "
        "install the defaults there (hotline prompts install-defaults)"
    ]
