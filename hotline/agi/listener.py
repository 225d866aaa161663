"""The listening side of the FastAGI server: bound sockets, their backlog and TCP keepalive.

Every connection gets TCP keepalive, so a peer whose host vanished (power loss, a
cut network) is found within about a minute even during an hours-long Dial.  It
is set once on the listening socket: Linux copies it to every accepted one
(:func:`has_keepalive` checks the first; elsewhere it is set per socket).
"""

from __future__ import annotations

import _socket
import asyncio
import socket
from dataclasses import dataclass

#: connections the kernel completes and holds for us while we do not accept (at the
#: cap): asyncio's default (100) makes a burst of calls beyond it wait ~1 s for SYN
#: retries, and with 3,000 stalled peers a full queue of 1,024 made healthy calls miss
#: Asterisk's 2 s FastAGI connect timeout (benchmarks/hostile_load.py); Linux caps it
#: at net.core.somaxconn (4096 by default)
BACKLOG = 4096


@dataclass(frozen=True)
class Keepalive:
    """TCP keepalive for AGI sockets: a dead peer is found after ``idle + interval * count``
    seconds of silence (20 + 10 * 4 = 60 s); ``user_timeout`` bounds unacknowledged data."""

    idle: int = 20
    interval: int = 10
    count: int = 4
    user_timeout: int = 60


KEEPALIVE = Keepalive()


def set_keepalive(sock: socket.socket, keepalive: Keepalive) -> None:
    """Turn on TCP keepalive with ``keepalive``'s timing (the Linux options where they exist)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    options = (
        ("TCP_KEEPIDLE", keepalive.idle),
        ("TCP_KEEPINTVL", keepalive.interval),
        ("TCP_KEEPCNT", keepalive.count),
        ("TCP_USER_TIMEOUT", keepalive.user_timeout * 1000),
    )
    for name, value in options:
        option = getattr(socket, name, None)
        if option is not None:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)


def has_keepalive(sock: socket.socket, keepalive: Keepalive) -> bool:
    """True when ``sock`` (accepted) already has ``keepalive``: Linux copies the listener's."""
    if not sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE):
        return False
    idle = getattr(socket, "TCP_KEEPIDLE", None)
    return idle is None or sock.getsockopt(socket.IPPROTO_TCP, idle) == keepalive.idle


async def listen(host: str, port: int) -> list[socket.socket]:
    """Listening sockets for every address ``host`` resolves to (as ``asyncio.start_server``).

    Raises ``OSError`` (``socket.gaierror`` for a host that does not resolve)
    naming the address that could not be bound.
    """
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(
        host, port, family=socket.AF_UNSPEC, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    listeners: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            listeners.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port and not address[1]:
                address = (address[0], port, *address[2:])  # every address on one port
            try:
                sock.bind(address)
            except OSError as exc:
                raise OSError(
                    exc.errno,
                    f"error while attempting to bind on address {address!r}: {exc.strerror}",
                ) from None
            sock.listen(BACKLOG)
            sock.setblocking(False)
            port = port or int(sock.getsockname()[1])
    except BaseException:
        for sock in listeners:
            sock.close()
        raise
    return listeners


class AcceptedSocket(socket.socket):
    """An accepted connection whose ``family`` and ``type`` read as plain ints.

    ``socket.socket`` makes an enum of each on every read (``_intenum_converter``), and
    ``accept()`` and the event loop's ``connect_accepted_socket`` read them for every
    connection: 15 enum lookups per call (cProfile, 100 calls).
    """

    family = _socket.socket.family  # type: ignore[assignment]
    type = _socket.socket.type  # type: ignore[assignment]


def accept(listener: socket.socket) -> AcceptedSocket:
    """``listener.accept()`` without its enums: the same C call, the same kind of socket."""
    fd, _ = listener._accept()  # type: ignore[attr-defined]  # what socket.accept() calls
    return AcceptedSocket(
        _socket.socket.family.__get__(listener),
        _socket.socket.type.__get__(listener),
        listener.proto,
        fileno=fd,
    )
