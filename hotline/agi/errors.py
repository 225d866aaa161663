"""Errors of the FastAGI protocol layer.

Every failure of a FastAGI connection surfaces as one of these typed errors,
never as a dict or a bare ``ValueError`` (panoramisk 1.4 does both), so call
logic can tell "the caller is gone" (:class:`AgiHangup`) from "we are talking
to something broken" (:class:`AgiProtocolError`) with plain ``except`` clauses.
"""

from __future__ import annotations

from hotline.errors import HotlineError


class AgiError(HotlineError):
    """Root of the FastAGI layer's errors."""


class AgiHangup(AgiError):
    """The channel has hung up: HANGUP line seen, ``511`` reply, or ``result=-1`` on media."""


class AgiConnectionLost(AgiHangup):
    """The peer closed the socket (end of stream), before or during a command."""


class AgiProtocolError(AgiError):
    """Malformed data from the peer: over-long line, unparseable reply, bad header."""


class AgiCommandError(AgiError):
    """Asterisk rejected a command: ``510`` (unknown command) or ``520`` (usage)."""

    def __init__(self, code: int, text: str, command: str = "") -> None:
        self.code = code
        self.text = text
        self.command = command
        where = f" to {command!r}" if command else ""
        super().__init__(f"AGI error {code}{where}: {text}")


class AgiTimeout(AgiError):
    """No reply within the command timeout; the connection is closed (it is out of sync)."""


class AgiArgumentError(AgiError):
    """A value that cannot be sent safely (newline, CR, NUL, too long); nothing was sent."""
