"""FastAGI server: an asyncio task per connection, routed by the AGI script path.

Each connection's task reads the header under a deadline, binds ``call_id``
and ``route`` to the log context (task-local, so calls never see each
other's), runs the route's handler on an :class:`AgiSession` (a coroutine handler
in a task of its own, which the connection's awaits) and always closes the socket.
Whatever a handler does — raise, hang, be cancelled — is contained to its own call;
the server keeps serving.

The server runs its own accept loop rather than asyncio's: at most
``max_connections`` connections are open at once (at the cap, accepting
pauses and new connections wait in the kernel's backlog until one closes; a
connection still trickling its header ``header_grace`` seconds after it was
accepted is closed then, to make room: a slowloris cannot hold the slots),
and running out of file descriptors (``EMFILE``) pauses accepting with one
warning instead of asyncio's traceback per attempt (81,725 of them in 10 s
were measured with ``ulimit -n 1024`` and 1,000 stuck peers).  Every
connection gets TCP keepalive (:mod:`hotline.agi.listener`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import errno
import inspect
import socket
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from types import TracebackType
from typing import Any, TypeVar

from hotline.agi.deadlines import DeadlineSlots
from hotline.agi.errors import (
    AgiConnectionLost,
    AgiError,
    AgiHangup,
    AgiProtocolError,
    AgiTimeout,
)
from hotline.agi.limits import DEFAULT_MAX_CONNECTIONS, fit_connection_cap
from hotline.agi.listener import (
    KEEPALIVE,
    Keepalive,
    accept,
    has_keepalive,
    listen,
    set_keepalive,
)
from hotline.agi.session import DEFAULT_COMMAND_TIMEOUT, AgiSession
from hotline.agi.stream import DEFAULT_MAX_LINE, AgiStream, read_header_lines
from hotline.agi.wire import AgiRequest, parse_header
from hotline.logs import bind_context, get_logger
from hotline.logsquash import RateLimit

log = get_logger()

_T = TypeVar("_T")

#: what a route runs for a connection: the call's awaitable (run in a task of its own,
#: which the connection's task awaits), or None when it has nothing to do (the socket
#: then just closes)
Handler = Callable[[AgiSession], Awaitable[object] | None]

#: accept() errors that mean "out of descriptors or memory": pause, never crash
_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
#: how long accepting pauses after such an error unless a connection closes first
_RESOURCE_PAUSE = 1.0
#: connections accepted in one loop turn; more wait for the next (the socket stays ready):
#: asyncio's own server takes up to its backlog (100) per turn, a long turn in a burst
_ACCEPTS_PER_TURN = 16


class FastAgiServer:
    """Serves FastAGI connections from Asterisk on ``host:port`` (``port=0`` picks one)."""

    #: the protocol built for each accepted connection (a seam: the benchmarks' probe
    #: swaps in a subclass that times replies, as it does asyncio's streams for its peers)
    stream_class: type[AgiStream] = AgiStream
    #: a coroutine handler runs in a task of its own (a seam: the benchmarks' tweak
    #: ``handler-inline`` awaits it in the connection's coroutine, as before, to compare)
    handler_task = True

    def __init__(
        self,
        routes: Mapping[str, Handler],
        *,
        host: str = "127.0.0.1",
        port: int = 4573,
        header_timeout: float = 5.0,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        max_line: int = DEFAULT_MAX_LINE,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        keepalive: Keepalive = KEEPALIVE,
        header_grace: float = 1.0,
    ) -> None:
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, not {max_connections}")
        self._routes = self._checked(routes)
        self.host = host
        self._requested_port = port
        self.header_timeout = header_timeout
        self.command_timeout = command_timeout
        self.max_line = max_line
        #: connections open at once; lowered at start when the fd limit is too small
        self.max_connections = max_connections
        self.keepalive = keepalive
        self._listeners: list[socket.socket] = []
        #: tasks waiting for room to accept again (accepting is paused while one waits)
        self._accepting: list[asyncio.Task[None]] = []
        #: accepted sockets have the listener's keepalive (Linux): not set again on each
        self._keepalive_inherited = False
        self._serving = False
        self._tasks: set[asyncio.Task[None]] = set()
        #: the sessions' command deadlines, one loop timer for all (made on start)
        self._deadlines: DeadlineSlots | None = None
        self._stopped = asyncio.Event()
        #: connections open right now (accepted, not yet closed)
        self.connections = 0
        self._room = asyncio.Event()
        self._room.set()
        #: times accepting paused because the cap was reached
        self.cap_pauses = 0
        #: seconds a connection may take to send its header while the cap is reached
        self.header_grace = header_grace
        #: connections still sending their header, oldest first, with when they were accepted
        self._in_header: dict[AgiStream, float] = {}
        #: connections closed at the cap because their header was too slow
        self.evicted = 0
        #: set when a connection closes, while accepting waits for a free descriptor
        self._freed: asyncio.Event | None = None
        #: one line per window while descriptors run out, however often accept() fails
        self._starved = RateLimit()
        self._full = RateLimit()
        #: calls whose handler is running right now
        self.active_calls = 0
        #: peers that sent something that is not AGI (bad header, bad reply): a metric
        self.protocol_errors = 0
        #: set while draining: which new sessions are still served (the rest is refused)
        self._draining: Callable[[AgiRequest], bool] | None = None
        #: set whenever no handler runs (a drain waits on it)
        self._idle = asyncio.Event()
        self._idle.set()

    @staticmethod
    def _checked(routes: Mapping[str, Handler]) -> dict[str, Handler]:
        for path, handler in routes.items():
            if not callable(handler):
                raise TypeError(f"FastAGI route {path!r}: handler {handler!r} is not callable")
        return {path.lstrip("/"): handler for path, handler in routes.items()}

    def set_routes(self, routes: Mapping[str, Handler]) -> None:
        """Route new connections with ``routes`` from now on (a config reload).

        One assignment: a connection is routed by whichever table is current when
        its header has been read; connections already routed keep their handler.
        """
        self._routes = self._checked(routes)

    # -- lifecycle --------------------------------------------------------

    async def start(self) -> None:
        """Bind and start accepting connections."""
        if self._serving:
            return
        self._stopped.clear()
        budget = fit_connection_cap(self.max_connections)
        if budget.lowered:
            log.warning(
                "agi_connection_cap_lowered",
                wanted=budget.wanted,
                cap=budget.cap,
                open_files_limit=budget.limit,
                hint="raise the open-files hard limit (ulimit -Hn, systemd LimitNOFILE=)",
            )
        self.max_connections = budget.cap
        self._listeners = await listen(self.host, self._requested_port)
        self._deadlines = DeadlineSlots(asyncio.get_running_loop())
        self._serving = True
        for sock in self._listeners:
            set_keepalive(sock, self.keepalive)  # accepted sockets inherit it (Linux)
            self._accept_when_ready(sock)
        log.info(
            "agi_server_started",
            host=self.host,
            port=self.port,
            max_connections=self.max_connections,
            open_files_limit=budget.limit,
        )

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        """The listening sockets (empty before :meth:`start`)."""
        return tuple(self._listeners)

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
    def draining(self) -> bool:
        """True from the start of a drain (:meth:`stop` with ``admit``) until it stops."""
        return self._draining is not None

    @property
    def is_serving(self) -> bool:
        """True while new connections are accepted."""
        return self._serving

    async def serve_forever(self) -> None:
        """Start if needed, then wait until :meth:`stop` has finished."""
        await self.start()
        await self._stopped.wait()

    def close(self) -> None:
        """Stop accepting new connections; calls in progress go on."""
        if self._serving:
            self._serving = False
            loop = asyncio.get_running_loop()
            for task in self._accepting:
                task.cancel()
            for sock in self._listeners:
                # unregister before closing: the descriptor's number may be reused at once
                loop.remove_reader(sock.fileno())
                sock.close()
            log.info("agi_server_closing", active_calls=self.active_calls)

    async def stop(
        self, drain_timeout: float = 10.0, *, admit: Callable[[AgiRequest], bool] | None = None
    ) -> None:
        """Stop accepting, let running calls finish for ``drain_timeout`` s, then cancel them.

        With ``admit``, the port stays open while the calls in progress finish:
        a new session is served only if ``admit(request)`` (e.g. the agent legs
        of those calls, which Asterisk opens while they hunt); any other is
        closed at once, so the dialplan's own fallback runs for it.  Accepting
        stops once no handler runs, or when ``drain_timeout`` has passed.
        """
        if not self._listeners:
            return
        listeners = self._listeners
        loop = asyncio.get_running_loop()
        deadline = loop.time() + drain_timeout
        if admit is not None and self._serving:
            self._draining = admit
            log.info("agi_draining", active_calls=self.active_calls, drain_timeout=drain_timeout)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), drain_timeout)
        self.close()
        if self._accepting:
            await asyncio.wait(self._accepting)
        tasks = set(self._tasks)
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=max(0.0, deadline - loop.time()))
            if late:
                log.warning("agi_drain_timeout", cancelled=len(late), drain_timeout=drain_timeout)
                for task in late:
                    task.cancel()
                await asyncio.wait(late)
        if self._listeners is listeners:
            self._listeners = []
            self._accepting = []
            if self._deadlines is not None:
                self._deadlines.close()  # every session is closed: nothing waits any more
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

    # -- accepting --------------------------------------------------------

    def _accept_when_ready(self, listener: socket.socket) -> None:
        """Accept from ``listener`` whenever the kernel holds a connection for us.

        A reader callback, not a task awaiting ``sock_accept``: that cost a future,
        a task step and registering the socket with the loop again for every
        connection (7 ``epoll_ctl`` per connection under strace, benchmarks/RESULTS.md).
        """
        asyncio.get_running_loop().add_reader(listener.fileno(), self._accept, listener)

    def _accept(self, listener: socket.socket) -> None:
        """Accept what the kernel holds (:data:`_ACCEPTS_PER_TURN` at most, the rest on the
        next turn); pause at the cap and when descriptors run out (a task then waits for
        room and resumes accepting)."""
        for _ in range(_ACCEPTS_PER_TURN):
            if not self._room.is_set():
                self.cap_pauses += 1
                held = self._full.hit()
                if held is not None:
                    log.warning(
                        "agi_connection_cap_reached",
                        connections=self.connections,
                        max_connections=self.max_connections,
                        repeated=held,
                    )
                self._pause_accepting(listener, None)
                return
            try:
                conn = accept(listener)
            except (BlockingIOError, InterruptedError):
                return  # nothing more held for now
            except OSError as exc:
                if listener.fileno() < 0:
                    return  # closed under us by close()
                if exc.errno not in _OUT_OF_RESOURCES:
                    log.warning("agi_accept_failed", problem=str(exc))
                    continue
                held = self._starved.hit()
                if held is not None:
                    log.warning(
                        "agi_accept_paused",
                        problem=exc.strerror or str(exc),
                        connections=self.connections,
                        repeated=held,
                        hint="raise the open-files limit or lower the connection cap",
                    )
                self._pause_accepting(listener, _RESOURCE_PAUSE)
                return
            self._admit(conn)

    def _pause_accepting(self, listener: socket.socket, seconds: float | None) -> None:
        """Stop accepting from ``listener`` until a connection closes (or, with ``seconds``,
        at most that long; without, a slow header may be evicted), then go on."""
        loop = asyncio.get_running_loop()
        loop.remove_reader(listener.fileno())

        async def resume() -> None:
            if seconds is None:
                await self._make_room()
            else:
                await self._wait_for_room(seconds)
            if self._serving and listener.fileno() >= 0:
                self._accept_when_ready(listener)

        task = loop.create_task(resume(), name=f"agi-accept-paused-{listener.fileno()}")
        self._accepting.append(task)
        task.add_done_callback(self._accepting.remove)

    async def _make_room(self) -> None:
        """At the cap: wait until a connection closes.  One still sending its header
        ``header_grace`` seconds after it was accepted is closed to make room: Asterisk
        writes its header at once, so only a stalled or hostile peer is that slow."""
        loop = asyncio.get_running_loop()
        while not self._room.is_set():
            oldest = next(iter(self._in_header.items()), None)
            if oldest is None:
                await self._room.wait()
                return
            stream, since = oldest
            wait = since + self.header_grace - loop.time()
            if wait <= 0:
                del self._in_header[stream]
                self.evicted += 1
                log.warning(
                    "agi_header_evicted", peer=_peer(stream), seconds=round(loop.time() - since, 3)
                )
                stream.abort()
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._room.wait()

    async def _wait_for_room(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if a connection closes meanwhile (freeing a descriptor)."""
        freed = self._freed = asyncio.Event()
        try:
            async with asyncio.timeout(seconds):
                await freed.wait()
        except TimeoutError:
            pass

    def _admit(self, conn: socket.socket) -> None:
        try:
            conn.setblocking(False)
            if not self._keepalive_inherited:
                self._keepalive_inherited = has_keepalive(conn, self.keepalive)
                if not self._keepalive_inherited:  # not this platform: set on each socket
                    set_keepalive(conn, self.keepalive)
        except OSError as exc:  # the peer reset it already
            log.debug("agi_connection_not_set_up", problem=str(exc))
            conn.close()
            return
        self.connections += 1
        if self.connections >= self.max_connections:
            self._room.clear()
        task = asyncio.get_running_loop().create_task(self._serve_socket(conn))
        self._tasks.add(task)

    def _release(self) -> None:
        self.connections -= 1
        if self.connections < self.max_connections:
            self._room.set()
        if self._freed is not None:
            self._freed.set()
            self._freed = None

    # -- one connection ---------------------------------------------------

    async def _serve_socket(self, conn: socket.socket) -> None:
        """One connection, from the accepted socket to its close."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)  # given the loop: asking for it is a getpid() (3.11)
        stream: AgiStream | None = None
        peer = "-"
        try:
            max_line = self.max_line
            try:
                _, stream = await loop.connect_accepted_socket(
                    lambda: self.stream_class(max_line), sock=conn
                )
            except OSError as exc:
                log.debug("agi_connection_not_set_up", problem=str(exc))
                conn.close()
                return
            peer = _peer(stream)
            self._in_header[stream] = loop.time()
            try:
                request = await self._read_request(stream, peer, loop)
            finally:
                self._in_header.pop(stream, None)
            if request is not None:
                # bound in this task's own context, which ends with it: nothing to unbind
                # (no context manager, one coroutine fewer per connection: with the merge of
                # the socket's and the connection's coroutines, 114.1k -> 112.0k instructions
                # per AGI command, benchmarks/RESULTS.md)
                bind_context(call_id=request.uniqueid, route=request.path)
                session = AgiSession(
                    request, stream, command_timeout=self.command_timeout, deadlines=self._deadlines
                )
                try:
                    handler = self._routes.get(request.path)
                    if handler is None:
                        await self._no_route(session, peer)
                    elif self._draining is not None and not self._draining(request):
                        # not answered: the socket closes and the dialplan's fallback runs
                        log.warning("agi_refused_draining", path=request.path, peer=peer)
                    else:
                        started = self._call_started(request, peer, loop)
                        outcome = "completed"
                        # the handler's task's context, whose lines carry what it bound
                        # (its hotline…): the lines after it are logged there too
                        context: contextvars.Context | None = None
                        try:
                            result = handler(session)
                            if inspect.isawaitable(result) and self.handler_task:
                                context = contextvars.copy_context()
                                # a task of its own, awaited here: every command resumes
                                # through each coroutine between its task and the socket,
                                # and this one is not among them then (3.13: 1-5 misses
                                # past the cache fewer per command, simulated,
                                # benchmarks/RESULTS.md issue 19, session 19)
                                await loop.create_task(_awaited(result), context=context)
                            elif inspect.isawaitable(result):
                                await result
                        except asyncio.CancelledError:
                            outcome = "cancelled"
                            _run_in(context, log.info, "agi_session_cancelled")
                            raise
                        except Exception as exc:  # noqa: BLE001 - one call's, logged there
                            outcome = _run_in(context, self._call_failed, exc)
                        finally:
                            duration = loop.time() - started
                            _run_in(context, self._call_ended, session, outcome, duration)
                finally:
                    await session.close()
        except Exception:  # a bug of ours must cost one call, not the server
            log.exception("agi_connection_failed", peer=peer)
        finally:
            try:
                if stream is not None:
                    await stream.close_and_wait()  # at once if the session closed it
            finally:
                self._release()
                if task is not None:
                    self._tasks.discard(task)

    async def _read_request(
        self, lines: AgiStream, peer: str, loop: asyncio.AbstractEventLoop
    ) -> AgiRequest | None:
        """The header (the stream keeps any bytes already received after it)."""
        try:
            deadline = loop.call_later(self.header_timeout, lines.time_out_reader)
            try:
                header = await read_header_lines(lines)
            finally:
                deadline.cancel()
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
            self.protocol_errors += 1
            log.warning("agi_bad_header", peer=peer, problem=str(exc))
            return None
        return request

    async def _no_route(self, session: AgiSession, peer: str) -> None:
        """A path no route serves: said in the log and on the Asterisk console."""
        path = session.request.path
        log.warning("agi_unknown_route", path=path, peer=peer)
        try:
            await session.verbose(f"hotline: no route for {path!r}", 1, timeout=self.header_timeout)
        except AgiError as exc:
            log.debug("agi_unknown_route_not_told", problem=str(exc))

    def _call_started(
        self, request: AgiRequest, peer: str, loop: asyncio.AbstractEventLoop
    ) -> float:
        """A route's handler takes the call: counted, logged; when it started (loop time)."""
        self.active_calls += 1
        self._idle.clear()
        log.info("agi_session_started", channel=request.channel, peer=peer)
        return loop.time()

    def _call_failed(self, exc: Exception) -> str:
        """What ended a handler that raised (the outcome word), logged in one line."""
        if isinstance(exc, AgiHangup):
            log.info("agi_caller_gone", reason=str(exc))
            return "caller_gone"
        if isinstance(exc, AgiTimeout):
            return "timeout"  # the session logged its one line (agi_command_timeout)
        if isinstance(exc, AgiError):
            # bad data from the peer, a refused command: one line, no traceback
            if isinstance(exc, AgiProtocolError):
                self.protocol_errors += 1
            log.warning("agi_call_failed", error=type(exc).__name__, problem=str(exc))
            return "failed"
        # one call's bug must not stop the server (called in the handler's except block:
        # the line carries its traceback)
        log.exception("agi_handler_failed")
        return "failed"

    def _call_ended(self, session: AgiSession, outcome: str, duration: float) -> None:
        self.active_calls -= 1
        if not self.active_calls:
            self._idle.set()
        log.info(
            "agi_session_ended",
            outcome=outcome,
            duration_s=round(duration, 3),
            commands=session.commands,
            hung_up=session.hung_up,
        )


def _awaited(result: Awaitable[object]) -> Coroutine[Any, Any, object]:
    """A handler's coroutine as it is; any other awaitable in one that awaits it."""
    if inspect.iscoroutine(result):
        return result

    async def awaiting() -> object:
        return await result

    return awaiting()


def _run_in(context: contextvars.Context | None, function: Callable[..., _T], *args: Any) -> _T:
    """``function(*args)`` in ``context`` (None: the current one)."""
    if context is None:
        return function(*args)
    return context.run(function, *args)


def _peer(stream: AgiStream) -> str:
    name = stream.get_extra_info("peername")
    if isinstance(name, tuple) and len(name) >= 2:
        return f"{name[0]}:{name[1]}"
    return str(name)
