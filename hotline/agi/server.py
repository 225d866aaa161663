"""FastAGI server: one asyncio task per connection, routed by the AGI script path.

Each connection's task reads the header under a deadline, binds ``call_id``
and ``route`` to the structlog context (task-local, so calls never see each
other's), runs the route's handler on an :class:`AgiSession` and always closes
the socket.  Whatever a handler does — raise, hang, be cancelled — is
contained to its own call; the server keeps serving.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any

import structlog

from hotline.agi.errors import AgiConnectionLost, AgiError, AgiHangup, AgiProtocolError
from hotline.agi.session import DEFAULT_COMMAND_TIMEOUT, AgiSession
from hotline.agi.stream import DEFAULT_MAX_LINE, LineReader, read_header_lines
from hotline.agi.wire import AgiRequest, parse_header
from hotline.logs import get_logger

log = get_logger()

Handler = Callable[[AgiSession], Awaitable[None]]

#: asyncio's default (100) makes a burst of calls beyond it wait ~1 s for SYN retries
_BACKLOG = 1024


class FastAgiServer:
    """Serves FastAGI connections from Asterisk on ``host:port`` (``port=0`` picks one)."""

    def __init__(
        self,
        routes: Mapping[str, Handler],
        *,
        host: str = "127.0.0.1",
        port: int = 4573,
        header_timeout: float = 5.0,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        max_line: int = DEFAULT_MAX_LINE,
    ) -> None:
        for path, handler in routes.items():
            if not callable(handler):
                raise TypeError(f"FastAGI route {path!r}: handler {handler!r} is not callable")
        self._routes = {path.lstrip("/"): handler for path, handler in routes.items()}
        self.host = host
        self._requested_port = port
        self.header_timeout = header_timeout
        self.command_timeout = command_timeout
        self.max_line = max_line
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopped = asyncio.Event()
        #: calls whose handler is running right now
        self.active_calls = 0

    # -- lifecycle --------------------------------------------------------

    async def start(self) -> None:
        """Bind and start accepting connections."""
        if self._server is not None:
            return
        self._stopped.clear()
        self._server = await asyncio.start_server(
            self._serve_connection,
            self.host,
            self._requested_port,
            limit=2 * self.max_line,
            backlog=_BACKLOG,
        )
        log.info("agi_server_started", host=self.host, port=self.port)

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        """The listening sockets (empty before :meth:`start`)."""
        if self._server is None:
            return ()
        return tuple(self._server.sockets)

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` actually bound."""
        if not self.sockets:
            raise RuntimeError("FastAgiServer is not started")
        name: tuple[Any, ...] = self.sockets[0].getsockname()
        return str(name[0]), int(name[1])

    @property
    def port(self) -> int:
        """The bound port, so that ``port=0`` can be used."""
        return self.address[1]

    @property
    def is_serving(self) -> bool:
        """True while new connections are accepted."""
        return self._server is not None and self._server.is_serving()

    async def serve_forever(self) -> None:
        """Start if needed, then wait until :meth:`stop` has finished."""
        await self.start()
        await self._stopped.wait()

    def close(self) -> None:
        """Stop accepting new connections; calls in progress go on."""
        if self._server is not None and self._server.is_serving():
            self._server.close()
            log.info("agi_server_closing", active_calls=self.active_calls)

    async def stop(self, drain_timeout: float = 10.0) -> None:
        """Stop accepting, let running calls finish for ``drain_timeout`` s, then cancel them."""
        server = self._server
        if server is None:
            return
        self.close()
        tasks = set(self._tasks)
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=drain_timeout)
            if late:
                log.warning("agi_drain_timeout", cancelled=len(late), drain_timeout=drain_timeout)
                for task in late:
                    task.cancel()
                await asyncio.wait(late)
        await server.wait_closed()
        if self._server is server:
            self._server = None
            self._stopped.set()
            log.info("agi_server_stopped")

    async def __aenter__(self) -> FastAgiServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- one connection ---------------------------------------------------

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None  # start_server always runs us in a task
        self._tasks.add(task)
        peer = _peer(writer)
        try:
            opened = await self._read_request(reader, peer)
            if opened is not None:
                request, lines = opened
                with structlog.contextvars.bound_contextvars(
                    call_id=request.uniqueid, route=request.path
                ):
                    session = AgiSession(
                        request,
                        reader,
                        writer,
                        command_timeout=self.command_timeout,
                        max_line=self.max_line,
                        lines=lines,
                    )
                    try:
                        await self._run(session, peer)
                    finally:
                        await session.close()
        except Exception:  # a bug of ours must cost one call, not the server
            log.exception("agi_connection_failed", peer=peer)
        finally:
            try:
                await _close(writer)
            finally:
                self._tasks.discard(task)

    async def _read_request(
        self, reader: asyncio.StreamReader, peer: str
    ) -> tuple[AgiRequest, LineReader] | None:
        """The header, and the line reader holding any bytes already received after it."""
        lines = LineReader(reader, self.max_line)
        try:
            async with asyncio.timeout(self.header_timeout):
                header = await read_header_lines(lines)
            request = parse_header(header)
        except TimeoutError:
            log.warning(
                "agi_header_timeout",
                peer=peer,
                timeout=self.header_timeout,
                bytes=lines.bytes_received,
            )
            return None
        except AgiConnectionLost:
            if lines.bytes_received == 0:
                # a health check or port probe: connect, send nothing, close
                log.debug("agi_probe_closed", peer=peer)
            else:
                log.warning("agi_header_incomplete", peer=peer, bytes=lines.bytes_received)
            return None
        except AgiProtocolError as exc:
            log.warning("agi_bad_header", peer=peer, problem=str(exc))
            return None
        return request, lines

    async def _run(self, session: AgiSession, peer: str) -> None:
        request = session.request
        handler = self._routes.get(request.path)
        if handler is None:
            log.warning("agi_unknown_route", path=request.path, peer=peer)
            try:
                await session.verbose(
                    f"hotline: no route for {request.path!r}", 1, timeout=self.header_timeout
                )
            except AgiError as exc:
                log.debug("agi_unknown_route_not_told", problem=str(exc))
            return
        loop = asyncio.get_running_loop()
        started = loop.time()
        self.active_calls += 1
        log.info("agi_session_started", channel=request.channel, peer=peer)
        outcome = "completed"
        try:
            result = handler(session)
            if inspect.isawaitable(result):
                await result
        except AgiHangup as exc:
            outcome = "caller_gone"
            log.info("agi_caller_gone", reason=str(exc))
        except asyncio.CancelledError:
            outcome = "cancelled"
            log.info("agi_session_cancelled")
            raise
        except AgiError as exc:
            # bad data from the peer, a timeout, a refused command: one line, no traceback
            outcome = "failed"
            log.warning("agi_call_failed", error=type(exc).__name__, problem=str(exc))
        except Exception:  # one call's bug must not stop the server
            outcome = "failed"
            log.exception("agi_handler_failed")
        finally:
            self.active_calls -= 1
            log.info(
                "agi_session_ended",
                outcome=outcome,
                duration_s=round(loop.time() - started, 3),
                commands=session.commands,
                hung_up=session.hung_up,
            )


async def _close(writer: asyncio.StreamWriter) -> None:
    """Close the socket and wait (briefly) until it is really closed."""
    if not writer.is_closing():
        writer.close()
    try:
        async with asyncio.timeout(1.0):
            await writer.wait_closed()
    except TimeoutError:
        writer.transport.abort()
    except (ConnectionError, OSError):
        pass


def _peer(writer: asyncio.StreamWriter) -> str:
    name = writer.get_extra_info("peername")
    if isinstance(name, tuple) and len(name) >= 2:
        return f"{name[0]}:{name[1]}"
    return str(name)
