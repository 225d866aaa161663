"""Fixtures for the FastAGI tests: real loopback sockets, no mocks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import pytest

from hotline.agi.server import FastAgiServer, Handler
from hotline.agi.session import AgiSession
from hotline.agi.stream import DEFAULT_MAX_LINE, AgiStream
from hotline.agi.testing import FakeAsterisk, start_stream_server

ServerFactory = Callable[..., Awaitable[FastAgiServer]]
SessionFactory = Callable[..., Awaitable[tuple[AgiSession, FakeAsterisk]]]


@pytest.fixture
async def start_server() -> AsyncIterator[ServerFactory]:
    """``await start_server(routes, **options)``: a started server on 127.0.0.1, port 0."""
    servers: list[FastAgiServer] = []

    async def start(routes: Mapping[str, Handler], **options: Any) -> FastAgiServer:
        server = FastAgiServer(routes, host="127.0.0.1", port=0, **options)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop(drain_timeout=1.0)


@pytest.fixture
async def open_session() -> AsyncIterator[SessionFactory]:
    """``await open_session(**session_options)`` -> ``(session, pbx)`` over a real socket.

    The session is built with :meth:`AgiSession.open` on the accepted
    connection's :class:`AgiStream`; ``pbx`` is the Asterisk side, header already sent.
    """
    cleanup: list[tuple[AgiSession, FakeAsterisk, asyncio.Server]] = []

    async def open_one(
        header: Mapping[str, Any] | None = None, **options: Any
    ) -> tuple[AgiSession, FakeAsterisk]:
        opened: asyncio.Future[AgiSession] = asyncio.get_running_loop().create_future()
        max_line = options.pop("max_line", DEFAULT_MAX_LINE)

        async def accept(stream: AgiStream) -> None:
            try:
                opened.set_result(await AgiSession.open(stream, **options))
            except Exception as exc:
                opened.set_exception(exc)

        listener = await start_stream_server(accept, max_line=max_line)
        pbx = FakeAsterisk(listener.sockets[0].getsockname()[1])
        await pbx.connect()
        await pbx.send_header(**(header or {}))
        session = await asyncio.wait_for(opened, 5)
        cleanup.append((session, pbx, listener))
        return session, pbx

    yield open_one
    for session, pbx, listener in cleanup:
        await session.close()
        await pbx.close()
        listener.close()
        await listener.wait_closed()
