"""Bounded line reading over an asyncio stream: the one place FastAGI bytes come in.

Owning this loop (rather than panoramisk's ``while b'\\n\\n' not in buffer``)
is what makes end of stream and over-long lines explicit: EOF returns ``None``
instead of spinning, and a line longer than ``max_line`` raises
:class:`AgiProtocolError` instead of buffering without bound.
"""

from __future__ import annotations

import asyncio

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

    @property
    def at_eof(self) -> bool:
        return self._eof and not self._buffer

    async def readline(self) -> bytes | None:
        """The next line without its ``\\n``; ``None`` at end of stream.

        A partial last line before end of stream is dropped (``None``): Asterisk
        always ends what it sends with a newline, so a fragment is a cut connection.
        """
        while True:
            end = self._buffer.find(b"\n", self._scanned)
            if end >= 0:
                if end > self.max_line:
                    self._overrun()
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                self._scanned = 0
                return line
            if len(self._buffer) > self.max_line:
                self._overrun()
            if self._eof:
                self._buffer.clear()
                return None
            self._scanned = len(self._buffer)
            try:
                chunk = await self._reader.read(_CHUNK)
            except (ConnectionError, OSError):
                chunk = b""
            if not chunk:
                self._eof = True
            self.bytes_received += len(chunk)
            self._buffer += chunk

    def _overrun(self) -> None:
        self._buffer.clear()
        self._scanned = 0
        self._eof = True  # the stream is out of sync; nothing after this can be trusted
        raise AgiProtocolError(
            f"line from Asterisk longer than {self.max_line} bytes; closing the connection"
        )


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
