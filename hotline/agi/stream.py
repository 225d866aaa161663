"""Bounded line reading over an asyncio stream: the one place FastAGI bytes come in.

Owning this loop (rather than panoramisk's ``while b'\\n\\n' not in buffer``)
is what makes end of stream and over-long lines explicit: EOF returns ``None``
instead of spinning, and a line longer than ``max_line`` raises
:class:`AgiProtocolError` instead of buffering without bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

from hotline.agi.errors import AgiConnectionLost, AgiProtocolError

DEFAULT_MAX_LINE = 8192
#: far more than the ~25 lines Asterisk sends plus any sane number of agi_arg_N
MAX_HEADER_LINES = 512
_CHUNK = 4096


class LineReader:
    """Reads ``\\n``-terminated lines of at most ``max_line`` bytes."""

    def __init__(self, reader: asyncio.StreamReader, max_line: int = DEFAULT_MAX_LINE) -> None:
        self._reader = reader
        self.max_line = max_line
        self._buffer = bytearray()
        self._scanned = 0
        self._eof = False
        #: every byte received so far (tells a silent health check from a cut header)
        self.bytes_received = 0
        #: the stream may hold bytes not taken yet (set by :class:`InputWatch` on arrival,
        #: cleared when a read takes less than it asked for: the stream's buffer is empty)
        self.unread = True

    @property
    def at_eof(self) -> bool:
        return self._eof and not self._buffer

    @property
    def ended(self) -> bool:
        """End of the stream reached (or given up after an over-long line)."""
        return self._eof

    @property
    def buffered(self) -> bool:
        """Bytes taken from the stream and not yet returned as a line (or end of stream)."""
        return bool(self._buffer) or self._eof

    async def readline(self) -> bytes | None:
        """The next line without its ``\\n``; ``None`` at end of stream.

        A partial last line before end of stream is dropped (``None``): Asterisk
        always ends what it sends with a newline, so a fragment is a cut connection.
        """
        while True:
            if self._buffer or self._eof:
                line = self.pop_line()
                if line is not None:
                    return line
            if self._eof:
                self._buffer.clear()
                return None
            # fill(), inline: this runs for every reply
            try:
                chunk = await self._reader.read(_CHUNK)
            except (ConnectionError, OSError):
                chunk = b""
            if len(chunk) < _CHUNK:
                self.unread = False
                if not chunk:
                    self._eof = True
                    continue
            self.bytes_received += len(chunk)
            self._buffer += chunk

    def pop_line(self) -> bytes | None:
        """The next complete line already taken from the stream, else ``None`` (no wait)."""
        buffer = self._buffer
        end = buffer.find(b"\n", self._scanned)
        if end >= 0:
            if end > self.max_line:
                self._overrun()
            line = bytes(buffer[:end])
            del buffer[: end + 1]
            self._scanned = 0
            return line
        if len(buffer) > self.max_line:
            self._overrun()
        self._scanned = len(buffer)
        return None

    async def fill(self) -> None:
        """Take what the stream has (waiting for it if nothing); end of stream is noted."""
        try:
            chunk = await self._reader.read(_CHUNK)
        except (ConnectionError, OSError):
            chunk = b""
        if len(chunk) < _CHUNK:
            self.unread = False
            if not chunk:
                self._eof = True
                return
        self.bytes_received += len(chunk)
        self._buffer += chunk

    def _overrun(self) -> None:
        self._buffer.clear()
        self._scanned = 0
        self._eof = True  # the stream is out of sync; nothing after this can be trusted
        raise AgiProtocolError(
            f"line from Asterisk longer than {self.max_line} bytes; closing the connection"
        )


class InputWatch(asyncio.Protocol):
    """Stands between a stream's transport and its ``StreamReaderProtocol``.

    Everything is passed on as it is; in addition, while :attr:`idle` (no
    command is reading), every arrival of bytes or of the end of the stream
    calls ``on_idle_input``, so that an out-of-band ``HANGUP``, an unsolicited
    reply or the peer's close are noticed between commands without a task
    reading the stream all the time.
    """

    def __init__(
        self, inner: asyncio.BaseProtocol, lines: LineReader, on_idle_input: Callable[[], None]
    ) -> None:
        self._inner = cast(asyncio.Protocol, inner)
        self._lines = lines
        self._on_idle_input: Callable[[], None] | None = on_idle_input
        self.idle = False

    def forget(self) -> None:
        """Stop calling back (the session is closed; drops its reference)."""
        self.idle = False
        self._on_idle_input = None

    def _arrived(self) -> None:
        if self.idle and self._on_idle_input is not None:
            self._on_idle_input()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self._lines.unread = True
        self._inner.data_received(data)
        if self.idle:
            self._arrived()

    def eof_received(self) -> bool | None:
        self._lines.unread = True
        keep_open = self._inner.eof_received()
        self._arrived()
        return keep_open

    def connection_lost(self, exc: Exception | None) -> None:
        self._lines.unread = True
        self._inner.connection_lost(exc)
        self._arrived()
        self._on_idle_input = None

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


async def read_header_lines(lines: LineReader) -> list[str]:
    """Read the AGI environment up to its blank line (bytes decoded leniently).

    End of stream before the blank line raises :class:`AgiConnectionLost`;
    callers bound the wait with their own header timeout.
    """
    header: list[str] = []
    while True:
        raw = await lines.readline()
        if raw is None:
            raise AgiConnectionLost(
                f"connection closed after {len(header)} AGI header lines, before the blank line"
            )
        line = raw.decode("utf-8", errors="replace").removesuffix("\r")
        if not line:
            return header
        if len(header) >= MAX_HEADER_LINES:
            raise AgiProtocolError(f"AGI header longer than {MAX_HEADER_LINES} lines")
        header.append(line)
