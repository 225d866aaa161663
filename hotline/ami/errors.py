"""Errors of the AMI layer.

Every one is a :class:`~hotline.errors.HotlineError`, so the CLI turns it into
one line and an exit code.  Call handling never sees them: the event log and
the flow treat a missing AMI as "nothing known" (see :mod:`hotline.ami.events`).
"""

from __future__ import annotations

from hotline.errors import HotlineError, ProblemsError


class AmiError(HotlineError):
    """Something went wrong talking to Asterisk's Manager Interface."""


class AmiAuthError(AmiError):
    """Asterisk refused the AMI user/secret; retrying cannot help."""

    exit_code = 3


class AmiUnavailable(AmiError):
    """No AMI connection (refused, lost, or not yet logged in)."""


class AmiTimeout(AmiError):
    """Asterisk did not answer an action in time."""


class AmiActionError(AmiError):
    """Asterisk answered an action with ``Response: Error`` (or a failure).

    ``message`` is Asterisk's own ``Message:`` text, e.g. ``No such channel``.
    """

    def __init__(self, action: str, message: str) -> None:
        self.action = action
        self.message = message
        super().__init__(f"AMI action {action} failed: {message}")


class AmiOriginateError(AmiActionError):
    """An ``Originate`` was queued but the call could not be placed.

    ``reason`` is the ``OriginateResponse`` Reason code (0 no such
    extension/channel, 1 hung up, 3 no answer, 5 busy, 8 congestion).
    """

    def __init__(self, reason: int, message: str) -> None:
        self.reason = reason
        super().__init__("Originate", message)


class StartupCheckError(ProblemsError, AmiError):
    """The PBX is not what the runtime needs; ``problems`` holds one line per problem.

    The runtime refuses to serve (exit 2, like a bad configuration): every
    line says what is missing and the snippet that fixes it.
    """
