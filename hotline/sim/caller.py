"""What a simulated caller does: the digits they type and when they hang up.

A caller types one entry of ``pin_entries`` at each ``GET DATA`` (in order;
``None`` or a missing entry means they type nothing, so Asterisk answers
``200 result= (timeout)``).  As in Asterisk, ``#`` ends an entry early; an
entry shorter than the command's max digits and without ``#`` is returned
after the inter-digit timeout as ``200 result=<digits> (timeout)``.

``hangup_during=(step, n)`` makes the caller hang up during the n-th (1-based)
occurrence of a step on their leg:

* ``pin`` — the n-th ``GET DATA``;
* ``prompt`` — the n-th prompt played with ``STREAM FILE`` (or ``EXEC Playback``);
* ``ringing`` — while the n-th target that actually rings is ringing (busy or
  unavailable targets do not ring);
* ``confirm`` — while the n-th agent who answered is being asked to confirm
  (the agent's confirm leg is not told, as on a real Asterisk);
* ``bridge`` — after being bridged to the n-th agent for a while;
* any other word, e.g. ``intro`` — the n-th ``STREAM FILE`` whose prompt name
  contains that word.

``hangup_after`` says how many virtual seconds into the step the caller hangs
up; by default half the prompt, 1 s of ringing, 0.5 s into the confirm, 5 s
into the bridge (always clamped inside the step so it really happens there).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from hotline.contract import hotline_route
from hotline.sim.errors import SimError

#: steps with a fixed meaning; any other word matches prompt names
KNOWN_STEPS = ("pin", "prompt", "ringing", "confirm", "bridge")
HangupLine = Literal["next-reply", "after-reply"]
_ENTRY_KEYS = frozenset("0123456789*#")
#: seconds into a step the caller hangs up when the script gives no ``hangup_after``
DEFAULT_RINGING_HANGUP = 1.0
DEFAULT_CONFIRM_HANGUP = 0.5
DEFAULT_BRIDGE_HANGUP = 5.0


@dataclass(frozen=True)
class CallerScript:
    """One scripted caller of a hotline (virtual seconds throughout)."""

    #: hotline name; the AGI script path is ``hotline/<hotline>``
    hotline: str
    callerid: str = "5550001"
    calleridname: str = "Sim Caller"
    #: what the caller types at each GET DATA, in order (None = nothing)
    pin_entries: Sequence[str | None] = ()
    #: hang up during the n-th occurrence of a step, e.g. ``("ringing", 1)``
    hangup_during: tuple[str, int] | None = None
    #: seconds into that step; ``None`` = the step's default
    hangup_after: float | None = None
    language: str = "en"
    #: extra ``agi_arg_N`` values
    args: Sequence[str] = ()
    #: the dialplan extension the call arrived on (the confirm leg's agi_callerid)
    extension: str = "100"
    context: str = "hotline-in"
    #: AGI script path; ``None`` = ``hotline/<hotline>``
    agi_path: str | None = None
    #: channel variables the call starts with (e.g. ``AGIEXECFULL=yes``)
    variables: Mapping[str, str] = field(default_factory=dict)
    #: seconds before the first digit of an entry, and between digits
    typing_delay: float = 1.0
    digit_interval: float = 0.3
    #: seconds the caller waits on a wait without end (WAIT FOR DIGIT -1,
    #: ringing without a Dial timeout) before hanging up
    patience: float = 300.0
    #: where the out-of-band HANGUP line goes; ``None`` = the PBX decides
    hangup_line: HangupLine | None = None
    #: free text for reports (the demo prints it)
    label: str = ""

    def __post_init__(self) -> None:
        if not self.hotline and self.agi_path is None:
            raise SimError("caller script: hotline is empty; name the hotline to call")
        entries = tuple(self.pin_entries)
        for number, entry in enumerate(entries, start=1):
            if entry is not None and not set(entry) <= _ENTRY_KEYS:
                raise SimError(f"caller script: pin entry {number} may hold only 0-9, * and #")
        object.__setattr__(self, "pin_entries", entries)
        object.__setattr__(self, "args", tuple(self.args))
        object.__setattr__(self, "variables", MappingProxyType(dict(self.variables)))
        if self.hangup_during is not None:
            step, occurrence = self.hangup_during
            if not isinstance(step, str) or not step.strip():
                raise SimError(
                    "caller script: hangup_during needs a step name "
                    f"({', '.join(KNOWN_STEPS)} or a prompt word), not {step!r}"
                )
            if not isinstance(occurrence, int) or occurrence < 1:
                raise SimError(
                    f"caller script: hangup_during ({step!r}, {occurrence!r}) needs a "
                    "1-based occurrence number"
                )
        for name in ("hangup_after", "typing_delay", "digit_interval", "patience"):
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise SimError(f"caller script: {name} must be seconds >= 0, not {value!r}")
        if self.hangup_line not in (None, "next-reply", "after-reply"):
            raise SimError(
                "caller script: hangup_line must be 'next-reply' or 'after-reply', "
                f"not {self.hangup_line!r}"
            )

    @property
    def path(self) -> str:
        """The AGI script path the call's FastAGI request names."""
        return self.agi_path if self.agi_path is not None else hotline_route(self.hotline)

    def entry(self, index: int) -> str | None:
        """What the caller types at the ``index``-th (0-based) GET DATA."""
        return self.pin_entries[index] if index < len(self.pin_entries) else None

    def hangs_up_during(self, step: str, occurrence: int) -> bool:
        """True when the caller hangs up during this occurrence of ``step``."""
        return self.hangup_during == (step, occurrence)
