"""``hotline call``: place a test call into a hotline through AMI and report what happened.

The call is an AMI ``Originate`` of a Local channel (by default
``Local/s@sim-caller``) into the hotline's ``context``/``extension`` from the
configuration: the ``;1`` half runs the hotline's dialplan (the AGI, i.e. the
runtime's caller leg), the ``;2`` half runs the scripted caller in
``[sim-caller]``, which answers, types ``${PIN}#`` after ``${DTMFDELAY}``
seconds and hangs up ``${HOLD}`` seconds later (``docker/asterisk/etc/
extensions.conf`` ships it; see docs/ami.md).

The outcome is read from the call's AMI events only (DialBegin/DialEnd,
Hangup, BridgeEnter/Leave, all with the call's linkedid), so this works
against any PBX the runtime serves, from any host that reaches its AMI:

* **connected** - an agent's leg entered the bridge;
* **nobody_available** - targets were tried, none was bridged, and the hotline
  ended the call (it has no fallback);
* **fallback** - targets were tried, none was bridged, and the hotline sent the
  call on to its fallback (a hotline with a fallback always does: the flow
  takes it whenever nobody accepts, so the configuration tells the two apart);
* **abandoned** - the caller hung up first (before the hunt, while a target
  rang or was asked, or between targets);
* **pin_failed** - the hotline hung up before dialling anyone, and it asks for
  a PIN.  AMI's call events cannot tell this from a runtime that did not take
  the call at all; the runtime's log (``call_summary``) can;
* **closed** - the hotline hung up (or sent the call on) before dialling
  anyone, and its schedule says it is closed now (the same config, same clock).

Exit codes: 0 the call ran and its outcome is printed (and is the one
``--expect`` named); 1 the call failed (Originate refused or not answered,
no outcome in time, AMI lost); 2 bad options; 3 AMI login refused; 4 the
outcome is not the expected one.
"""

# Per-call timeouts are the point of this API.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from hotline.ami.calllog import CallEventLog, DialLeg
from hotline.ami.client import AmiClient
from hotline.ami.errors import AmiActionError, AmiError, AmiOriginateError
from hotline.ami.events import (
    EVENT_NAMES,
    ChannelRef,
    DialBegin,
    DialState,
    Hangup,
    Newchannel,
    parse_event,
)
from hotline.ami.hangups import HANGUP_EVENT_NAMES
from hotline.ami.messages import AmiMessage, header_value
from hotline.ami_wiring import client_from_settings
from hotline.config import HotlineConfig, Settings, Target
from hotline.errors import HotlineError
from hotline.flow.hunt import hunt_plan
from hotline.flow.outcomes import CallOutcome
from hotline.schedule.engine import Schedule

#: outcomes ``--expect`` can assert: the flow's own words for what AMI can tell
OUTCOMES = (
    CallOutcome.CONNECTED,
    CallOutcome.NOBODY_AVAILABLE,
    CallOutcome.FALLBACK,
    CallOutcome.ABANDONED,
    CallOutcome.PIN_FAILED,
    CallOutcome.CLOSED,
)
#: the hotline ended the call before dialling anyone and asks for no PIN
NOT_SERVED = "not_served"

DEFAULT_CHANNEL = "Local/s@sim-caller"
DEFAULT_TIMEOUT = 300.0
#: after the caller's channel hung up, how long to wait for the rest of the call's channels
SETTLE_SECONDS = 2.0
#: events kept while the call's id is not known yet (they come before OriginateResponse)
_BUFFER_LIMIT = 10_000

_DIAL_STATUS_TEXT = {
    "NOANSWER": "no answer",
    "BUSY": "busy",
    "CHANUNAVAIL": "unavailable",
    "CONGESTION": "congestion",
    "CONTINUE": "answered, did not confirm",
    "CANCEL": "cancelled (the caller hung up)",
    "ANSWER": "answered",
}


class CallTestError(HotlineError):
    """The test call could not be placed or followed to its end."""

    exit_code = 1


class CallOptionError(HotlineError):
    """The options or the configuration do not allow this test call."""

    exit_code = 2


class UnexpectedOutcome(HotlineError):
    """The call ran, but not to the outcome ``--expect`` named."""

    exit_code = 4


