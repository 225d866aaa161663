"""Reading a small regular file, refusing anything else.

Config files, secrets and keys are small regular files.  A path pointing at
``/dev/zero``, a 1 GB file or a FIFO would otherwise be read until memory
runs out or block for ever, so only a bounded amount of a regular file is
read and anything else is refused with one phrase saying why.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from hotline.errors import HotlineError

_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


class FileRefused(HotlineError):
    """A file was not read; the message says why in a phrase (callers name the setting)."""

    exit_code = 2

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        self.missing = missing
        super().__init__(reason)


def read_small_file(path: Path, limit: int) -> bytes:
    """The bytes of the regular file ``path``, refused when larger than ``limit``.

    Opened without blocking, so a FIFO with no writer is refused at once
    instead of hanging; its type and size are checked before a byte is read.
    """
    if "\0" in str(path):
        raise FileRefused("the path contains a NUL byte")
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise FileRefused(_reason(exc), missing=isinstance(exc, FileNotFoundError)) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise FileRefused("is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"is {_kind(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise FileRefused(_too_large(info.st_size, limit))
        data = _read_at_most(fd, limit + 1)  # files like /proc's report size 0
    except OSError as exc:
        raise FileRefused(_reason(exc)) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise FileRefused(_too_large(len(data), limit))
    return data


def _read_at_most(fd: int, size: int) -> bytes:
    chunks: list[bytes] = []
    remaining = size
    while remaining > 0:
        chunk = os.read(fd, remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _too_large(size: int, limit: int) -> str:
    return f"is too large ({_bytes(size)}; at most {_bytes(limit)} is read)"


def _bytes(size: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}".replace(".0 ", " ")
    return f"{size} bytes"
