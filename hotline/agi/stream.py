"""One FastAGI connection's bytes, both ways: the one place AGI bytes come in and go out.

:class:`AgiStream` is the connection's asyncio protocol.  It keeps what
arrived in one buffer, hands out ``\\n``-terminated lines of bounded length,
wakes the one command waiting for its reply, and tells the session when bytes
or the end of the stream arrive while no command reads.  It replaces asyncio's
``StreamReader``/``StreamWriter`` pair plus a line reader and a protocol
in between: per reply those were four Python callbacks, two coroutine frames
and two copies of the bytes before the session saw a line
(``benchmarks/RESULTS.md``, "CPU per AGI command").

Owning the buffer (rather than panoramisk's ``while b'\\n\\n' not in buffer``)
is also what makes end of stream and over-long lines explicit: EOF returns
``None`` instead of spinning, and a line longer than ``max_line`` raises
:class:`AgiProtocolError` instead of buffering without bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

from hotline.agi.errors import AgiConnectionLost, AgiProtocolError

DEFAULT_MAX_LINE = 8192
#: seconds a close waits for the socket to be closed before cutting the peer off
CLOSE_GRACE = 1.0
#: far more than the ~25 lines Asterisk sends plus any sane number of agi_arg_N
MAX_HEADER_LINES = 512


class AgiStream(asyncio.Protocol):
    """Reads ``\\n``-terminated lines of at most ``max_line`` bytes; writes commands.

    Built by the server for each accepted socket (``loop.connect_accepted_socket``).
    """

    # slotted: each reply and command reads and writes several of these
    __slots__ = (
        "__weakref__",  # tests prove a closed one is freed
        "_buffer",
        "_close_waiters",
        "_drain_waiter",
        "_line",
        "_lost",
        "_scanned",
        "_transport",
        "_waiter",
        "_wants_line",
        "bytes_received",
        "ended",
        "idle",
        "loop",
        "max_line",
        "on_idle_input",
        "paused",
    )

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        self.max_line = max_line
        #: the loop the connection runs on (the session takes it from here: asking asyncio
        #: for it is a getpid() system call on CPython 3.11)
        self.loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        #: a reply that came alone, as it nearly always does, kept as it came (no buffer):
        #: set only while the buffer is empty, so it is always the oldest line
        self._line: bytes | None = None
        self._scanned = 0
        #: end of the stream reached (or given up after an over-long line): an attribute, not
        #: a property, as each command reads it (issue 19)
        self.ended = False
        #: bytes received so far, but for the replies handed to their command as they came
        #: (10 of a command's ~750 Python opcodes): what tells a silent health check from a
        #: cut header, which is all that reads it
        self.bytes_received = 0
        #: the one reader waiting for a line (a command, or the header's reader)
        self._waiter: asyncio.Future[Any] | None = None
        #: the waiter is a command's (:meth:`send`): a line that comes alone is its result
        self._wants_line = False
        #: no command reads now: arrivals call :attr:`on_idle_input` (set by the session)
        self.idle = False
        self.on_idle_input: Callable[[], None] | None = None
        #: the transport paused writing (the peer reads slower than we write): :meth:`drain`
        self.paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._lost = False
        #: the readers of wait_closed(), each with a future of its own (a shared one would be
        #: cancelled with the first reader cancelled; asyncio.shield() costs more per close)
        self._close_waiters: list[asyncio.Future[None]] = []

    # -- the protocol (called by the transport) ----------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        if (
            not buffer
            and self._line is None
            and data.find(b"\n") == len(data) - 1
            and len(data) <= self.max_line
        ):
            waiter = self._waiter
            if waiter is not None and self._wants_line:
                # a command's reply, alone as it nearly always comes: handed over as it came
                # (newline included), not kept to be popped (a call and a copy per command)
                self._waiter = None
                if not waiter.done():
                    waiter.set_result(data)
                    return
            self._line = data
        else:
            if self._line is not None:
                buffer += self._line
                self._line = None
            buffer += data
        self.bytes_received += len(data)
        # _wake's, without a call per reply
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)
        elif self.idle and self.on_idle_input is not None:
            self.on_idle_input()

    def eof_received(self) -> bool:
        self._ended()
        return True  # as asyncio's streams: our side closes the socket when it is done

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        # first: whatever the session does with the end below, a close waits no longer
        waiters, self._close_waiters = self._close_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._ended()
        self.resume_writing()  # a drain waiting wakes and finds the connection lost
        self.on_idle_input = None

    def _ended(self) -> None:
        self.ended = True
        self._wake()

    def _wake(self) -> None:
        """Something arrived: wake the reader waiting for it, or tell the idle session."""
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():  # not cancelled with its reader
                waiter.set_result(None)
        elif self.idle and self.on_idle_input is not None:
            self.on_idle_input()

    def time_out_reader(self) -> None:
        """The reader waiting for bytes gets :class:`TimeoutError` (its deadline passed):
        a timer's callback, where ``asyncio.timeout()`` cost an object, two getpid() system
        calls (CPython 3.11) and two coroutines per connection (the header's deadline)."""
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(TimeoutError())

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        drain, self._drain_waiter = self._drain_waiter, None
        if drain is not None and not drain.done():
            drain.set_result(None)

    def go_idle(self) -> None:
        """No command reads now: what arrives from now on goes to :attr:`on_idle_input`,
        and so does what is here already (a ``HANGUP`` line, the end of the stream)."""
        self.idle = True
        # :attr:`buffered`'s test, without a property call per command
        if (self._line is not None or self._buffer or self.ended) and (
            self.on_idle_input is not None
        ):
            self.on_idle_input()

    # -- reading -------------------------------------------------------------

    @property
    def buffered(self) -> bool:
        """Bytes received and not yet returned as a line (or the end of the stream)."""
        return self._line is not None or bool(self._buffer) or self.ended

    async def readline(self) -> bytes | None:
        """The next line without its ``\\n``; ``None`` at end of stream.

        A partial last line before end of stream is dropped (``None``): Asterisk
        always ends what it sends with a newline, so a fragment is a cut connection.
        One reader at a time (the session's commands take turns).
        """
        while True:
            line = self.pop_line()
            if line is not None:
                return line
            if self.ended:
                self._buffer.clear()
                return None
            await self.next_arrival()

    def next_arrival(self) -> asyncio.Future[None]:
        """A future done when bytes or the end of the stream next arrive, for the one reader
        (a command awaits it itself: a coroutine fewer per command than :meth:`readline`)."""
        waiter = self._waiter = self.loop.create_future()
        self._wants_line = False
        return waiter

    def pop_line(self) -> bytes | None:
        """The next complete line already received, else ``None`` (no wait)."""
        line = self._line
        if line is not None:
            self._line = None
            return line[:-1]
        buffer = self._buffer
        if not buffer:
            return None
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

    def pop_header(self) -> list[str] | None:
        """Every line before the first blank one, decoded, when all of them are here (the
        header nearly always arrives in one piece) and none is over-long; else ``None``,
        nothing taken, and the header is read line by line (:func:`read_header_lines`).

        One slice and one decode instead of a :meth:`pop_line` and a decode per line:
        ~25 lines on each of a call's three connections.
        """
        buffer = self._buffer
        if self._line is not None or not buffer:
            return None
        if buffer.startswith(b"\n") or buffer.startswith(b"\r\n"):
            return None  # an empty header: the line by line reading says what it is
        end = buffer.find(b"\n\n")
        end_crlf = buffer.find(b"\n\r\n")
        if end_crlf >= 0 and (end < 0 or end_crlf < end):
            end, blank = end_crlf, 3
        else:
            blank = 2
        if end < 0 or end > self.max_line * MAX_HEADER_LINES:
            return None
        raw = bytes(buffer[:end])
        parts = raw.split(b"\n")
        if len(parts) > MAX_HEADER_LINES or max(map(len, parts)) > self.max_line:
            return None  # the line by line reading raises the right error
        del buffer[: end + blank]
        self._scanned = 0
        # a newline is never part of a multi-byte character: decoding the whole header at
        # once gives each line what decoding it alone would
        text = raw.decode("utf-8", "replace")
        if "\r" not in text:  # as Asterisk sends it (tests/agi/recordings): one split in C
            return text.split("\n")
        return [line.removesuffix("\r") for line in text.split("\n")]

    def _overrun(self) -> None:
        self._buffer.clear()
        self._line = None
        self._scanned = 0
        self.ended = True  # the stream is out of sync; nothing after this can be trusted
        raise AgiProtocolError(
            f"line from Asterisk longer than {self.max_line} bytes; closing the connection"
        )

    # -- writing and closing -------------------------------------------------

    @property
    def transport(self) -> asyncio.Transport:
        transport = self._transport
        if transport is None:  # pragma: no cover - the loop calls connection_made first
            raise AgiConnectionLost("the AGI connection is not set up")
        return transport

    def send(self, line: bytes) -> asyncio.Future[bytes | None] | None:
        """Write a command's ``line``; return the future the next arrival completes, for
        the command to await before it reads its reply (``None``: a line or the end of the
        stream is here already).  Its result is the reply's line as it came (newline
        included) when that line came alone, as it nearly always does; ``None`` when
        something else came (part of a line, several, the end): :meth:`pop_line` then.
        One call where a command made three (write, a look for a line,
        :meth:`next_arrival`): ~1,400 instructions per command (issue 19)."""
        transport = self._transport  # not the property: a call fewer per command
        if transport is None:  # pragma: no cover - the loop calls connection_made first
            raise AgiConnectionLost("the AGI connection is not set up")
        transport.write(line)
        if self._line is not None or self._buffer or self.ended:
            return None
        waiter = self._waiter = self.loop.create_future()
        self._wants_line = True
        return waiter

    async def drain(self) -> None:
        """Wait while the peer reads slower than we write (the transport paused us)."""
        if self._lost:
            raise ConnectionResetError("Connection lost")
        if not self.paused:
            return
        waiter = self._drain_waiter
        if waiter is None or waiter.done():
            waiter = self._drain_waiter = self.loop.create_future()
        await asyncio.shield(waiter)
        if self._lost:
            raise ConnectionResetError("Connection lost")

    def is_closing(self) -> bool:
        return self._transport is None or self._transport.is_closing()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    @property
    def closed(self) -> bool:
        """The transport has closed the socket (``connection_lost`` was called)."""
        return self._lost

    async def wait_closed(self) -> None:
        """Until the transport has closed the socket (``connection_lost``)."""
        if not self._lost:
            waiter = self.loop.create_future()
            self._close_waiters.append(waiter)
            await waiter

    async def close_and_wait(self) -> None:
        """Close the socket and wait until it is closed; a peer that does not let go (its
        window full of what we still send) is cut off after :data:`CLOSE_GRACE` seconds.

        The cut-off is a timer whose ``abort()`` ends the wait, not ``asyncio.timeout()``
        and ``asyncio.shield()``: one close per connection, three per call (issue 19).
        """
        if not self.is_closing():
            self.close()
        if self._lost:
            return
        abort = self.loop.call_later(CLOSE_GRACE, self.abort)
        try:
            await self.wait_closed()
        finally:
            abort.cancel()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if self._transport is None:
            return default
        return self._transport.get_extra_info(name, default)


async def read_header_lines(lines: AgiStream) -> list[str]:
    """Read the AGI environment up to its blank line (bytes decoded leniently).

    End of stream before the blank line raises :class:`AgiConnectionLost`;
    callers bound the wait with their own header timeout.
    """
    # it arrives in one piece: once its first bytes are here, it is taken whole
    while not lines.buffered:
        await lines.next_arrival()
    whole = lines.pop_header()
    if whole is not None:
        return whole
    header: list[str] = []
    while True:
        # the header arrives in one piece: its lines are taken without a wait each
        raw = lines.pop_line() if lines.buffered else None
        if raw is None:
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
