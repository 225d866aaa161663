"""Why the FastAGI port could not be opened, as one line naming the setting to change.

The port in use is the most common start-up mistake of all; it, a bind
address that is not this machine's and a host name that does not resolve end
``hotline run`` with exit 2 and this line instead of an ``OSError`` traceback.
"""

from __future__ import annotations

import errno
import socket

from hotline.errors import ConfigError


def listen_error(exc: OSError, host: str, port: int) -> ConfigError:
    """The :class:`ConfigError` for ``exc``, raised by binding ``host:port`` for ``[agi]``."""
    if isinstance(exc, socket.gaierror):
        line = (
            f"agi.bind: cannot resolve {host!r} ({exc.strerror}); "
            "use an IP address of this machine, or 0.0.0.0 for all of them"
        )
    elif exc.errno == errno.EADDRINUSE:
        line = (
            f"agi.port: {host}:{port} is already in use (another hotline or FastAGI "
            "server running?); stop it or set another agi.port"
        )
    elif exc.errno == errno.EADDRNOTAVAIL:
        line = (
            f"agi.bind: {host} is not an address of this machine; use one of its "
            "addresses, 127.0.0.1, or 0.0.0.0 for all of them"
        )
    elif exc.errno == errno.EACCES:
        line = (
            f"agi.port: listening on port {port} is not permitted for this user "
            "(ports below 1024 need privileges); use a port above 1023, e.g. 4573"
        )
    else:
        line = f"agi.bind, agi.port: cannot listen on {host}:{port}: {exc.strerror or exc}"
    return ConfigError([line])
