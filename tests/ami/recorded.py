"""Reading the recorded AMI sessions kept in ``tests/ami/recordings``.

The ``.log`` files (copies of real recordings: tests/ami/recordings/README.md) hold every TCP read
as a Python bytes literal with its direction: ``<<<`` Asterisk to client,
``>>>`` client to Asterisk.  Joined with their markers they are the ``.raw``
file byte for byte, so the chunk boundaries are the real ones.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

RECORDINGS = Path(__file__).parent / "recordings"

_LINE = re.compile(r"\s*[\d.]+ [\d:]+ (<<<|>>>) (b['\"].*)$")


def recorded_chunks(path: Path) -> list[tuple[str, bytes]]:
    """(direction, bytes) for every read/write of a recorded session, in order."""
    chunks: list[tuple[str, bytes]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _LINE.match(line)
        if match:
            chunks.append((match.group(1), ast.literal_eval(match.group(2))))
    return chunks


def server_sessions(path: Path) -> list[list[bytes]]:
    """Asterisk's chunks, one list per TCP session (a banner starts a session)."""
    sessions: list[list[bytes]] = []
    for direction, chunk in recorded_chunks(path):
        if direction != "<<<":
            continue
        if chunk.startswith(b"Asterisk Call Manager/") or not sessions:
            sessions.append([])
        sessions[-1].append(chunk)
    return sessions
