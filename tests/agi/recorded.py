"""Real Asterisk 22.10.1 FastAGI exchanges (copies: tests/agi/recordings/README.md).

``.rx`` holds the exact bytes Asterisk sent; ``.raw`` the same interleaved with
what the recorder sent (``<<< `` / ``>>> `` line prefixes), which tells which
reply lines followed which command.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent / "recordings"


@dataclass(frozen=True)
class Step:
    command: str
    #: lines Asterisk sent after the command, before the next one (HANGUP included)
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Recording:
    rx: bytes
    #: exact bytes the recorder (playing the runtime) sent
    tx: bytes
    header: bytes
    #: each command the recorder sent, with the lines Asterisk sent after it
    steps: tuple[Step, ...]


def load(prefix: str) -> Recording:
    """Load the recording whose file name starts with ``prefix`` (e.g. ``"08_"``)."""
    (raw_path,) = HERE.glob(f"{prefix}*.raw")
    rx = raw_path.with_suffix(".rx").read_bytes()
    header_end = rx.index(b"\n\n") + 2
    steps: list[Step] = []
    command: str | None = None
    lines: list[str] = []
    in_header = True
    for marked in raw_path.read_text().split("\n"):
        if not marked:
            continue
        direction, text = marked[:4], marked[4:]
        if in_header:
            in_header = not (direction == "<<< " and text == "")
            continue
        if direction == ">>> ":
            if command is not None:
                steps.append(Step(command, tuple(lines)))
            command, lines = text, []
        else:
            lines.append(text)
    if command is not None:
        steps.append(Step(command, tuple(lines)))
    tx = raw_path.with_suffix(".tx").read_bytes()
    return Recording(rx=rx, tx=tx, header=rx[:header_end], steps=tuple(steps))


def replies_bytes(recording: Recording) -> bytes:
    """Everything Asterisk sent after the header, rebuilt from the steps."""
    return b"".join(f"{line}\n".encode() for step in recording.steps for line in step.lines)
