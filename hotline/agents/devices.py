"""Which PBX device belongs to a target, and what Asterisk's device states mean for hunting.

Asterisk reports device state by device name (``PJSIP/201``, ``Custom:agent201``)
in ``DeviceStateChange`` events and the ``DeviceStateList`` action.  A target's
device is set in the config (``device = "PJSIP/201"``) or derived from its dial
string when that names one device (``PJSIP/201``); a dial string through a
trunk (``PJSIP/0301234@trunk``), a ``Local/`` channel or anything else names no
device, so such targets are never skipped for device reasons.
"""

from __future__ import annotations

import re
from enum import StrEnum


class DeviceState(StrEnum):
    """``ast_devstate_str()`` values (main/devicestate.c), as AMI spells them."""

    UNKNOWN = "UNKNOWN"
    NOT_INUSE = "NOT_INUSE"
    INUSE = "INUSE"
    BUSY = "BUSY"
    INVALID = "INVALID"
    UNAVAILABLE = "UNAVAILABLE"  # e.g. a PJSIP endpoint with no registered contact
    RINGING = "RINGING"
    RINGINUSE = "RINGINUSE"
    ONHOLD = "ONHOLD"

    @classmethod
    def parse(cls, text: str) -> DeviceState:
        """AMI's text for a state; anything unknown is UNKNOWN (never skipped for)."""
        try:
            return cls(text.strip().upper())
        except ValueError:
            return cls.UNKNOWN


#: which skip rule a device state falls under (states not listed are never skipped)
SKIP_REASONS: dict[DeviceState, str] = {
    DeviceState.UNAVAILABLE: "unavailable",
    DeviceState.INVALID: "unavailable",
    DeviceState.INUSE: "busy",
    DeviceState.BUSY: "busy",
    DeviceState.ONHOLD: "busy",
    DeviceState.RINGINUSE: "busy",
    DeviceState.RINGING: "ringing",
}

#: technology/resource naming one device: no '@' (a trunk or endpoint route), no options
_SLASH_DEVICE = re.compile(r"([A-Za-z][A-Za-z0-9]*)/([A-Za-z0-9_.+*#-]+)")
_CUSTOM_DEVICE = re.compile(r"[Cc][Uu][Ss][Tt][Oo][Mm]:([A-Za-z0-9_.+*#-]+)")
#: channel technologies that have no device state of their own
_NOT_DEVICES = frozenset({"local"})


def device_key(device: str) -> str:
    """The form device names are compared in (technology case-insensitive, as Asterisk does)."""
    custom = _CUSTOM_DEVICE.fullmatch(device)
    if custom:
        return f"Custom:{custom.group(1)}"
    slash = _SLASH_DEVICE.fullmatch(device)
    if slash:
        return f"{slash.group(1).upper()}/{slash.group(2)}"
    return device


def device_of_dial_string(dial_string: str) -> str | None:
    """The device a dial string rings, or None when it names no single device."""
    match = _SLASH_DEVICE.fullmatch(dial_string)
    if match is None or match.group(1).lower() in _NOT_DEVICES:
        return None
    return device_key(dial_string)


def valid_device(value: str) -> str:
    """Config validator for ``targets[].device``."""
    if _CUSTOM_DEVICE.fullmatch(value):
        return value
    if value.split("/", 1)[0].lower() in _NOT_DEVICES:
        raise ValueError(
            f"{value!r} is a Local channel, which has no device state of its own; "
            "name the agent's phone, e.g. 'PJSIP/201'"
        )
    if _SLASH_DEVICE.fullmatch(value) is None:
        raise ValueError(
            f"{value!r} cannot be a device; use a technology and a name like 'PJSIP/201' "
            "or a custom device state like 'Custom:agent201'"
        )
    return value
