"""The listening side over real loopback sockets: what an accepted socket carries."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator

import pytest

from hotline.agi.listener import KEEPALIVE, Keepalive, accept, has_keepalive, set_keepalive


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock
    sock.close()


def test_an_accepted_socket_reads_family_and_type_as_plain_ints(listener: socket.socket) -> None:
    with socket.create_connection(listener.getsockname()) as peer:
        conn = accept(listener)
        with conn:
            assert isinstance(conn, socket.socket)  # what the event loops expect
            assert (type(conn.family), type(conn.type)) == (int, int)  # no enum per read
            assert (conn.family, conn.type) == (socket.AF_INET, socket.SOCK_STREAM)
            assert conn.getpeername() == peer.getsockname()
            peer.sendall(b"agi_network: yes\n")
            assert conn.recv(64) == b"agi_network: yes\n"


def test_with_nothing_to_accept_it_says_so(listener: socket.socket) -> None:
    listener.setblocking(False)
    with pytest.raises(BlockingIOError):
        accept(listener)


@pytest.mark.skipif(sys.platform != "linux", reason="Linux copies the listener's keepalive")
def test_an_accepted_socket_has_the_listeners_keepalive(listener: socket.socket) -> None:
    set_keepalive(listener, KEEPALIVE)
    with socket.create_connection(listener.getsockname()), accept(listener) as conn:
        assert has_keepalive(conn, KEEPALIVE)
        assert not has_keepalive(conn, Keepalive(idle=KEEPALIVE.idle + 1))
