"""The slot catalogue the flows play from."""

from __future__ import annotations

import pytest

from hotline.errors import HotlineError
from hotline.prompts.catalogue import (
    FORMATS,
    LANGUAGES,
    SLOT_NAMES,
    SLOTS,
    WAV8,
    WAV16,
    check_language,
    slot,
)
from hotline.prompts.errors import PromptError

#: the names the call flows are written against; renaming one breaks them
FLOW_SLOTS = (
    "intro",
    "enter_pin",
    "wrong_pin",
    "goodbye",
    "please_hold",
    "nobody_available",
    "confirm_call",
    "caller_number_is",
    "taken",
    "accepted",
    "caller_gone",
    "fallback",
    "closed",
)


def test_the_catalogue_has_exactly_the_slots_the_flows_play() -> None:
    assert sorted(SLOT_NAMES) == sorted(FLOW_SLOTS)
    assert len(set(SLOT_NAMES)) == len(SLOT_NAMES)


def test_every_slot_has_a_text_in_every_language_and_a_description() -> None:
    assert LANGUAGES == ("de", "en")
    for entry in SLOTS:
        assert set(entry.texts) == set(LANGUAGES), entry.name
        assert all(text.strip() for text in entry.texts.values()), entry.name
        assert entry.description.strip()


def test_legs() -> None:
    agent = {s.name for s in SLOTS if s.leg == "agent"}
    assert agent == {"confirm_call", "caller_number_is", "accepted", "caller_gone", "taken"}
    assert {s.leg for s in SLOTS} == {"caller", "agent"}


def test_confirm_call_names_the_default_digit_1() -> None:
    entry = slot("confirm_call")
    assert "1" in entry.text("de")
    assert "Press 1" in entry.text("en")


def test_unknown_slot_is_one_line_listing_the_valid_names() -> None:
    with pytest.raises(PromptError) as caught:
        slot("intor")
    message = str(caught.value)
    assert isinstance(caught.value, HotlineError)
    assert "'intor'" in message
    assert "intro" in message
    assert "\n" not in message


def test_unknown_language() -> None:
    assert check_language("de") == "de"
    with pytest.raises(PromptError, match=r"'fr'.*de, en"):
        check_language("fr")
    with pytest.raises(PromptError, match="'fr'"):
        slot("intro").text("fr")


def test_formats_are_narrowband_and_wideband_mono_16_bit() -> None:
    assert FORMATS == (WAV8, WAV16)
    assert (WAV8.extension, WAV8.rate, WAV8.channels, WAV8.sample_width) == ("wav", 8000, 1, 2)
    assert (WAV16.extension, WAV16.rate, WAV16.channels, WAV16.sample_width) == (
        "wav16",
        16000,
        1,
        2,
    )
