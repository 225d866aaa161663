"""The prompt catalogue: every slot the caller and confirm flows play, with its texts.

This is the one place that names the prompt slots.  The flows refer to slots
by name, the default audio in ``prompts/<lang>/`` is generated from these
texts (``scripts/generate_prompts.py``), and every slot can be overridden per
hotline by the admin's own recording.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from hotline.prompts.errors import PromptError

Leg = Literal["caller", "agent"]

#: languages every slot has a text (and a shipped default recording) for
LANGUAGES: tuple[str, ...] = ("de", "en")


@dataclass(frozen=True)
class AudioFormat:
    """One telephony file format Asterisk plays without transcoding surprises."""

    #: file extension Asterisk's format_wav registers for it (without the dot)
    extension: str
    #: sample rate in Hz
    rate: int
    channels: int = 1
    #: bytes per sample (2 = signed 16-bit little-endian PCM)
    sample_width: int = 2


#: narrowband ``.wav`` (8 kHz, what every channel can take) and wideband
#: ``.wav16`` (16 kHz, Asterisk's slin16 WAV extension); Asterisk picks the
#: cheaper one for the channel's codec when both sit next to each other.
WAV8 = AudioFormat(extension="wav", rate=8000)
WAV16 = AudioFormat(extension="wav16", rate=16000)
FORMATS: tuple[AudioFormat, ...] = (WAV8, WAV16)


@dataclass(frozen=True)
class PromptSlot:
    """A point in a call flow where a prompt is played."""

    name: str
    #: which side of the call hears it
    leg: Leg
    #: the words, per language code in :data:`LANGUAGES`
    texts: Mapping[str, str]
    #: when and why the flow plays it (for admins choosing what to record)
    description: str

    def text(self, language: str) -> str:
        """The slot's words in ``language``; a clear error for a language we have no text in."""
        try:
            return self.texts[language]
        except KeyError:
            raise PromptError(
                f"prompt language {language!r} is not supported; use one of: {', '.join(LANGUAGES)}"
            ) from None


def _slot(name: str, leg: Leg, description: str, *, de: str, en: str) -> PromptSlot:
    return PromptSlot(name, leg, MappingProxyType({"de": de, "en": en}), description)


SLOTS: tuple[PromptSlot, ...] = (
    _slot(
        "intro",
        "caller",
        "caller: greeting after the PIN (or at once without a PIN); admins often record their own",
        de="Willkommen bei der Hotline.",
        en="Welcome to the hotline.",
    ),
    _slot(
        "enter_pin",
        "caller",
        "caller: asks for the PIN; played inside GET DATA so digits typed over it count",
        de="Bitte geben Sie Ihre PIN ein und drücken Sie anschließend die Rautetaste.",
        en="Please enter your PIN, followed by the hash key.",
    ),
    _slot(
        "wrong_pin",
        "caller",
        "caller: a wrong PIN while attempts are left",
        de="Diese PIN ist leider nicht richtig. Bitte versuchen Sie es noch einmal.",
        en="That PIN is not correct. Please try again.",
    ),
    _slot(
        "goodbye",
        "caller",
        "caller: too many wrong PINs, then the call is hung up",
        de="Zu viele falsche Versuche. Auf Wiederhören.",
        en="Too many incorrect attempts. Goodbye.",
    ),
    _slot(
        "please_hold",
        "caller",
        "caller: before the hunt starts (music on hold follows)",
        de="Bitte bleiben Sie am Apparat, wir verbinden Sie.",
        en="Please hold, we are connecting you.",
    ),
    _slot(
        "nobody_available",
        "caller",
        "caller: no agent accepted the call",
        de="Leider ist im Moment niemand erreichbar. Bitte versuchen Sie es später noch einmal.",
        en="Sorry, nobody is available right now. Please try again later.",
    ),
    _slot(
        "fallback",
        "caller",
        "caller: before the fallback destination (e.g. voicemail); may be skipped by config",
        de="Bitte hinterlassen Sie eine Nachricht nach dem Signalton.",
        en="Please leave a message after the tone.",
    ),
    _slot(
        "closed",
        "caller",
        "caller: the call arrived outside opening hours (or on a holiday); the closed "
        "destination or the hang-up follows",
        de="Die Hotline ist zurzeit geschlossen. Bitte rufen Sie während unserer "
        "Öffnungszeiten wieder an.",
        en="The hotline is closed right now. Please call again during our opening hours.",
    ),
    _slot(
        "confirm_call",
        "agent",
        "agent: whisper before bridging; names the default confirm digit 1 "
        "(override this slot when the confirm digit is changed)",
        de="Hotline-Anruf. Drücken Sie die 1 zum Annehmen oder eine andere Taste zum Ablehnen.",
        en="Hotline call. Press 1 to accept, or any other key to decline.",
    ),
    _slot(
        "caller_number_is",
        "agent",
        "agent: before the caller's number is read out with SAY DIGITS",
        de="Die Nummer des Anrufers lautet",
        en="The caller's number is",
    ),
    _slot(
        "accepted",
        "agent",
        "agent: the agent pressed the confirm digit and is being bridged",
        de="Sie werden jetzt verbunden.",
        en="Connecting you now.",
    ),
    _slot(
        "taken",
        "agent",
        "agent: a parallel step rang several agents and a colleague took the call first",
        de="Ein Kollege hat den Anruf bereits angenommen.",
        en="A colleague has already taken this call.",
    ),
    _slot(
        "caller_gone",
        "agent",
        "agent: the agent accepted, but the caller had already hung up",
        de="Der Anrufer hat bereits aufgelegt.",
        en="The caller has already hung up.",
    ),
)

SLOT_NAMES: tuple[str, ...] = tuple(s.name for s in SLOTS)

_BY_NAME: Mapping[str, PromptSlot] = MappingProxyType({s.name: s for s in SLOTS})


def slot(name: str) -> PromptSlot:
    """The slot called ``name``; a typo is one line listing the valid names."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise PromptError(
            f"unknown prompt slot {name!r}; valid slots: {', '.join(SLOT_NAMES)}"
        ) from None


def check_language(language: str) -> str:
    """``language`` if prompts exist for it, else one clear line naming the valid codes."""
    if language not in LANGUAGES:
        raise PromptError(
            f"prompt language {language!r} is not supported; use one of: {', '.join(LANGUAGES)}"
        )
    return language
