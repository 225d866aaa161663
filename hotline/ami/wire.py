"""AMI wire format: ordered ``Key: Value`` lines, a blank line ends a message.

The client side reads through panoramisk's parser; this module is the
simulator's side (and the replay tests'): it keeps header *order* and repeated
headers exactly, so that what the simulator writes is byte-for-byte what a
real Asterisk writes (see tests/ami/recordings).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

#: one AMI message: headers in wire order, repeats allowed (``Output:``, ``Variable:``)
Headers = list[tuple[str, str]]

EOL = b"\r\n"


def format_message(headers: Iterable[tuple[str, str]]) -> bytes:
    """Render headers as Asterisk does: ``Key: Value\\r\\n`` each, then ``\\r\\n``.

    An empty value keeps its space (``Value: ``), as Asterisk sends it.
    """
    return b"".join(f"{key}: {value}\r\n".encode() for key, value in headers) + EOL


def parse_line(line: str) -> tuple[str, str] | None:
    """Split one ``Key: Value`` line; ``None`` for a line without a colon."""
    key, sep, value = line.partition(":")
    if not sep:
        return None
    return key.strip(), value[1:] if value.startswith(" ") else value


def header(headers: Sequence[tuple[str, str]], name: str, default: str = "") -> str:
    """First value of ``name`` (case-insensitive, like Asterisk's astman_get_header)."""
    lowered = name.lower()
    for key, value in headers:
        if key.lower() == lowered:
            return value
    return default


def headers_all(headers: Sequence[tuple[str, str]], name: str) -> list[str]:
    """Every value of a repeated header, in order."""
    lowered = name.lower()
    return [value for key, value in headers if key.lower() == lowered]


class MessageReader:
    """Incremental reader: feed bytes as they arrive, get whole messages back.

    Replies can be split across TCP reads anywhere (docs/asterisk/facts.md, fact 23), so nothing is
    parsed before its blank line.  Lines may end in ``\\r\\n`` or a bare
    ``\\n`` (Asterisk accepts both from clients).  With ``banner=True`` the
    first line is the server's ``Asterisk Call Manager/x.y.z`` greeting,
    which has no blank line after it; it is kept in :attr:`banner`.
    """

    def __init__(self, *, banner: bool = False) -> None:
        self._buffer = bytearray()
        self._lines: Headers = []
        self._want_banner = banner
        self.banner: str | None = None

    def feed(self, data: bytes) -> list[Headers]:
        """Add bytes; return every message they complete, in order."""
        self._buffer += data
        messages: list[Headers] = []
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                return messages
            raw = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            line = raw.removesuffix(b"\r").decode("utf-8", errors="replace")
            if self._want_banner:
                self._want_banner = False
                self.banner = line
                continue
            if line == "":
                if self._lines:
                    messages.append(self._lines)
                    self._lines = []
                continue
            parsed = parse_line(line)
            if parsed is not None:
                self._lines.append(parsed)
