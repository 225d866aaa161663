"""Validated value types shared by every config section, and the sections' base model.

A section model subclasses :class:`ConfigModel` (frozen, unknown keys are errors)
and types its fields with these annotations, so that a value that would break an
AGI command line or a Dial argument list is refused at load time with the field
named, not discovered on a live call.
"""

from __future__ import annotations

import re
import string
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

#: characters that would break an AGI command line or a Dial argument list
_UNSAFE_CHARS = {
    "\n": "a newline",
    "\r": "a carriage return",
    "\0": "a NUL byte",
    '"': "a double quote",
    "'": "a single quote",
    "\\": "a backslash",
    " ": "a space",
    "\t": "a tab",
    ",": "a comma (Dial's argument separator)",
    "|": "a '|' (old argument separator)",
    "^": "a '^' (Gosub argument separator)",
    "$": "a '$' (dialplan expression)",
    "{": "a '{'",
    "}": "a '}'",
    ";": "a ';' (config comment)",
}

MAX_RING_TIME = 600


def _unsafe(value: str, allowed: str = "") -> str | None:
    """Name the first character of ``value`` that is unsafe on an AGI line."""
    for char in value:
        if char in _UNSAFE_CHARS and char not in allowed:
            return _UNSAFE_CHARS[char]
        if not char.isprintable():
            return f"the control character {char!r}"
    return None


def safe_token(value: str) -> str:
    """A non-empty word that is safe on an AGI command line."""
    if not value:
        raise ValueError("must not be empty")
    bad = _unsafe(value)
    if bad:
        raise ValueError(f"contains {bad}, which would break the AGI command line; remove it")
    return value


def absolute_path(value: str, example: str = "/var/lib/hotline/sounds") -> str:
    """An absolute path that is safe on an AGI command line (Asterisk plays files by it)."""
    if not value.startswith("/"):
        raise ValueError(
            f"{value!r} must be an absolute path (as both this host and Asterisk see it), "
            f"e.g. {example}"
        )
    return safe_token(value)


def _dialable(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9+*#._\-]+", value):
        bad = _unsafe(value)
        what = f"contains {bad}" if bad else f"{value!r} is not a dialable number"
        raise ValueError(f"{what}; use digits, letters and + * # . _ - only")
    return value


def _printable_label(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    if any(not c.isprintable() for c in value):
        raise ValueError("contains a newline or control character; use one line of text")
    return value


def _dial_template(value: str) -> str:
    """A dial string with exactly one field, ``{number}``."""
    fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
    if "number" not in fields:
        raise ValueError(f"{value!r} has no '{{number}}' placeholder, e.g. 'PJSIP/{{number}}'")
    others = sorted({f for f in fields if f != "number"})
    if others:
        raise ValueError(f"unknown placeholder(s) {others}; only '{{number}}' is replaced")
    bad = _unsafe(value.replace("{number}", ""))
    if bad:
        raise ValueError(f"contains {bad}, which would break the Dial command; remove it")
    return value


Port = Annotated[int, Field(ge=1, le=65535)]
RingTime = Annotated[int, Field(ge=1, le=MAX_RING_TIME, description="seconds")]
SafeToken = Annotated[str, AfterValidator(safe_token)]
AbsolutePath = Annotated[str, AfterValidator(absolute_path)]
Dialable = Annotated[str, AfterValidator(_dialable)]
Label = Annotated[str, AfterValidator(_printable_label)]
DialTemplate = Annotated[str, AfterValidator(_dial_template)]
Digit = Annotated[str, Field(pattern=r"^[0-9*#]$")]
Language = Literal["de", "en"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class ConfigModel(BaseModel):
    """Frozen, and unknown keys are errors: a typo must never pass silently."""

    model_config = ConfigDict(frozen=True, extra="forbid")
