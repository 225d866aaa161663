"""FastAGI protocol layer: wire format, one session per connection, the server.

Knows nothing about hotlines; call logic codes against :class:`AgiSession`.
"""

from hotline.agi.errors import (
    AgiArgumentError,
    AgiCommandError,
    AgiConnectionLost,
    AgiError,
    AgiHangup,
    AgiProtocolError,
    AgiTimeout,
)
from hotline.agi.server import FastAgiServer, Handler
from hotline.agi.session import AgiSession
from hotline.agi.wire import AgiReply, AgiRequest, format_command, parse_header, parse_reply

__all__ = [
    "AgiArgumentError",
    "AgiCommandError",
    "AgiConnectionLost",
    "AgiError",
    "AgiHangup",
    "AgiProtocolError",
    "AgiReply",
    "AgiRequest",
    "AgiSession",
    "AgiTimeout",
    "FastAgiServer",
    "Handler",
    "format_command",
    "parse_header",
    "parse_reply",
]
