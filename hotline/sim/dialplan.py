"""The dialplan the simulator plays: its contexts, ``Dial`` arguments and ``[hotline-confirm]``.

:func:`default_dialplan` is what the simulated Asterisk has loaded (AMI's
``ShowDialPlan`` lists it, ``Originate`` finds its extensions in it), with
Asterisk's extension matching (:func:`exten_matches`).

Parsing follows Asterisk: application arguments split on ``,`` outside quotes
and brackets (``ast_app_separate_args``), Dial options are letters with
optional ``(…)`` arguments (``ast_app_parse_options``), and ``U(ctx^a^b)``
becomes ``Gosub(ctx,s,1(a,b))`` on the callee channel.

:func:`confirm_subroutine` plays the rest of the shipped subroutine after its
AGI step, as hotline/contract.py writes it (:func:`hotline.contract.confirm_steps`).
``GOSUB_RESULT=ACCEPTED`` is no value app_dial acts on, so the agent is bridged;
it is set because app_dial copies the subroutine's ``GOSUB_RETVAL`` to the
caller only when the agent's channel has a ``GOSUB_RESULT`` (app_dial.c,
checked on a real Asterisk 22) — without it the caller would read no verdict.

And one fact from the recordings (runs 06 and 14: tests/sim/recordings/06_* and
14_*, where the confirm leg's AGI is the last thing on the agent's channel): when the
agent's channel has hung up by the time the AGI ends, the subroutine stops
right there ("Abnormal Gosub exit") — no ``Set``, no ``Return``.  Only what the
confirm AGI itself set (``GOSUB_RESULT``) counts, and ``GOSUB_RETVAL`` on the
caller is not touched.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from hotline.contract import (
    ACCEPTED,
    CONFIRM_CONTEXT,
    CONTINUE,
    DEFAULT_AGI_BASE,
    ERROR,
    STEP_CONTEXT,
    STEP_EXTEN,
    confirm_steps,
    hotline_steps,
    step_steps,
)

#: channel technologies the simulator can "dial"; others give CHANUNAVAIL
KNOWN_TECHS = frozenset({"Local", "PJSIP", "SIP", "IAX2", "DAHDI"})
#: GOSUB_RESULT values app_dial acts on besides CONTINUE (not bridged)
STOPPING_GOSUB_RESULTS = frozenset({"BUSY", "CONGESTION", "CHANUNAVAIL"})


def separate_args(data: str, sep: str = ",") -> list[str]:
    """Split application arguments like ``ast_app_separate_args``.

    Separators inside ``"…"``, ``(…)`` or ``[…]`` do not split; quotes are
    removed and ``\\`` keeps the next character.
    """
    args: list[str] = []
    current: list[str] = []
    paren = bracket = 0
    quoted = escaped = False
    for char in data:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif quoted:
            current.append(char)
        elif char == "(":
            paren += 1
            current.append(char)
        elif char == ")" and paren:
            paren -= 1
            current.append(char)
        elif char == "[":
            bracket += 1
            current.append(char)
        elif char == "]" and bracket:
            bracket -= 1
            current.append(char)
        elif char == sep and not paren and not bracket:
            args.append("".join(current))
            current = []
        else:
            current.append(char)
    args.append("".join(current))
    return args


def parse_options(text: str) -> dict[str, str | None]:
    """``m(default)U(hotline-confirm^a^b)tT`` → ``{"m": "default", "U": "…", "t": None, …}``."""
    options: dict[str, str | None] = {}
    i = 0
    while i < len(text):
        letter = text[i]
        i += 1
        if i < len(text) and text[i] == "(":
            depth, j = 1, i + 1
            while j < len(text) and depth:
                if text[j] == "(":
                    depth += 1
                elif text[j] == ")":
                    depth -= 1
                j += 1
            options[letter] = text[i + 1 : j - 1] if not depth else text[i + 1 :]
            i = j
        else:
            options[letter] = None
    return options


@dataclass(frozen=True)
class DialTarget:
    """One ``Tech/resource`` of a Dial string."""

    raw: str
    tech: str
    #: ``201@sim-agents`` for Local, ``201`` for ``PJSIP/201``
    resource: str
    #: the agent's number: what agent behaviours are keyed by
    number: str

    @property
    def known_tech(self) -> bool:
        return self.tech in KNOWN_TECHS

    def channel_base(self) -> str:
        """The channel name without its sequence number (Asterisk's naming per tech)."""
        if self.tech == "Local":
            local = self.resource if "@" in self.resource else f"{self.resource}@default"
            return f"Local/{local}"
        head = self.resource.split("/", 1)[0]
        endpoint = head.partition("@")[2] or head
        return f"{self.tech}/{endpoint}"


def parse_target(text: str) -> DialTarget:
    """``Local/201@sim-agents/n`` → tech ``Local``, resource ``201@sim-agents``, number ``201``."""
    raw = text.strip()
    tech, _, resource = raw.partition("/")
    segments = resource.split("/")
    if tech == "Local":
        resource = segments[0]
        number_part = resource
    else:
        number_part = segments[-1] if len(segments) > 1 else segments[0]
    number = number_part.partition("@")[0]
    return DialTarget(raw=raw, tech=tech, resource=resource, number=number)


@dataclass(frozen=True)
class CalleeGosub:
    """``U(context^arg1^arg2…)``: Gosub(context,s,1(args)) on the callee channel."""

    context: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class DialRequest:
    """A parsed ``Dial(targets,timeout,options)``."""

    raw: str
    targets: tuple[DialTarget, ...]
    #: ring seconds; ``None`` = no timeout (rings until someone gives up)
    timeout: float | None
    options: Mapping[str, str | None] = field(default_factory=dict)

    @property
    def gosub(self) -> CalleeGosub | None:
        spec = self.options.get("U")
        if not spec:
            return None
        context, *args = spec.split("^")
        return CalleeGosub(context, tuple(args))

    @property
    def moh_class(self) -> str | None:
        if "m" not in self.options:
            return None
        return self.options["m"] or "default"


def parse_dial(data: str) -> DialRequest:
    """Parse Dial's argument string (what ``EXEC Dial <data>`` passes)."""
    args = separate_args(data)
    targets = tuple(parse_target(t) for t in args[0].split("&") if t.strip()) if args else ()
    timeout: float | None = None
    if len(args) > 1 and args[1].strip():
        try:
            seconds = float(args[1])
        except ValueError:
            seconds = 0.0
        timeout = seconds if seconds > 0 else None  # Asterisk: invalid → infinite
    options = parse_options(args[2]) if len(args) > 2 else {}
    return DialRequest(data, targets, timeout, MappingProxyType(options))


@dataclass(frozen=True)
class SubroutineResult:
    """What ``[hotline-confirm]`` leaves behind for app_dial."""

    #: GOSUB_RESULT on the agent channel (app_dial acts on it); ``None`` = unset
    gosub_result: str | None
    #: the ``Return(value)``, copied to the caller's GOSUB_RETVAL; ``None`` = no Return ran
    retval: str | None
    #: False when the subroutine stopped at the AGI because the agent hung up
    completed: bool


def confirm_subroutine(
    hotline_confirm: str, gosub_result: str | None, agent_alive: bool
) -> SubroutineResult:
    """Run the rest of the shipped ``[hotline-confirm]`` after its AGI step ended."""
    if not agent_alive:
        return SubroutineResult(gosub_result, None, completed=False)
    if hotline_confirm == ACCEPTED:
        return SubroutineResult(ACCEPTED, ACCEPTED, completed=True)
    return SubroutineResult(CONTINUE, hotline_confirm or ERROR, completed=True)


def lab_confirm_subroutine(
    hotline_confirm: str, gosub_result: str | None, agent_alive: bool
) -> SubroutineResult:
    """The recording lab's subroutine (``NoOp``, ``AGI``, ``NoOp``, ``Return()``).

    It decides nothing itself: the call is bridged unless the confirm AGI set
    ``GOSUB_RESULT``.  Used to replay the recordings byte for byte.
    """
    if not agent_alive:
        return SubroutineResult(gosub_result, None, completed=False)
    return SubroutineResult(gosub_result, "", completed=True)


#: the subroutines :class:`~hotline.sim.pbx.SimulatedPbx` can play
SUBROUTINES = {"design": confirm_subroutine, "lab": lab_confirm_subroutine}


# -- the loaded dialplan -------------------------------------------------------


def _apps(steps: Sequence[tuple[str, str]]) -> list[str]:
    return [app for _label, app in steps]


def default_dialplan() -> dict[str, dict[str, list[str]]]:
    """The dialplan the shipped configuration has: one hotline and the confirm subroutine."""
    return {
        "hotline-in": {
            "100": _apps(hotline_steps("main", DEFAULT_AGI_BASE, message=None)),
        },
        CONFIRM_CONTEXT: {"s": _apps(confirm_steps(DEFAULT_AGI_BASE))},
        STEP_CONTEXT: {STEP_EXTEN: _apps(step_steps())},
        # the scripted caller `hotline call` originates (docker/asterisk/etc/extensions.conf)
        "sim-caller": {
            "s": [
                "NoOp(sim-caller)",
                "Answer()",
                'Wait(${IF($["${DTMFDELAY}" = ""]?3:${DTMFDELAY})})',
                'ExecIf($["${PIN}" != ""]?SendDTMF(${PIN}#))',
                'Wait(${IF($["${HOLD}" = ""]?60:${HOLD})})',
                "Hangup()",
            ],
        },
    }


def hotline_dialplan(
    hotlines: Iterable[tuple[str, str, str]], agi_base: str = DEFAULT_AGI_BASE
) -> dict[str, dict[str, list[str]]]:
    """The default dialplan with an entry per ``(name, context, extension)`` instead of 100."""
    dialplan = default_dialplan()
    del dialplan["hotline-in"]
    for name, context, extension in hotlines:
        dialplan.setdefault(context, {})[extension] = _apps(hotline_steps(name, agi_base))
    return dialplan


def exten_matches(pattern: str, exten: str) -> bool:
    """Asterisk extension matching: literal, or ``_`` patterns with X Z N [..] . !"""
    if not pattern.startswith("_"):
        return pattern == exten
    regex = []
    chars = iter(pattern[1:])
    for ch in chars:
        upper = ch.upper()
        if upper == "X":
            regex.append("[0-9]")
        elif upper == "Z":
            regex.append("[1-9]")
        elif upper == "N":
            regex.append("[2-9]")
        elif ch == ".":
            regex.append(".+")
        elif ch == "!":
            regex.append(".*")
        elif ch == "[":
            body = "".join(itertools.takewhile(lambda c: c != "]", chars))
            regex.append(f"[{re.escape(body).replace(chr(92) + '-', '-')}]")
        else:
            regex.append(re.escape(ch))
    return re.fullmatch("".join(regex), exten) is not None


def split_app(step: str) -> tuple[str, str]:
    """``App(data)`` → ``("App", "data")``."""
    app, _, rest = step.partition("(")
    return app, rest[:-1] if rest.endswith(")") else rest


def agi_path(steps: Sequence[str]) -> str | None:
    """The FastAGI script path of the first ``AGI(agi://host:port/path,...)`` step."""
    for step in steps:
        app, data = split_app(step)
        if app.lower() != "agi":
            continue
        url = data.split(",")[0]
        if url.startswith("agi://"):
            _, _, path = url.removeprefix("agi://").partition("/")
            return path or None
    return None


def find_steps(
    dialplan: Mapping[str, Mapping[str, Sequence[str]]], context: str, exten: str
) -> Sequence[str] | None:
    """The steps of the first extension in ``context`` that matches ``exten``."""
    for pattern, steps in dialplan.get(context, {}).items():
        if exten_matches(pattern, exten):
            return steps
    return None