@dataclass(frozen=True)
class CallRequest:
    """One test call: which hotline, what the caller does, how long to wait."""

    hotline: str
    pin: str | None = None
    #: seconds the caller stays on the line after typing (the dialplan's HOLD)
    hangup_after: float | None = None
    caller_id: str | None = None
    channel: str = DEFAULT_CHANNEL
    timeout: float = DEFAULT_TIMEOUT
    #: more channel variables for the caller's dialplan (e.g. DTMFDELAY)
    variables: Mapping[str, str] = field(default_factory=dict)
    expect: str | None = None


@dataclass(frozen=True)
class LegReport:
    """One target the call dialled, as AMI saw it."""

    number: str
    label: str | None
    dial_string: str
    dial_status: str | None
    hangup_cause: int | None
    hangup_cause_txt: str | None
    ring_time: float | None
    talk_time: float | None
    bridged: bool

    @property
    def who(self) -> str:
        return f'{self.number} "{self.label}"' if self.label else self.number

    def describe(self) -> str:
        status = self.dial_status
        if self.bridged:
            what = "answered and confirmed: connected"
        elif status is None:
            what = "no DialEnd seen (still ringing when the call ended?)"
        else:
            what = f"{_DIAL_STATUS_TEXT.get(status, status.lower())} ({status})"
        parts = [f"{self.who} via {self.dial_string}: {what}"]
        if self.ring_time is not None:
            parts.append(f"after {self.ring_time:.1f} s")
        if self.hangup_cause is not None:
            parts.append(f"hangup cause {self.hangup_cause} ({self.hangup_cause_txt or '?'})")
        if self.talk_time is not None:
            parts.append(f"talked {self.talk_time:.1f} s")
        return ", ".join(parts)


@dataclass(frozen=True)
class CallReport:
    """What became of a test call."""

    hotline: str
    call_id: str
    channel: str
    outcome: str
    reason: str
    legs: tuple[LegReport, ...]
    #: "caller", "hotline" or None (not a Local channel: cannot tell)
    ended_by: str | None
    duration: float | None

    def lines(self) -> list[str]:
        out = [f"call {self.call_id} on {self.channel}"]
        if not self.legs:
            out.append("  no target was dialled")
        for number, leg in enumerate(self.legs, start=1):
            out.append(f"  {number}. {leg.describe()}")
        if self.duration is not None:
            out.append(f"  call lasted {self.duration:.1f} s")
        out.append(f"outcome: {self.outcome} - {self.reason}")
        return out


# --------------------------------------------------------------------------
# following one call's events
# --------------------------------------------------------------------------


def _stamped(message: AmiMessage) -> dict[str, Any]:
    """A copy with the arrival time as ``Timestamp`` (what ``timestampevents`` would add)."""
    copy = dict(message.items())
    if not header_value(message, "Timestamp"):
        copy["Timestamp"] = f"{time.time():.6f}"
    return copy


