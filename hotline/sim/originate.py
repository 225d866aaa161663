"""An AMI ``Originate`` as the simulated Asterisk receives it, and what became of it.

:class:`~hotline.sim.ami_server.AmiServer` parses the action into an
:class:`OriginateRequest` and hands it to its :data:`OriginateHandler`: its own
(Local channels into its dialplan) or
:class:`~hotline.sim.ami_pbx.PbxOriginator`, which turns it into a simulated call.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from hotline.ami.wire import Headers, header, headers_all

#: what Asterisk's ``ast_true`` takes for yes
TRUE_WORDS = frozenset({"yes", "true", "y", "t", "1", "on"})


@dataclass(frozen=True)
class OriginateRequest:
    """An Originate as the simulator received it."""

    action_id: str
    channel: str
    context: str
    exten: str
    priority: str
    application: str
    data: str
    caller_id: str
    variables: dict[str, str]
    timeout_ms: int
    is_async: bool
    headers: Headers


@dataclass(frozen=True)
class OriginateOutcome:
    """What became of an Originate: ``reason`` 4 answered, 0 failed, 3 no answer, 5 busy."""

    reason: int
    channel: str | None = None
    uniqueid: str | None = None

    @property
    def answered(self) -> bool:
        return self.reason == 4


OriginateHandler = Callable[[OriginateRequest], Awaitable[OriginateOutcome]]


def parse_originate(request: Headers) -> OriginateRequest:
    """The Originate action's headers as a request (``Variable`` may repeat and hold a,b,c)."""
    variables = {}
    for item in headers_all(request, "Variable"):
        for pair in item.split(","):
            key, _, value = pair.partition("=")
            variables[key] = value
    timeout_text = header(request, "Timeout", "30000")
    return OriginateRequest(
        action_id=header(request, "ActionID"),
        channel=header(request, "Channel"),
        context=header(request, "Context"),
        exten=header(request, "Exten"),
        priority=header(request, "Priority", "1"),
        application=header(request, "Application"),
        data=header(request, "Data"),
        caller_id=header(request, "CallerID"),
        variables=variables,
        timeout_ms=int(timeout_text) if timeout_text.isdigit() else 30000,
        is_async=header(request, "Async").lower() in TRUE_WORDS,
        headers=request,
    )


def split_callerid(caller_id: str) -> tuple[str, str]:
    """``"Name" <number>`` into (name, number); ``<unknown>`` where missing."""
    match = re.fullmatch(r'\s*"?([^"<]*?)"?\s*<([^>]*)>\s*', caller_id)
    if match:
        return match.group(1) or "<unknown>", match.group(2) or "<unknown>"
    return "<unknown>", caller_id or "<unknown>"
