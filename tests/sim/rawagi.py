"""A tiny FastAGI server for simulator tests that shows every byte.

The real :class:`hotline.agi.server.FastAgiServer` hides the out-of-band
``HANGUP`` line; these tests need to see where it falls, so each connection is
served by a plain script that sends command lines and reads raw reply lines.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType


class PeerConn:
    """One FastAGI connection from the runtime's side: commands out, raw lines in."""

    def __init__(
        self, header: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.header = header
        self.env: dict[str, str] = {}
        for line in header.decode().splitlines():
            key, _, value = line.partition(": ")
            if key:
                self.env[key.rstrip(":")] = value
        self.reader = reader
        self.writer = writer
        #: ``>>> command`` / ``<<< line`` in the order things happened here
        self.transcript: list[str] = []

    @property
    def path(self) -> str:
        return self.env.get("agi_network_script", "")

    @property
    def hangups(self) -> int:
        return self.transcript.count("<<< HANGUP")

    async def _line(self) -> str:
        raw = await self.reader.readline()
        if not raw.endswith(b"\n"):
            raise EOFError("simulator closed the connection")
        line = raw[:-1].decode()
        self.transcript.append(f"<<< {line}")
        return line

    async def send(self, command: str) -> str:
        """Send one command; the reply (HANGUP lines are recorded and skipped)."""
        self.transcript.append(f">>> {command}")
        self.writer.write(command.encode() + b"\n")
        await self.writer.drain()
        while True:
            line = await self._line()
            if line == "HANGUP":
                continue
            if line.startswith("520-"):
                block = [line]
                while not (line := await self._line()).startswith("520 "):
                    block.append(line)
                return "\n".join([*block, line])
            return line

    async def finish(self) -> list[str]:
        """Stop sending (half-close) and return whatever the simulator still sends."""
        if self.writer.can_write_eof():
            self.writer.write_eof()
        rest: list[str] = []
        with contextlib.suppress(EOFError, ConnectionError):
            while True:
                rest.append(await self._line())
        return rest


Script = Callable[[PeerConn], Awaitable[None]]


class RawAgiServer:
    """Routes each connection by ``agi_network_script`` to a test script."""

    def __init__(self, routes: Mapping[str, Script]) -> None:
        self.routes = dict(routes)
        self.conns: list[PeerConn] = []
        self.failures: list[BaseException] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._port = 0

    @property
    def port(self) -> int:
        return self._port

    def by_path(self, path: str) -> list[PeerConn]:
        return [c for c in self.conns if c.path == path]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            header = b""
            while (line := await reader.readline()) not in (b"\n", b""):
                header += line
            conn = PeerConn(header + b"\n", reader, writer)
            self.conns.append(conn)
            script = self.routes.get(conn.path)
            if script is not None:
                await script(conn)
        except Exception as exc:  # surfaced by check()
            self.failures.append(exc)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def check(self) -> None:
        """Re-raise the first failure of a test script."""
        if self.failures:
            raise self.failures[0]

    async def __aenter__(self) -> RawAgiServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self._port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
