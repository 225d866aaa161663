"""The AMI events hotline uses, typed (:func:`parse_event`).

Facts from the recordings (tests/ami/recordings) that shape them:

* ``DialBegin``/``DialEnd`` carry the caller as ``Channel``/``Uniqueid`` and
  the agent leg as ``DestChannel``/``DestUniqueid``; an ``Originate``'s own
  dial has no caller headers (16_ami_edge_cases.log) and is not a hunt leg.
* ``DialString`` is the Dial argument without the technology
  (``Local/201@sim-agents`` -> ``201@sim-agents``).
* ``GOSUB_RESULT=CONTINUE`` shows as ``DialStatus: CONTINUE`` in DialEnd only.

hotline/ami/calllog.py ties them to calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hotline.ami.messages import header_value
from hotline.records import record

#: the events the event log subscribes to (and manager.conf lets through)
EVENT_NAMES = (
    "Newchannel",
    "DialBegin",
    "DialState",
    "DialEnd",
    "Hangup",
    "BridgeEnter",
    "BridgeLeave",
    "DTMFEnd",
    "OriginateResponse",
)


def _int(text: str, default: int = 0) -> int:
    try:
        return int(text)
    except ValueError:
        return default


# --------------------------------------------------------------------------
# typed events
# --------------------------------------------------------------------------


@record
class ChannelRef:
    """The channel snapshot an event carries (``Channel``... or ``DestChannel``...)."""

    channel: str
    uniqueid: str
    linkedid: str
    state_desc: str = ""
    context: str = ""
    exten: str = ""
    caller_id_num: str = ""

    @classmethod
    def from_message(cls, message: Mapping[str, Any], prefix: str = "") -> ChannelRef | None:
        uniqueid = header_value(message, f"{prefix}Uniqueid")
        channel = header_value(message, f"{prefix}Channel")
        if not uniqueid or not channel:
            return None
        return cls(
            channel=channel,
            uniqueid=uniqueid,
            linkedid=header_value(message, f"{prefix}Linkedid") or uniqueid,
            state_desc=header_value(message, f"{prefix}ChannelStateDesc"),
            context=header_value(message, f"{prefix}Context"),
            exten=header_value(message, f"{prefix}Exten"),
            caller_id_num=header_value(message, f"{prefix}CallerIDNum"),
        )


@record
class Newchannel:
    at: float
    channel: ChannelRef


@record
class DialBegin:
    at: float
    caller: ChannelRef | None
    dest: ChannelRef
    dial_string: str


@record
class DialState:
    at: float
    caller: ChannelRef | None
    dest: ChannelRef
    status: str


@record
class DialEnd:
    at: float
    caller: ChannelRef | None
    dest: ChannelRef
    status: str


@record
class Hangup:
    at: float
    channel: ChannelRef
    cause: int
    cause_txt: str


@record
class BridgeEnter:
    at: float
    channel: ChannelRef
    bridge_uniqueid: str


@record
class BridgeLeave:
    at: float
    channel: ChannelRef
    bridge_uniqueid: str


@record
class DTMFEnd:
    at: float
    channel: ChannelRef
    digit: str
    duration_ms: int
    direction: str


@record
class OriginateResponse:
    at: float
    action_id: str
    success: bool
    channel: str
    reason: int
    #: None when Asterisk says ``<unknown>`` (the call never got a channel)
    uniqueid: str | None


AmiEvent = (
    Newchannel
    | DialBegin
    | DialState
    | DialEnd
    | Hangup
    | BridgeEnter
    | BridgeLeave
    | DTMFEnd
    | OriginateResponse
)


def parse_event(message: Mapping[str, Any], at: float) -> AmiEvent | None:
    """A typed view of one event, or None (not one we use, or missing its ids)."""
    name = header_value(message, "Event").lower()
    if name == "originateresponse":
        uniqueid = header_value(message, "Uniqueid")
        return OriginateResponse(
            at=at,
            action_id=header_value(message, "ActionID"),
            success=header_value(message, "Response") == "Success",
            channel=header_value(message, "Channel"),
            reason=_int(header_value(message, "Reason")),
            uniqueid=None if uniqueid in ("", "<unknown>") else uniqueid,
        )
    if name in ("dialbegin", "dialstate", "dialend"):
        dest = ChannelRef.from_message(message, "Dest")
        if dest is None:
            return None
        caller = ChannelRef.from_message(message)
        if name == "dialbegin":
            return DialBegin(at, caller, dest, header_value(message, "DialString"))
        if name == "dialstate":
            return DialState(at, caller, dest, header_value(message, "DialStatus"))
        return DialEnd(at, caller, dest, header_value(message, "DialStatus"))
    channel = ChannelRef.from_message(message)
    if channel is None:
        return None
    if name == "hangup":
        return Hangup(
            at, channel, _int(header_value(message, "Cause")), header_value(message, "Cause-txt")
        )
    if name == "newchannel":
        return Newchannel(at, channel)
    if name == "bridgeenter":
        return BridgeEnter(at, channel, header_value(message, "BridgeUniqueid"))
    if name == "bridgeleave":
        return BridgeLeave(at, channel, header_value(message, "BridgeUniqueid"))
    if name == "dtmfend":
        return DTMFEnd(
            at,
            channel,
            header_value(message, "Digit"),
            _int(header_value(message, "DurationMs")),
            header_value(message, "Direction"),
        )
    return None
