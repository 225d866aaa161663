"""What a dial attempt and a whole call came to, read from what Asterisk reports.

Asterisk's own ``DIALSTATUS`` cannot tell a confirmed agent from a declined
one (both are ``ANSWER``, see the recordings' dialstatus matrix); the confirm
subroutine's ``Return(value)`` arrives on the caller as ``GOSUB_RETVAL`` and
settles it.
"""

from __future__ import annotations

from enum import StrEnum

from hotline.contract import ACCEPTED, AGENT_HANGUP, CALLER_GONE, DECLINED, ERROR, TAKEN, TIMEOUT
from hotline.records import record


class TargetOutcome(StrEnum):
    """Why the hunt moved past (or stopped at) one target."""

    NO_ANSWER = "no_answer"
    BUSY = "busy"
    UNAVAILABLE = "unavailable"
    CONGESTION = "congestion"
    DECLINED = "declined"  # answered, pressed the decline digit or another key
    NOT_CONFIRMED = "not_confirmed"  # answered, pressed nothing (a voicemail box, an absent agent)
    AGENT_HUNG_UP = "agent_hung_up"  # answered, hung up while being asked
    CONFIRMED = "confirmed"
    CALLER_GONE = "caller_gone"  # the caller hung up while this target rang or was asked
    FAILED = "failed"  # the dial string or the confirm subroutine did not work
    SKIPPED = "skipped"  # not dialled: busy, unavailable, on a hotline call, wrap-up (agent board)
    TAKEN = "taken"  # being asked (or pressed 1) in a parallel step a colleague took first
    ANSWERED_ELSEWHERE = "answered_elsewhere"  # rang in a parallel step a colleague took


class CallOutcome(StrEnum):
    CONNECTED = "connected"
    NOBODY_AVAILABLE = "nobody_available"
    FALLBACK = "fallback"
    PIN_FAILED = "pin_failed"
    LOCKED_OUT = "locked_out"  # too many failed PIN calls from this number: no PIN prompt
    CLOSED = "closed"  # outside opening hours or on a holiday
    ABANDONED = "abandoned"
    REFUSED = "refused"  # the runtime may not take calls (license)
    FAILED = "failed"


_CONFIRM_RESULTS = {
    ACCEPTED: TargetOutcome.CONFIRMED,
    DECLINED: TargetOutcome.DECLINED,
    TIMEOUT: TargetOutcome.NOT_CONFIRMED,
    AGENT_HANGUP: TargetOutcome.AGENT_HUNG_UP,
    CALLER_GONE: TargetOutcome.CALLER_GONE,
    TAKEN: TargetOutcome.TAKEN,
    ERROR: TargetOutcome.FAILED,
}


def verdict_outcome(verdict: str) -> TargetOutcome:
    """What a confirm leg's verdict means for its target (unknown words: failed)."""
    return _CONFIRM_RESULTS.get(verdict, TargetOutcome.FAILED)


_DIAL_STATUSES = {
    "NOANSWER": TargetOutcome.NO_ANSWER,
    "BUSY": TargetOutcome.BUSY,
    "CHANUNAVAIL": TargetOutcome.UNAVAILABLE,
    "CONGESTION": TargetOutcome.CONGESTION,
    "CANCEL": TargetOutcome.CALLER_GONE,
}


@record
class DialReport:
    """What the caller leg reads back after ``EXEC Dial``."""

    result: int  # EXEC's result: -1 when a bridge ended or the caller hung up
    dialstatus: str
    gosub_retval: str
    hangupcause: str
    caller_hung_up: bool

    @property
    def outcome(self) -> TargetOutcome:
        if self.dialstatus == "ANSWER":
            if self.gosub_retval in _CONFIRM_RESULTS:
                outcome = _CONFIRM_RESULTS[self.gosub_retval]
                if outcome is not TargetOutcome.CONFIRMED and self.caller_hung_up:
                    return TargetOutcome.CALLER_GONE
                return outcome
            if self.caller_hung_up:
                return TargetOutcome.CALLER_GONE
            if self.result == 0:
                # GOSUB_RESULT=CONTINUE was set but Return() never ran: the agent hung up
                # during the confirm and Asterisk stopped the subroutine (recording 06).
                return TargetOutcome.AGENT_HUNG_UP
            # Dial bridged with no verdict: a dialplan without Return(${HOTLINE_CONFIRM}).
            # Report it as connected; the flow warns.
            return TargetOutcome.CONFIRMED
        if self.dialstatus in _DIAL_STATUSES:
            return _DIAL_STATUSES[self.dialstatus]
        if self.caller_hung_up:
            return TargetOutcome.CALLER_GONE
        return TargetOutcome.FAILED

    @property
    def unconfirmed_bridge(self) -> bool:
        """Dial bridged although the confirm subroutine gave no verdict."""
        return self.outcome is TargetOutcome.CONFIRMED and self.gosub_retval not in _CONFIRM_RESULTS