class CallWatch:
    """Collects the events of one call, found by its linkedid once the Originate says it.

    Events that arrive before (the Originate's own channels) are buffered and
    replayed.  Dial legs are correlated by :class:`CallEventLog`; this class
    adds what a test call needs on top: which channels are still up, the
    order of hang-ups, and when the whole call is over.
    """

    def __init__(self) -> None:
        self.log = CallEventLog(clock=time.time)
        self.linkedid: str | None = None
        self.call_id: str | None = None
        self.channel: str | None = None
        self._buffer: list[dict[str, Any]] = []
        self._alive: dict[str, str] = {}  # uniqueid -> channel name
        #: the call's Hangup events in arrival order
        self.hangups: list[Hangup] = []
        #: who asked first to hang up the caller's channel ("hotline"/"caller"), if AMI said
        self.requested_by: str | None = None
        self.first_at: float | None = None
        self.ended_at: float | None = None
        self.caller_gone = asyncio.Event()
        self.finished = asyncio.Event()

    def feed(self, message: AmiMessage) -> None:
        stamped = _stamped(message)
        if self.linkedid is None:
            if len(self._buffer) < _BUFFER_LIMIT:
                self._buffer.append(stamped)
            return
        self._take(stamped)

    def follow(self, call_id: str, channel: str) -> None:
        """The Originate answered: this is the caller's channel; replay what came before."""
        self.call_id, self.channel = call_id, channel
        linkedid = call_id
        for message in self._buffer:
            if header_value(message, "Event").lower() == "newchannel" and (
                header_value(message, "Uniqueid") == call_id
            ):
                linkedid = header_value(message, "Linkedid") or call_id
        self.linkedid = linkedid
        buffered, self._buffer = self._buffer, []
        for message in buffered:
            self._take(message)

    def _take(self, message: dict[str, Any]) -> None:
        if self.linkedid not in (
            header_value(message, "Linkedid"),
            header_value(message, "DestLinkedid"),
        ):
            return
        self.log.feed(message)
        at = float(header_value(message, "Timestamp") or time.time())
        if self.first_at is None:
            self.first_at = at
        self._hangup_request(message)
        event = parse_event(message, at)
        if isinstance(event, Newchannel):
            self._up(event.channel)
        elif isinstance(event, DialBegin | DialState):
            self._up(event.dest)
        elif isinstance(event, Hangup):
            self._alive.pop(event.channel.uniqueid, None)
            self.hangups.append(event)
            if event.channel.uniqueid == self.call_id:
                self.ended_at = at
                self.caller_gone.set()
        if self.caller_gone.is_set() and not self._alive:
            self.finished.set()

    def _hangup_request(self, message: Mapping[str, Any]) -> None:
        """The first hang-up asked for on the caller's channel says who ended the call.

        The runtime's ``HANGUP`` is a ``SoftHangupRequest`` on it; the caller's
        half of the Local channel hanging up queues a ``HangupRequest`` on it.
        Both come before any ``Hangup`` event, whose order Asterisk does not fix.
        """
        if self.requested_by is not None or header_value(message, "Uniqueid") != self.call_id:
            return
        name = header_value(message, "Event").lower()
        if name == "softhanguprequest":
            self.requested_by = "hotline"
        elif name == "hanguprequest":
            self.requested_by = "caller"

    def _up(self, channel: ChannelRef) -> None:
        if any(channel.uniqueid == h.channel.uniqueid for h in self.hangups):
            return
        self._alive[channel.uniqueid] = channel.channel

    @property
    def still_up(self) -> list[str]:
        return sorted(self._alive.values())

    def legs(self) -> list[DialLeg]:
        return self.log.legs(self.call_id) if self.call_id else []

    def ended_by(self) -> str | None:
        """Who hung up first: the caller side (``;2``) or the hotline side (``;1``).

        Told by the hang-up requests where the PBX's event filter lets them
        through (the shipped manager.conf does); else guessed from the order of
        the two halves' ``Hangup`` events, which is a race when the hotline hangs up.
        """
        if self.requested_by is not None:
            return self.requested_by
        channel = self.channel or ""
        if not (channel.startswith("Local/") and channel.endswith(";1")):
            return None
        caller_side = channel[:-1] + "2"
        for hangup in self.hangups:
            if hangup.channel.channel == caller_side:
                return "caller"
            if hangup.channel.channel == channel:
                return "hotline"
        return None


# --------------------------------------------------------------------------
# the outcome
# --------------------------------------------------------------------------


def _target_for(hotline: HotlineConfig, leg: DialLeg) -> tuple[Target | None, str]:
    shifts = hotline.schedule.shifts if hotline.schedule else []
    for targets in (hotline.targets, *(shift.targets for shift in shifts)):
        for planned in hunt_plan(hotline, targets):
            if leg.matches(planned.dial_string):
                return planned.target, planned.dial_string
    return None, leg.dial_string


def leg_reports(hotline: HotlineConfig, legs: Sequence[DialLeg]) -> tuple[LegReport, ...]:
    reports = []
    for leg in legs:
        target, dial_string = _target_for(hotline, leg)
        reports.append(
            LegReport(
                number=target.number if target else leg.dial_string,
                label=target.label if target else None,
                dial_string=dial_string,
                dial_status=leg.dial_status,
                hangup_cause=leg.hangup_cause,
                hangup_cause_txt=leg.hangup_cause_txt,
                ring_time=leg.ring_time,
                talk_time=leg.talk_time,
                bridged=leg.bridged_at is not None,
            )
        )
    return tuple(reports)


