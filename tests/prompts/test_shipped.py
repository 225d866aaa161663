"""The default prompts in prompts/<lang>/: every slot, every language, telephony format, speech."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hotline.prompts.catalogue import FORMATS, LANGUAGES, SLOTS, AudioFormat
from hotline.prompts.store import default_prompt_path, shipped_prompts_dir
from tests.prompts.audio import measure

REPO_PROMPTS = Path(__file__).resolve().parents[2] / "prompts"

#: speech levelled to about -20 dBFS RMS; silence or a broken synthesis sits far below
RMS_FLOOR_DBFS = -30.0


def test_the_shipped_set_is_found_in_a_source_checkout() -> None:
    assert shipped_prompts_dir() == REPO_PROMPTS


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.extension)
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("slot_name", [s.name for s in SLOTS])
def test_every_slot_ships_in_every_language_and_format_as_speech(
    slot_name: str, lang: str, fmt: AudioFormat
) -> None:
    path = default_prompt_path(REPO_PROMPTS, lang, slot_name, fmt)
    assert path.is_file(), f"{path} is missing: run scripts/generate_prompts.py"
    got = measure(path)
    assert (got.rate, got.channels, got.sample_width, got.comptype) == (
        fmt.rate,
        fmt.channels,
        fmt.sample_width,
        "NONE",
    )
    assert 0.7 <= got.duration_s <= 10.0
    assert got.rms_dbfs > RMS_FLOOR_DBFS
    assert got.peak_dbfs <= 0.0
    # trimmed: speech starts and ends within a fraction of a second
    assert got.leading_silence_s < 0.2
    assert got.trailing_silence_s < 0.4


def test_nothing_but_the_catalogue_is_shipped() -> None:
    expected = {
        f"{lang}/{s.name}.{fmt.extension}" for lang in LANGUAGES for s in SLOTS for fmt in FORMATS
    }
    shipped = {str(p.relative_to(REPO_PROMPTS)) for p in REPO_PROMPTS.rglob("*") if p.is_file()} - {
        "manifest.json"
    }
    assert shipped == expected


def test_the_shipped_audio_was_generated_from_the_current_texts() -> None:
    """Changing a text in the catalogue means running scripts/generate_prompts.py again."""
    manifest = json.loads((REPO_PROMPTS / "manifest.json").read_text("utf-8"))
    for lang in LANGUAGES:
        made = manifest["languages"][lang]["slots"]
        assert {name: entry["text"] for name, entry in made.items()} == {
            s.name: s.text(lang) for s in SLOTS
        }


def test_german_and_english_prompts_differ() -> None:
    """A language mix-up in generation (both from one voice/text) would make them alike."""
    for s in SLOTS:
        de = default_prompt_path(REPO_PROMPTS, "de", s.name, FORMATS[0]).read_bytes()
        en = default_prompt_path(REPO_PROMPTS, "en", s.name, FORMATS[0]).read_bytes()
        assert de != en
