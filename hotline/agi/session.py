"""One FastAGI connection: typed commands over a reader that never shifts replies.

A background task reads every line Asterisk sends.  The out-of-band ``HANGUP``
line (which can arrive before, between or after replies) only sets
:attr:`AgiSession.hung_up` and :attr:`AgiSession.hangup_seen`; every other line
completes the one pending command.  ``100 Trying`` lines are skipped, a
multi-line ``520-`` usage block is read to its end, and a reply that cannot be
matched to a command closes the connection rather than answer the wrong one.

After a command times out, is cancelled, or the stream breaks, the session is
*broken*: the socket is closed and every later command raises at once, because
a late reply would otherwise be taken for the next command's answer.
"""

# The commands take ``timeout=`` (ASYNC109) on purpose: a command that gets no
# reply must break the session (AgiTimeout, socket closed), which an outer
# asyncio.timeout() cannot tell apart from any other cancellation.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import enum
import math
import socket
from collections.abc import Callable
from types import TracebackType

from hotline.agi.errors import (
    AgiCommandError,
    AgiConnectionLost,
    AgiError,
    AgiHangup,
    AgiProtocolError,
    AgiTimeout,
)
from hotline.agi.stream import DEFAULT_MAX_LINE, LineReader, read_header_lines
from hotline.agi.wire import (
    FREE_TEXT_COMMANDS,
    AgiReply,
    AgiRequest,
    format_command,
    parse_header,
    parse_reply,
    reply_is_incomplete,
)
from hotline.logs import REDACTED, get_logger

#: AST_CONTROL_STREAM_STOP..FORWARD: a media command stopped from outside, not a key
STREAM_CONTROL_RESULTS = (1000, 1004)

log = get_logger()

DEFAULT_COMMAND_TIMEOUT = 30.0
_NEVER = math.inf
#: a deadline timer may fire this much early (the loop's clock resolution and rounding)
_TIMER_SLACK = 0.001
#: a 520 usage text is ~20 lines; a variable value with newlines is joined up to this
_MAX_BLOCK_LINES = 256
_CLOSE_GRACE = 1.0

#: commands whose name is more than one word (for messages: never log arguments)
_LONG_NAMES = frozenset(
    {
        "asyncagi break",
        "channel status",
        "control stream file",
        "database del",
        "database deltree",
        "database get",
        "database put",
        "get data",
        "get full variable",
        "get option",
        "get variable",
        "receive char",
        "receive text",
        "record file",
        "say alpha",
        "say date",
        "say datetime",
        "say digits",
        "say number",
        "say phonetic",
        "say time",
        "send image",
        "send text",
        "set autohangup",
        "set callerid",
        "set context",
        "set extension",
        "set music",
        "set priority",
        "set variable",
        "stream file",
        "tdd mode",
        "wait for digit",
    }
)


class _Default(enum.Enum):
    TIMEOUT = "session default"


#: ``timeout=DEFAULT`` means the session's :attr:`AgiSession.command_timeout`
DEFAULT = _Default.TIMEOUT


def command_name(words: tuple[str, ...]) -> str:
    """The AGI command a word list starts with, upper-cased, without its arguments."""
    tokens = " ".join(words[:4]).split(" ")
    for size in (3, 2):
        candidate = " ".join(tokens[:size]).lower()
        if candidate in _LONG_NAMES:
            return candidate.upper()
    return tokens[0].upper() if tokens else ""


