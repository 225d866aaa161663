"""Timing of media commands in virtual time (pure functions, no I/O).

A media command occupies a window of virtual time.  Inside it, the far end
may press keys (:class:`Press`) or hang up; these functions say what happens
first, the way res_agi's ``STREAM FILE`` / ``WAIT FOR DIGIT`` / ``GET DATA``
would: an escape digit stops a prompt, any other digit during a prompt is
thrown away (docs/asterisk/facts.md, fact 6; run 17 in tests/sim/recordings),
``GET DATA`` collects digits typed over its prompt.

Windows are half-open, ``[start, end)``: a key pressed exactly when a prompt
ends belongs to the next command, so nothing is counted twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

#: samples per second of Asterisk's ``endpos`` (8 kHz slin)
SAMPLE_RATE = 8000
ANY_DIGIT = "0123456789*#ABCD"


@dataclass(frozen=True)
class Press:
    """A key the far end presses at a virtual moment."""

    at: float
    digit: str


@dataclass(frozen=True)
class Outcome:
    """How a media window ended: played out, a digit, or the far end hung up."""

    kind: Literal["done", "digit", "hangup"]
    at: float
    digit: str = ""
    #: index into the press list of the press that was used (``digit``)
    press: int = -1


def _inside(moment: float, start: float, end: float) -> bool:
    return start <= moment < end or moment == start == end


def first_event(
    start: float,
    end: float,
    presses: Sequence[Press],
    accept: str,
    hangup_at: float | None,
    *,
    first_press: int = 0,
) -> Outcome:
    """The first accepted key or hang-up in ``[start, end)``; else played out at ``end``."""
    for index in range(first_press, len(presses)):
        press = presses[index]
        if press.at >= end:
            break
        if press.at < start or press.digit not in accept:
            continue
        if hangup_at is not None and hangup_at <= press.at and hangup_at >= start:
            return Outcome("hangup", hangup_at)
        return Outcome("digit", press.at, press.digit, index)
    if hangup_at is not None and _inside(hangup_at, start, end):
        return Outcome("hangup", hangup_at)
    return Outcome("done", end)


@dataclass(frozen=True)
class DigitsRead:
    """Result of ``GET DATA``: the digits, whether it timed out, or a hang-up."""

    digits: str
    at: float
    timed_out: bool = False
    hung_up: bool = False
    #: index after the last press consumed
    next_press: int = 0


def read_digits(
    start: float,
    prompt: float,
    first_timeout: float,
    next_timeout: float,
    max_digits: int,
    presses: Sequence[Press],
    hangup_at: float | None,
    *,
    first_press: int = 0,
) -> DigitsRead:
    """``ast_app_getdata``: digits over the prompt count, ``#`` ends, max ends.

    After the prompt the first digit must come within ``first_timeout``; a
    digit stops the prompt, and each further one must follow within
    ``next_timeout``.
    """
    digits = ""
    deadline = start + prompt + first_timeout
    index = first_press
    while True:
        window_end = deadline
        found = first_event(
            start if not digits else presses[index - 1].at,
            window_end,
            presses,
            ANY_DIGIT,
            hangup_at,
            first_press=index,
        )
        if found.kind == "hangup":
            return DigitsRead(digits, found.at, hung_up=True, next_press=index)
        if found.kind == "done":
            return DigitsRead(digits, found.at, timed_out=True, next_press=index)
        index = found.press + 1
        if found.digit == "#":
            return DigitsRead(digits, found.at, next_press=index)
        digits += found.digit
        if len(digits) >= max_digits:
            return DigitsRead(digits, found.at, next_press=index)
        deadline = found.at + next_timeout  # a digit stops the prompt


def endpos(seconds: float) -> int:
    """Asterisk's ``endpos`` after playing ``seconds`` of a prompt."""
    return round(seconds * SAMPLE_RATE)