def classify(
    hotline: HotlineConfig,
    legs: Sequence[LegReport],
    ended_by: str | None,
    now: dt.datetime | None = None,
) -> tuple[str, str]:
    """(outcome, one-line reason) from what AMI showed of the call (and, for a call
    nobody was dialled for, what the hotline's schedule said at ``now``: the call's
    arrival, as the runtime asked it then; default this moment)."""
    plan = Schedule(hotline).decide(now or dt.datetime.now(dt.UTC))
    connected = next((leg for leg in legs if leg.bridged), None)
    if connected is not None:
        talk = f", talked {connected.talk_time:.1f} s" if connected.talk_time is not None else ""
        return CallOutcome.CONNECTED, f"{connected.who} took the call{talk}"
    planned = sum(1 for _ in hunt_plan(hotline, plan.targets))
    in_progress = next(
        (leg for leg in legs if leg.dial_status in (None, "CANCEL")),
        None,
    )
    if in_progress is not None:
        return CallOutcome.ABANDONED, f"the caller hung up while {in_progress.who} was being tried"
    if not legs and not plan.open:
        # whoever hung up first (the closed destination may keep the caller)
        return CallOutcome.CLOSED, (
            f"the hotline is closed now ({plan.rule}): the closed prompt, nobody was dialled"
        )
    if ended_by == "caller":
        if not legs:
            return CallOutcome.ABANDONED, "the caller hung up before any target was dialled"
        if hotline.fallback is not None:
            # the hunt is over and the dialplan's fallback (e.g. voicemail) kept the caller
            return CallOutcome.FALLBACK, (
                f"none of the {len(legs)} targets tried took the call; it went on to the "
                f"fallback {hotline.fallback.context},{hotline.fallback.extension}"
            )
        return CallOutcome.ABANDONED, (
            f"the caller hung up after {len(legs)} of {planned} planned targets were tried "
            "(between targets or during the apology)"
        )
    if legs:
        reason = f"none of the {len(legs)} targets tried took the call"
        if hotline.fallback is None:
            return CallOutcome.NOBODY_AVAILABLE, reason
        fallback = hotline.fallback
        return CallOutcome.FALLBACK, (
            f"{reason}; then the fallback {fallback.context},{fallback.extension}"
        )
    if hotline.pin is not None:
        return CallOutcome.PIN_FAILED, (
            "the hotline hung up before dialling anyone: the PIN was wrong or not typed "
            "(or the runtime did not take the call: its log says which)"
        )
    return NOT_SERVED, (
        f"the call ended before any target was dialled and hotline '{hotline.name}' asks "
        "for no PIN: is the runtime running and reachable from Asterisk? (its log says why)"
    )


# --------------------------------------------------------------------------
# placing the call
# --------------------------------------------------------------------------


def _find_hotline(settings: Settings, name: str) -> HotlineConfig:
    try:
        return settings.hotline(name)
    except KeyError:
        names = ", ".join(h.name for h in settings.hotlines)
        raise CallOptionError(
            f"no hotline named '{name}' in the configuration; configured: {names}"
        ) from None


def caller_variables(request: CallRequest) -> dict[str, str]:
    """The channel variables the scripted caller's dialplan reads."""
    variables = dict(request.variables)
    if request.pin is not None:
        variables["PIN"] = request.pin
    if request.hangup_after is not None:
        variables["HOLD"] = f"{request.hangup_after:g}"
    return variables


def _validate(request: CallRequest) -> None:
    if request.pin is not None and not re.fullmatch(r"[0-9*]{1,32}", request.pin):
        raise CallOptionError("--pin: use the digits 0-9 (and *) the caller types; '#' is added")
    if request.caller_id is not None and not re.fullmatch(r"\+?[0-9]{1,32}", request.caller_id):
        raise CallOptionError("--caller-id: use a plain number, e.g. 5550001")
    if request.hangup_after is not None and not 0 < request.hangup_after <= 86400:
        raise CallOptionError("--hangup-after: give seconds between 0 and 86400")
    if not 0 < request.timeout <= 86400:
        raise CallOptionError("--timeout: give seconds between 0 and 86400")
    if request.expect is not None and request.expect not in OUTCOMES:
        raise CallOptionError(f"--expect: one of {', '.join(OUTCOMES)}")
    for name, value in request.variables.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or any(c in value for c in ",\r\n"):
            raise CallOptionError(
                f"--var {name}: use NAME=VALUE with a plain variable name and no comma"
            )


async def _entry_exists(client: AmiClient, context: str, extension: str) -> str | None:
    """None if ``extension@context`` exists on the PBX (or cannot be checked), else why not."""
    try:
        await client.action("ShowDialPlan", {"Context": context, "Extension": extension})
    except AmiActionError as exc:
        text = exc.message.lower()
        if text.startswith(("did not find context", "did not find extension")):
            return exc.message
        return None
    return None


