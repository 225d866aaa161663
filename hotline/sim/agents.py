"""What a simulated agent does when the hotline dials them.

Each kind mirrors one agent of the lab dialplan the recordings were made with
(docs/asterisk/lab-extensions.conf): ``no-answer`` rings until the
Dial times out (200), ``accept`` answers and presses 1 (201), ``voicemail``
answers and stays silent (202), ``busy`` (203), ``hangup`` answers and hangs up
during the whisper (204), ``decline`` presses 2 (205); ``unavailable``,
``congestion`` and ``wrong-key`` complete the DIALSTATUS matrix.

All times are virtual seconds.  ``press_after``, ``hangup_after`` and
``patience`` count from the moment the agent answered, which is when the
confirm ("whisper") leg starts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from hotline.sim.errors import SimError

AgentKind = Literal[
    "no-answer",
    "busy",
    "unavailable",
    "congestion",
    "accept",
    "voicemail",
    "decline",
    "wrong-key",
    "hangup",
]
AGENT_KINDS: tuple[str, ...] = get_args(AgentKind)
#: kinds whose channel answers (and so runs the confirm leg)
ANSWERING_KINDS = frozenset({"accept", "voicemail", "decline", "wrong-key", "hangup"})
#: the key each pressing kind presses unless ``digit`` says otherwise
DEFAULT_KEYS = {"accept": "1", "decline": "2", "wrong-key": "5"}
DTMF_DIGITS = frozenset("0123456789*#ABCD")
#: key in :func:`parse_agents` specs (and agent maps) for "every other number"
DEFAULT_AGENT_KEY = "*"


@dataclass(frozen=True)
class AgentBehaviour:
    """One agent's scripted behaviour (virtual seconds throughout)."""

    kind: AgentKind = "no-answer"
    #: seconds of ringing before the agent answers (answering kinds)
    answer_after: float = 2.0
    #: seconds into the whisper when the agent presses its key
    press_after: float = 2.0
    #: key pressed; ``None`` = the kind's key (accept 1, decline 2, wrong-key 5)
    digit: str | None = None
    #: seconds an accepted call lasts before the agent hangs up
    talk_seconds: float = 30.0
    #: ``hangup`` kind: seconds into the whisper when the agent hangs up
    hangup_after: float = 1.0
    #: a pressing agent presses again this many seconds later when nothing
    #: happened (the digit fell on a prompt that does not listen); 0 = once
    repeat_every: float = 3.0
    #: seconds an answering agent (or voicemail box) stays in the whisper
    #: before giving up and hanging up
    patience: float = 60.0

    def __post_init__(self) -> None:
        if self.kind not in AGENT_KINDS:
            raise SimError(
                f"agent behaviour {self.kind!r} is unknown; use one of: {', '.join(AGENT_KINDS)}"
            )
        for name in (
            "answer_after",
            "press_after",
            "talk_seconds",
            "hangup_after",
            "repeat_every",
            "patience",
        ):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise SimError(
                    f"agent {self.kind}: {name} must be a number of seconds >= 0, not {value!r}"
                )
        if self.digit is not None and (len(self.digit) != 1 or self.digit not in DTMF_DIGITS):
            raise SimError(
                f"agent {self.kind}: digit must be one DTMF key (0-9, *, #, A-D), "
                f"not {self.digit!r}"
            )

    @property
    def answers(self) -> bool:
        """True when the agent's channel answers (and the confirm leg runs)."""
        return self.kind in ANSWERING_KINDS

    @property
    def key(self) -> str | None:
        """The key this agent presses during the whisper, ``None`` if it presses nothing."""
        if self.kind not in DEFAULT_KEYS:
            return None
        return self.digit or DEFAULT_KEYS[self.kind]

    def describe(self) -> str:
        """A short human description, e.g. ``accept (answers after 2 s, presses 1 at 2 s)``."""
        if not self.answers:
            return self.kind
        parts = [f"answers after {self.answer_after:g} s"]
        if self.key is not None:
            parts.append(f"presses {self.key} at {self.press_after:g} s")
        if self.kind == "hangup":
            parts.append(f"hangs up at {self.hangup_after:g} s")
        if self.kind == "accept":
            parts.append(f"talks {self.talk_seconds:g} s")
        return f"{self.kind} ({', '.join(parts)})"


#: what a bare number after the kind sets (``accept:3`` = presses 1 three seconds in)
_MAIN_TIMING: Mapping[str, str] = {
    "accept": "press_after",
    "decline": "press_after",
    "wrong-key": "press_after",
    "voicemail": "answer_after",
    "hangup": "hangup_after",
}
_KEYS: Mapping[str, str] = {
    "answer": "answer_after",
    "press": "press_after",
    "talk": "talk_seconds",
    "hangup": "hangup_after",
    "repeat": "repeat_every",
    "patience": "patience",
    "digit": "digit",
}
_NUMBER = re.compile(r"[0-9A-Za-z_.+-]+|\*")


def parse_behaviour(text: str, *, where: str = "agent spec") -> AgentBehaviour:
    """``accept``, ``accept:3`` or ``accept:answer=4:press=1:talk=60`` → behaviour."""
    kind, *options = (part.strip() for part in text.strip().split(":"))
    if kind not in AGENT_KINDS:
        raise SimError(f"{where}: unknown behaviour {kind!r}; use one of: {', '.join(AGENT_KINDS)}")
    values: dict[str, object] = {}
    for option in options:
        key, sep, raw = option.partition("=")
        if not sep:
            field_name = _MAIN_TIMING.get(kind)
            if field_name is None:
                raise SimError(f"{where}: {kind!r} takes no timing (got {option!r})")
            key, raw = field_name, option
        elif key.strip() in _KEYS:
            key = _KEYS[key.strip()]
        else:
            raise SimError(
                f"{where}: unknown option {key.strip()!r}; use {', '.join(sorted(_KEYS))}"
            )
        raw = raw.strip()
        if key == "digit":
            values[key] = raw
            continue
        try:
            values[key] = float(raw)
        except ValueError:
            raise SimError(f"{where}: {option!r} needs a number of seconds") from None
    try:
        return AgentBehaviour(kind, **values)  # type: ignore[arg-type]
    except SimError as exc:
        raise SimError(f"{where}: {exc}") from None


def parse_agents(spec: str) -> dict[str, AgentBehaviour]:
    """Parse ``"201=no-answer,202=voicemail,203=accept:3"`` into number → behaviour.

    ``*=busy`` sets the behaviour of every number not listed.  A mistake raises
    :class:`SimError` with one line naming the item and what to write instead.
    """
    agents: dict[str, AgentBehaviour] = {}
    for raw_item in spec.split(","):
        item = raw_item.strip()
        if not item:
            continue
        number, sep, behaviour = item.partition("=")
        number = number.strip()
        if not sep or not number or not behaviour.strip():
            raise SimError(f"agent spec {item!r}: write <number>=<behaviour>, e.g. 201=accept")
        if not _NUMBER.fullmatch(number):
            raise SimError(f"agent spec {item!r}: {number!r} is not an agent number")
        if number in agents:
            raise SimError(f"agent spec {item!r}: agent {number} is given twice")
        agents[number] = parse_behaviour(behaviour, where=f"agent spec {item!r}")
    if not agents:
        raise SimError("agent spec is empty; write e.g. 201=no-answer,202=accept")
    return agents
