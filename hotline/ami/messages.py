"""AMI messages as hotline reads them: headers, an action's reply, an answered Originate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: an AMI message as panoramisk gives it: case-insensitive keys, a repeated
#: header's values as a list
AmiMessage = Mapping[str, Any]


def header_value(message: AmiMessage, key: str, default: str = "") -> str:
    """One header as a string (the first one if Asterisk repeated it)."""
    value = message.get(key, default)
    if isinstance(value, list):
        return str(value[0]) if value else default
    return str(value)


def header_values(message: AmiMessage, key: str) -> list[str]:
    """Every value of a header that may be repeated (``Output:``), in order."""
    value = message.get(key)
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


@dataclass(frozen=True)
class AmiResponse:
    """The reply to one action: the ``Response:`` message and any list events.

    ``events`` holds what Asterisk sent after the response for list actions
    (``ShowDialPlan``'s ``ListDialplan`` items and the ``...Complete`` event)
    and, for an async ``Originate``, the ``OriginateResponse``.
    """

    action: str
    headers: AmiMessage
    events: tuple[AmiMessage, ...] = ()

    def get(self, key: str, default: str = "") -> str:
        return header_value(self.headers, key, default)

    def get_all(self, key: str) -> list[str]:
        return header_values(self.headers, key)

    @property
    def message(self) -> str:
        return self.get("Message")


@dataclass(frozen=True)
class OriginateResult:
    """An answered ``Originate``: the new channel and its uniqueid.

    For ``Channel: Local/...`` the uniqueid is the ``;1`` half, the one that
    runs the given Context/Exten, i.e. the hotline's caller leg (its
    ``agi_uniqueid``, the call id in the logs).
    """

    channel: str
    uniqueid: str
    reason: int
    response: AmiMessage