async def place_call(
    settings: Settings,
    request: CallRequest,
    *,
    out: TextIO,
    client: AmiClient | None = None,
) -> CallReport:
    """Place the test call, follow it to its end, print and return its report.

    Raises :class:`CallTestError` (and AMI errors) when the call cannot be
    placed or followed; the report is printed as far as it is known first.
    """
    _validate(request)
    hotline = _find_hotline(settings, request.hotline)
    if hotline.extension is None:
        index = settings.hotlines.index(hotline)
        raise CallOptionError(
            f"hotline '{hotline.name}' has no extension: set hotlines[{index}].extension to the "
            f"number in [{hotline.context}] that reaches it"
        )
    own_client = client is None
    client = client if client is not None else client_from_settings(settings.asterisk)
    watch = CallWatch()
    lost = asyncio.Event()
    unsubscribe = client.on_event((*EVENT_NAMES, *HANGUP_EVENT_NAMES), watch.feed)
    client.on_connection(lambda up: None if up else lost.set())
    try:
        if own_client:
            await client.start()
        missing = await _entry_exists(client, hotline.context, hotline.extension)
        if missing is not None:
            raise CallTestError(
                f"hotline '{hotline.name}' is not reachable on the PBX: {missing}; add "
                f"{hotline.extension}@{hotline.context} to the dialplan or fix "
                "hotlines.context/extension"
            )
        where = f"{hotline.extension}@{hotline.context}"
        print(f"calling hotline {hotline.name} at {where} from {request.channel}", file=out)
        try:
            result = await client.originate(
                channel=request.channel,
                context=hotline.context,
                exten=hotline.extension,
                caller_id=f'"hotline call" <{request.caller_id}>' if request.caller_id else None,
                variables=caller_variables(request),
            )
        except AmiOriginateError as exc:
            raise CallTestError(f"test call into {where} not placed: {exc.message}") from None
        except AmiActionError as exc:
            raise CallTestError(f"test call into {where} refused: {exc.message}") from None
        watch.follow(result.uniqueid, result.channel)
        await _wait_for_end(client, watch, lost, request.timeout)
        report = _report(hotline, watch)
        for line in report.lines():
            print(line, file=out)
        return report
    finally:
        unsubscribe()
        if own_client:
            await client.close()


async def _wait_for_end(
    client: AmiClient, watch: CallWatch, lost: asyncio.Event, timeout: float
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    gone = asyncio.ensure_future(watch.caller_gone.wait())
    dropped = asyncio.ensure_future(lost.wait())
    try:
        await asyncio.wait({gone, dropped}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if watch.caller_gone.is_set():
            remaining = min(SETTLE_SECONDS, deadline - asyncio.get_running_loop().time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(watch.finished.wait(), max(0.0, remaining))
            return
        if lost.is_set():
            raise CallTestError(
                f"AMI connection lost while following call {watch.call_id}; its outcome is "
                "unknown (the runtime's log has it)"
            )
        with contextlib.suppress(AmiError):  # do not leave the test call up
            await client.action("Hangup", {"Channel": watch.channel or ""}, timeout=2.0)
        up = ", ".join(watch.still_up) or "?"
        raise CallTestError(
            f"no outcome within {timeout:g} s: call {watch.call_id} was still up ({up}) and "
            "was hung up; give a longer --timeout or a shorter --hangup-after"
        )
    finally:
        for task in (gone, dropped):
            task.cancel()
        await asyncio.wait({gone, dropped})


def _report(hotline: HotlineConfig, watch: CallWatch) -> CallReport:
    legs = leg_reports(hotline, watch.legs())
    ended_by = watch.ended_by()
    # the schedule as the runtime asked it, when the call arrived: not at the report, which
    # may come after closing time for a call that arrived before it
    arrived = None if watch.first_at is None else dt.datetime.fromtimestamp(watch.first_at, dt.UTC)
    outcome, reason = classify(hotline, legs, ended_by, arrived)
    duration = None
    if watch.first_at is not None and watch.ended_at is not None:
        duration = max(0.0, watch.ended_at - watch.first_at)
    return CallReport(
        hotline=hotline.name,
        call_id=watch.call_id or "?",
        channel=watch.channel or "?",
        outcome=outcome,
        reason=reason,
        legs=legs,
        ended_by=ended_by,
        duration=duration,
    )


async def run_call(
    settings: Settings, request: CallRequest, *, out: TextIO, client: AmiClient | None = None
) -> int:
    """``hotline call``: 0 when the call ran (to the expected outcome, if one was named)."""
    report = await place_call(settings, request, out=out, client=client)
    if request.expect is not None and report.outcome != request.expect:
        raise UnexpectedOutcome(f"expected outcome {request.expect}, got {report.outcome}")
    return 0
