"""The two servers the runtime is compared with, replaying the same :class:`Exchange`.

* :func:`start_bare` — the least an asyncio FastAGI server can do: read the
  header, send each command, read its reply (skipping ``100 Trying`` and the
  out-of-band ``HANGUP`` line), close.  No parsing, no logging, no timeouts.
* :func:`start_agi_layer` — the runtime's own protocol layer and nothing of
  the runtime above it: its FastAGI server and AGI session send the same
  lines (through ``AgiSession.command``, each reply read and checked as the
  flows' are), under its garbage-collection guard, with its logging set up
  as ``hotline run`` sets it up; no flow, no observer, no call log line.
  Beside ``hotline`` and ``bare`` it says what the protocol layer costs and
  what the flows add (benchmarks/RESULTS.md, session 12).
* :func:`start_panoramisk` — panoramisk 1.4's ``fast_agi.Application``, the
  peer a user would otherwise pick, with one route per AGI path that sends
  the same lines through ``Request.send_command``.  Its known defects
  (docs/architecture.md) do not bite in this exchange: every reply is one line, and the
  only out-of-band ``HANGUP`` comes after the last reply (after our own
  ``HANGUP`` command), so its off-by-one reading never shifts a reply; the
  header always arrives complete, so its EOF spin never starts.
"""

from __future__ import annotations

import asyncio
import contextlib

from benchmarks.exchange import Exchange
from benchmarks.scenario import CALLER_ROUTE, CONFIG
from hotline.agi import AgiCommandError, AgiHangup, AgiSession, FastAgiServer
from hotline.config import settings_from_mapping
from hotline.contract import CONFIRM_ROUTE
from hotline.gcguard import GcGuard

BACKLOG = 1024
_HANGUP = b"HANGUP\n"


async def _bare_connection(
    exchange: Exchange, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        header: dict[str, str] = {}
        while True:
            raw = await reader.readline()
            if not raw:
                return
            line = raw.decode().rstrip("\r\n")
            if not line:
                break
            key, _, value = line.partition(": ")
            header[key] = value
        for command in exchange.commands_for(header):
            writer.write(f"{command}\n".encode())
            await writer.drain()
            while True:
                reply = await reader.readline()
                if not reply:
                    return
                if reply != _HANGUP and not reply.startswith(b"100 "):
                    break
    except ConnectionError:
        pass
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def start_bare(exchange: Exchange, host: str = "127.0.0.1") -> asyncio.Server:
    """The bare asyncio responder on a free port."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _bare_connection(exchange, reader, writer)

    return await asyncio.start_server(handle, host, 0, backlog=BACKLOG)


class AgiLayer:
    """The runtime's FastAGI server and its garbage-collection guard, stopped together."""

    def __init__(self, server: FastAgiServer, guard: GcGuard) -> None:
        self.server = server
        self.guard = guard

    @property
    def port(self) -> int:
        return self.server.port

    async def stop(self) -> None:
        await self.guard.stop()
        await self.server.stop()


async def start_agi_layer(exchange: Exchange, host: str = "127.0.0.1") -> AgiLayer:
    """The runtime's protocol layer alone replaying the exchange, on a free port."""

    async def replay(session: AgiSession) -> None:
        for words in exchange.words_for(session.request.env):
            # not contextlib.suppress: an object and two calls per command (the flows' own
            # commands have none); a reply a flow would act on (510, 511, 520): go on
            try:  # noqa: SIM105
                await session.command(*words)
            except (AgiCommandError, AgiHangup):
                pass

    agi = settings_from_mapping(CONFIG).agi  # the runtime's limits on the benchmark config
    server = FastAgiServer(
        {CALLER_ROUTE: replay, CONFIRM_ROUTE: replay},
        host=host,
        port=0,
        header_timeout=agi.header_timeout,
        command_timeout=agi.command_timeout,
        max_connections=agi.max_connections,
    )
    await server.start()
    guard = GcGuard(lambda: server.active_calls)
    guard.start()
    return AgiLayer(server, guard)


async def start_panoramisk(exchange: Exchange, host: str = "127.0.0.1") -> asyncio.Server:
    """panoramisk 1.4's FastAGI ``Application`` on a free port, replaying the exchange."""
    from panoramisk.fast_agi import Application

    async def route(request: object) -> None:
        headers = getattr(request, "headers", {})
        send = getattr(request, "send_command")  # noqa: B009 - panoramisk ships no types
        for command in exchange.commands_for(headers):
            await send(command)

    app = Application(loop=asyncio.get_running_loop())
    app.add_route(CALLER_ROUTE, route)
    app.add_route(CONFIRM_ROUTE, route)
    return await asyncio.start_server(app.handler, host, 0, backlog=BACKLOG)
