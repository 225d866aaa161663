"""Why the FastAGI port could not be opened, as one line naming the setting to change.

The port in use is the most common start-up mistake of all; it, a bind
address that is not this machine's and a host name that does not resolve end
``hotline run`` with exit 2 and this line instead of an ``OSError`` traceback.
"""

from __future__ import annotations

import errno
import socket

from hotline.errors import ConfigError


def listen_error(
    exc: OSError, host: str, port: int, section: str = "agi", example: int = 4573
) -> ConfigError:
    """The :class:`ConfigError` for ``exc``, raised by binding ``host:port`` for ``[section]``
    (``[agi]``, or ``[http]`` for the web page)."""
    what = "FastAGI server" if section == "agi" else "web server"
    if isinstance(exc, socket.gaierror):
        line = (
            f"{section}.bind: cannot resolve {host!r} ({exc.strerror}); "
            "use an IP address of this machine, or 0.0.0.0 for all of them"
        )
    elif exc.errno == errno.EADDRINUSE:
        line = (
            f"{section}.port: {host}:{port} is already in use (another hotline or "
            f"{what} running?); stop it or set another {section}.port"
        )
    elif exc.errno == errno.EADDRNOTAVAIL:
        line = (
            f"{section}.bind: {host} is not an address of this machine; use one of its "
            "addresses, 127.0.0.1, or 0.0.0.0 for all of them"
        )
    elif exc.errno == errno.EACCES:
        line = (
            f"{section}.port: listening on port {port} is not permitted for this user "
            f"(ports below 1024 need privileges); use a port above 1023, e.g. {example}"
        )
    else:
        reason = exc.strerror or exc
        line = f"{section}.bind, {section}.port: cannot listen on {host}:{port}: {reason}"
    return ConfigError([line])