class AgiSession:
    """Commands on one FastAGI connection (one per call leg).

    Created by :class:`~hotline.agi.server.FastAgiServer`; tests can build one
    with :meth:`open` from a ``(StreamReader, StreamWriter)`` pair.  Must be
    constructed inside a running event loop (it starts its reader task).
    """

    def __init__(
        self,
        request: AgiRequest,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        max_line: int = DEFAULT_MAX_LINE,
        lines: LineReader | None = None,
    ) -> None:
        self.request = request
        #: seconds a quick command may take before :class:`AgiTimeout`
        self.command_timeout = command_timeout
        #: True once a HANGUP line, a 511 reply, ``result=-1`` from media, or EOF was seen
        self.hung_up = False
        self.hangup_seen = asyncio.Event()
        #: commands sent on this connection
        self.commands = 0
        self._lines = lines if lines is not None else LineReader(reader, max_line)
        self._writer = writer
        self._lock = asyncio.Lock()
        self._pending: asyncio.Future[AgiReply] | None = None
        #: the pending command's reply is a secret (a PIN): never quoted in a log or an error
        self._pending_secret = False
        #: the pending command's reply may span lines (a variable's value)
        self._free_text = False
        self._pending_name = ""
        #: asked when the running command's deadline passes: still running as it should?
        self._keep: Callable[[], bool] | None = None
        #: when the running command must be answered (loop time), and its length in seconds
        self._deadline_at = _NEVER
        self._limit: float | None = None
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self._broken: tuple[type[AgiError], str] | None = None
        self._closed = False
        self._reader_task: asyncio.Task[None] | None = asyncio.get_running_loop().create_task(
            self._read_loop(), name=f"agi-reader-{request.uniqueid or 'unknown'}"
        )

    @classmethod
    async def open(
        cls,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        header_timeout: float = 5.0,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        max_line: int = DEFAULT_MAX_LINE,
    ) -> AgiSession:
        """Read the AGI header from the stream and return the session for it."""
        lines = LineReader(reader, max_line)
        try:
            async with asyncio.timeout(header_timeout):
                header = await read_header_lines(lines)
        except TimeoutError:
            raise AgiTimeout(f"no complete AGI header within {header_timeout}s") from None
        return cls(
            parse_header(header),
            reader,
            writer,
            command_timeout=command_timeout,
            max_line=max_line,
            lines=lines,
        )

    # -- connection state -------------------------------------------------

    @property
    def socket(self) -> socket.socket | None:
        """The connection's socket (its options, e.g. keepalive; never read or write it)."""
        sock: socket.socket | None = self._writer.get_extra_info("socket")
        return sock

    @property
    def closed(self) -> bool:
        """True once the session can send no more commands."""
        return self._closed or self._broken is not None

    def _note_hangup(self, reason: str) -> None:
        if not self.hung_up:
            log.debug("agi_hangup_seen", reason=reason)
        self.hung_up = True
        self.hangup_seen.set()

    def _break(self, kind: type[AgiError], message: str, *, peer_gone: bool = False) -> None:
        """Make the connection unusable: fail the pending command, close the socket.

        ``peer_gone`` (Asterisk closed or reset the socket) also counts as a
        hang-up; our own timeout or cancellation does not.
        """
        first = self._broken is None
        if first:
            self._broken = (kind, message)
        pending, self._pending = self._pending, None
        if pending is not None and not pending.done():
            pending.set_exception(kind(message))
        if first and peer_gone:
            self._note_hangup("connection_lost")
        if not self._writer.is_closing():
            self._writer.close()

    def _raise_if_broken(self) -> None:
        if self._broken is not None:
            kind, message = self._broken
            raise kind(message)
        if self._closed:
            raise AgiConnectionLost("the AGI session is closed")

    # -- reading ----------------------------------------------------------

    async def _read_loop(self) -> None:
        try:
            while True:
                line = await self._next_line()
                if self._broken is not None:
                    return  # we gave up on this connection; late lines mean nothing
                if line == "HANGUP":
                    self._note_hangup("hangup_line")
                    continue
                reply = await self._complete_reply(line)
                if reply.code == 100:
                    continue  # "100 Trying": the real reply follows
                self._deliver(reply, line)
        except AgiConnectionLost as exc:
            self._break(AgiConnectionLost, str(exc), peer_gone=True)
        except AgiProtocolError as exc:
            problem = "malformed reply to a secret command" if self._pending_secret else str(exc)
            log.warning("agi_protocol_error", problem=problem)
            self._break(AgiProtocolError, problem)

    def _deliver(self, reply: AgiReply, line: str) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            raise AgiProtocolError(
                f"reply {line[:40]!r} from Asterisk while no command was waiting"
            )
        if not pending.done():
            pending.set_result(reply)

    async def _next_line(self) -> str:
        raw = await self._lines.readline()
        if raw is None:
            raise AgiConnectionLost("Asterisk closed the AGI connection")
        return raw.decode("utf-8", errors="replace").removesuffix("\r")

    async def _complete_reply(self, line: str) -> AgiReply:
        if line.startswith("520-"):
            # "520-Invalid command syntax.  Proper usage follows:", the usage,
            # then "520 End of proper usage."
            text = [line[4:]]
            for _ in range(_MAX_BLOCK_LINES):
                more = await self._next_line()
                if more.startswith("520 "):
                    return AgiReply(code=520, text="\n".join(text).strip())
                text.append(more)
            raise AgiProtocolError(f"520 usage block longer than {_MAX_BLOCK_LINES} lines")
        if not self._free_text:
            return parse_reply(line)  # one line by protocol: malformed is malformed
        joined = line
        for _ in range(_MAX_BLOCK_LINES):
            if not reply_is_incomplete(joined):
                return parse_reply(joined)
            joined += "\n" + await self._next_line()
            if len(joined) > self._lines.max_line:
                break
        raise AgiProtocolError(f"unterminated AGI reply: {line[:60]!r}")

    # -- commands ---------------------------------------------------------

    async def command(
        self,
        *words: str,
        timeout: float | _Default | None = DEFAULT,
        secret: bool = False,
        keep: Callable[[], bool] | None = None,
    ) -> AgiReply:
        """Send one command and return its ``200`` reply; anything else raises.

        ``511`` raises :class:`AgiHangup`, ``510``/``520`` :class:`AgiCommandError`,
        no reply within ``timeout`` (default :attr:`command_timeout`; ``None``
        waits for ever) :class:`AgiTimeout`.  ``result=-1`` is returned as is:
        what it means depends on the command.  ``secret``: the reply holds a
        secret (a PIN), so neither the DEBUG trace nor an error message quotes it.
        ``keep``: asked when the deadline passes; True moves it on by ``timeout``.
        """
        line = format_command(*words)  # AgiArgumentError before anything is sent
        name = command_name(words)
        limit = self.command_timeout if timeout is DEFAULT else timeout
        async with self._lock:
            self._raise_if_broken()
            loop = self._loop
            pending = loop.create_future()
            self._pending = pending
            self._pending_name = name
            self._pending_secret = secret
            self._free_text = name in FREE_TEXT_COMMANDS
            self._keep = keep
            self._set_deadline(loop, limit)
            try:
                self._writer.write(line)
                self.commands += 1
                await self._writer.drain()
                reply = await pending
            except (ConnectionError, OSError) as exc:
                self._raise_if_broken()  # the deadline passed while sending: AgiTimeout
                self._break(
                    AgiConnectionLost, f"AGI connection lost while sending {name}", peer_gone=True
                )
                raise AgiConnectionLost(f"AGI connection lost while sending {name}") from exc
            except asyncio.CancelledError:
                _settled(pending)
                # the reply may still come and would answer the next command
                self._break(AgiConnectionLost, f"{name} was cancelled; AGI connection closed")
                raise
            finally:
                if self._pending is pending:
                    self._pending = None
                # ``keep`` is often a bound method of the flow that holds this session: kept
                # past its command it is a cycle (seen when a flow's last command was a Dial)
                self._keep = None
                # the future holds the exception it failed with, whose traceback holds this
                # frame: without this the session would wait in that cycle for a full
                # collection (seen in the benchmarks' leak check, hostile peers' errors)
                del pending
        if secret:
            log.debug("agi_command", command=name, code=reply.code, result=REDACTED, data=REDACTED)
        else:
            log.debug(
                "agi_command", command=name, code=reply.code, result=reply.result, data=reply.data
            )
        return self._check(name, reply)

    def extend_deadline(self, seconds: float | None) -> None:
        """Move the running command's deadline to ``seconds`` from now (``None``: lift it).

        For a command whose length the caller learns while it runs (a Dial
        whose agent accepted: the bridge may last hours).  No-op when no
        command is running or its deadline has already passed.
        """
        if self._pending is None or self._pending.done():
            return
        self._set_deadline(self._loop, seconds)

    # -- deadlines ----------------------------------------------------------
    #
    # One timer per session, re-armed lazily: a command only writes down when it
    # must be answered (a float); the timer, when it fires, either ends the
    # session or moves itself to the deadline written down since.  A timer per
    # command (asyncio.timeout) cost ~6 us per command (benchmarks/deadline_cost.py);
    # replies arrive in milliseconds, so this timer seldom fires at all.

    def _set_deadline(self, loop: asyncio.AbstractEventLoop, seconds: float | None) -> None:
        self._limit = seconds
        if seconds is None:
            self._deadline_at = _NEVER
            return
        at = self._deadline_at = loop.time() + seconds
        timer = self._timer
        if timer is None or timer.when() > at:
            if timer is not None:
                timer.cancel()
            self._timer = loop.call_at(at, self._deadline_passed)

    def _deadline_passed(self) -> None:
        self._timer = None
        pending = self._pending
        if pending is None or pending.done() or self._deadline_at == _NEVER:
            return  # no command waits: the next one arms the timer again
        if self._deadline_at - self._loop.time() > _TIMER_SLACK:
            self._timer = self._loop.call_at(self._deadline_at, self._deadline_passed)
            return
        name, limit = self._pending_name, self._limit
        if self._keep is not None and self._keep():
            log.debug("agi_deadline_kept", command=name, timeout=limit)
            self._set_deadline(self._loop, limit)
            return
        message = f"no reply to {name} within {limit}s; closing the AGI connection"
        # the one line for this session: it is closed now and logs nothing more
        log.warning("agi_command_timeout", command=name, timeout=limit)
        self._break(AgiTimeout, message)
        self._writer.transport.abort()  # a send blocked on a peer that reads nothing ends too

    def _check(self, name: str, reply: AgiReply) -> AgiReply:
        if reply.code == 200:
            return reply
        if reply.code == 511:
            self._note_hangup("511")
            raise AgiHangup(f"{name}: {reply.text or 'channel is dead'}")
        raise AgiCommandError(reply.code, reply.text, command=name)

    def _media_result(self, name: str, reply: AgiReply) -> int:
        result = reply.result_int
        if result < 0:
            self._note_hangup(f"{name.lower().replace(' ', '_')}_-1")
            raise AgiHangup(f"{name} returned {result}: the channel hung up")
        return result

    @staticmethod
    def _digit(result: int) -> str | None:
        # 1000-1004: a stream control (AMI ControlPlayback) ended the command, no key
        # (WAIT FOR DIGIT -> 200 result=1000: tests/sim/recordings/21_*_confirm_*.raw)
        if result == 0 or STREAM_CONTROL_RESULTS[0] <= result <= STREAM_CONTROL_RESULTS[1]:
            return None
        if result > 0x10FFFF:
            raise AgiProtocolError(f"AGI digit result {result} is not a character")
        return chr(result)

    async def answer(self) -> None:
        """Answer the channel (no-op when already up)."""
        self._media_result("ANSWER", await self.command("ANSWER"))

    async def stream_file(
        self, name: str, escape_digits: str = "", *, timeout: float | _Default | None = DEFAULT
    ) -> str | None:
        """Play ``name``; the escape digit pressed, or ``None`` when it played to the end.

        ``result=-1`` raises :class:`AgiHangup`.  Asterisk answers a missing
        file with the same ``200 result=-1 endpos=0`` as a hang-up, so check that
        prompts exist before taking calls.
        """
        reply = await self.command("STREAM FILE", name, escape_digits, timeout=timeout)
        return self._digit(self._media_result("STREAM FILE", reply))

    async def get_data(
        self,
        prompt: str,
        timeout_ms: int,
        max_digits: int,
        *,
        timeout: float | _Default | None = DEFAULT,
        secret: bool = False,
    ) -> str | None:
        """Play ``prompt`` and read up to ``max_digits`` digits (typing over the prompt counts).

        ``None`` when nothing was typed before the timeout (``result= (timeout)``);
        digits typed before a timeout are returned; ``""`` if only ``#`` was pressed.
        ``secret`` (a PIN): the digits are never logged, not even in the DEBUG trace.
        """
        reply = await self.command(
            "GET DATA", prompt, str(timeout_ms), str(max_digits), timeout=timeout, secret=secret
        )
        if reply.result == "-1":
            self._note_hangup("get_data_-1")
            raise AgiHangup("GET DATA returned -1: the channel hung up")
        if reply.data == "timeout" and not reply.result:
            return None
        return reply.result

    async def wait_for_digit(
        self, timeout_ms: int, *, timeout: float | _Default | None = DEFAULT
    ) -> str | None:
        """Wait for one DTMF digit: ``'1'``, or ``None`` when ``timeout_ms`` passed."""
        if timeout is DEFAULT:
            timeout = None if timeout_ms < 0 else timeout_ms / 1000 + self.command_timeout
        reply = await self.command("WAIT FOR DIGIT", str(timeout_ms), timeout=timeout)
        return self._digit(self._media_result("WAIT FOR DIGIT", reply))

    async def say_digits(
        self, digits: str, escape_digits: str = "", *, timeout: float | _Default | None = DEFAULT
    ) -> str | None:
        """Say ``digits`` one by one; the escape digit pressed, or ``None``."""
        reply = await self.command("SAY DIGITS", digits, escape_digits, timeout=timeout)
        return self._digit(self._media_result("SAY DIGITS", reply))

    async def exec_app(
        self,
        app: str,
        *args: str,
        timeout: float | _Default | None = DEFAULT,
        keep: Callable[[], bool] | None = None,
    ) -> int:
        """Run a dialplan application (``args`` joined with ``,``) and return its result.

        ``-1`` is returned, not raised: ``Dial`` returns it whenever a bridge ends,
        caller still up or not.  ``-2`` (no such application) raises
        :class:`AgiCommandError`.  EXEC works on a dead channel too.  ``keep``:
        asked when the deadline passes; True gives the application another
        ``timeout`` seconds (it is known to be still running).
        """
        words = ["EXEC", app]
        if args:
            words.append(",".join(args))
        reply = await self.command(*words, timeout=timeout, keep=keep)
        result = reply.result_int
        if result == -2:
            raise AgiCommandError(200, f"application {app!r} not found", command="EXEC")
        return result

    async def get_variable(self, name: str) -> str | None:
        """A channel variable or function value; ``None`` when it is not set."""
        reply = await self.command("GET VARIABLE", name)
        return (reply.data or "") if reply.result == "1" else None

    async def get_full_variable(self, expr: str, channel: str | None = None) -> str | None:
        """Expand ``expr`` (``${…}`` allowed) on this or another channel; ``None`` if no channel."""
        words = ["GET FULL VARIABLE", expr]
        if channel is not None:
            words.append(channel)
        reply = await self.command(*words)
        return (reply.data or "") if reply.result == "1" else None

    async def set_variable(self, name: str, value: str) -> None:
        """Set a channel variable (works on a dead channel too)."""
        await self.command("SET VARIABLE", name, value)

    async def hangup(self, channel: str | None = None) -> None:
        """Hang up this (or another) channel; an already dead or vanished one is fine."""
        words = ["HANGUP"] if channel is None else ["HANGUP", channel]
        try:
            await self.command(*words)
        except AgiHangup as exc:
            log.debug("agi_hangup_on_dead_channel", reason=str(exc))

    async def verbose(
        self, message: str, level: int = 1, *, timeout: float | _Default | None = DEFAULT
    ) -> None:
        """Write ``message`` to the Asterisk console/log at verbosity ``level``."""
        await self.command("VERBOSE", message, str(level), timeout=timeout)

    # -- lifetime ---------------------------------------------------------

    async def close(self) -> None:
        """Close the connection (Asterisk then continues the dialplan); idempotent."""
        if self._closed:
            return
        self._closed = True
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()  # and with it the timer's reference to this session
        # Drop the task: once done it keeps the CancelledError it ended with, whose
        # traceback holds the reader's frames and so this session; that cycle would
        # keep the whole connection (streams, buffers, futures) until a full GC.
        reader, self._reader_task = self._reader_task, None
        if reader is not None:
            reader.cancel()
            # not ``await reader``: that would hide our own cancellation
            await asyncio.wait([reader])
            if not reader.cancelled() and (failure := reader.exception()) is not None:
                log.error("agi_reader_failed", exc_info=failure)
        pending, self._pending = self._pending, None
        if pending is not None and not pending.done():
            pending.set_exception(AgiConnectionLost("the AGI session was closed"))
        writer = self._writer
        if not writer.is_closing():
            writer.close()
        try:
            async with asyncio.timeout(_CLOSE_GRACE):
                await writer.wait_closed()
        except TimeoutError:
            writer.transport.abort()
        except (ConnectionError, OSError):
            pass

    async def __aenter__(self) -> AgiSession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _settled(pending: asyncio.Future[AgiReply]) -> None:
    """Mark a reply we no longer wait for as seen.  The peer's end (EOF) can fail it in
    the same loop turn as our deadline or cancellation; unseen, asyncio would report
    "Future exception was never retrieved" with a traceback (seen once in 20,000
    stuck sessions, benchmarks/hostile_load.py)."""
    if pending.done() and not pending.cancelled():
        pending.exception()
