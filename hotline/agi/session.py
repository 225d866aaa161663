"""One FastAGI connection: typed commands over a reader that never shifts replies.

A command is one write and the read of its reply, in the command's own task:
the out-of-band ``HANGUP`` line (which can arrive before, between or after
replies) only sets :attr:`AgiSession.hung_up` and :attr:`AgiSession.hangup_seen`;
``100 Trying`` lines are skipped, a multi-line ``520-`` usage block is read to
its end, and every other line is the reply.  Between commands nobody reads:
:class:`~hotline.agi.stream.AgiStream` says when bytes or the end of the
stream arrive, and they are read then (a ``HANGUP`` noted, the peer's close
seen at once, a reply nobody asked for closes the connection rather than answer
the next command).  A reader task taking every line first cost a task
wake-up, a future and a lock per command (benchmarks/RESULTS.md, issue 19).

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
import contextvars
import functools
import math
import socket
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

from hotline.agi.commands import DEFAULT, AgiCommands, Finish, _Default
from hotline.agi.deadlines import EARLY, DeadlineSlots
from hotline.agi.errors import (
    AgiConnectionLost,
    AgiError,
    AgiProtocolError,
    AgiTimeout,
)
from hotline.agi.stream import AgiStream, read_header_lines
from hotline.agi.wire import (
    AgiReply,
    AgiRequest,
    parse_free_text_reply,
    parse_header,
    parse_reply,
    prepare_command,
    remembered_command,
    remembered_free_text_reply,
    remembered_reply,
    reply_from_line,
    reply_is_incomplete,
)
from hotline.logs import REDACTED, get_logger

log = get_logger()

_T = TypeVar("_T")

DEFAULT_COMMAND_TIMEOUT = 30.0
_NEVER = math.inf
#: a 520 usage text is ~20 lines; a variable value with newlines is joined up to this
_MAX_BLOCK_LINES = 256


class AgiSession(AgiCommands):
    """Commands on one FastAGI connection (one per call leg).

    Created by :class:`~hotline.agi.server.FastAgiServer` once the header of
    the connection's :class:`~hotline.agi.stream.AgiStream` is read.  Must be
    constructed inside a running event loop.
    """

    # slotted: each command reads and writes a dozen of these
    __slots__ = (
        "__weakref__",  # tests prove a closed one is freed
        "_broken",
        "_busy",
        "_closed",
        "_deadline_at",
        "_deadlines",
        "_hangup_seen",
        "_keep",
        "_limit",
        "_loop",
        "_running",
        "_secret",
        "_stream",
        "_timer_at",
        "_timer_context",
        "_timer_slot",
        "_turns",
        "command_timeout",
        "commands",
        "hung_up",
        "request",
    )

    def __init__(
        self,
        request: AgiRequest,
        stream: AgiStream,
        *,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        deadlines: DeadlineSlots | None = None,
    ) -> None:
        self.request = request
        #: seconds a quick command may take before :class:`AgiTimeout`
        self.command_timeout = command_timeout
        #: True once a HANGUP line, a 511 reply, ``result=-1`` from media, or EOF was seen
        self.hung_up = False
        self._hangup_seen: asyncio.Event | None = None
        #: commands sent on this connection
        self.commands = 0
        self._stream = stream
        self._loop = stream.loop
        #: a command owns the connection (sending, or reading its reply); others queue
        self._busy = False
        #: commands waiting for their turn (seldom any: a list, 56 bytes, not a deque's 760)
        self._turns: list[asyncio.Future[None]] = []
        #: the running command's name, and whether its reply is a secret (a PIN): never
        #: quoted in a log or an error
        self._running = ""
        self._secret = False
        #: asked when the running command's deadline passes: still running as it should?
        self._keep: Callable[[], bool] | None = None
        #: when the running command must be answered (loop time), and its length in seconds
        self._deadline_at = _NEVER
        self._limit: float | None = None
        #: where the deadline waits: the server's slots, shared by its sessions (a loop
        #: timer per session was ~600 bytes per connection, hotline/agi/deadlines.py)
        self._deadlines = deadlines if deadlines is not None else DeadlineSlots(self._loop)
        #: the context of the command that armed the deadline (None: not armed; its call's
        #: log fields for a timeout's line), and the deadline's slot
        self._timer_context: contextvars.Context | None = None
        self._timer_slot = 0
        #: when it runs (loop time; _NEVER without one): kept here, as asking the timer
        #: (``when()``) was a call and a look at one more cold object per command (issue
        #: 19, RESULTS.md session 12)
        self._timer_at = _NEVER
        self._broken: tuple[type[AgiError], str] | None = None
        self._closed = False
        # the transport calls back in the loop's context: run in the call's (its log lines)
        context = contextvars.copy_context()
        stream.on_idle_input = functools.partial(context.run, self._read_idle_input)
        self._done()  # no command runs yet: go idle

    @classmethod
    async def open(
        cls,
        stream: AgiStream,
        *,
        header_timeout: float = 5.0,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        deadlines: DeadlineSlots | None = None,
    ) -> AgiSession:
        """Read the AGI header from the stream and return the session for it."""
        try:
            async with asyncio.timeout(header_timeout):
                header = await read_header_lines(stream)
        except TimeoutError:
            raise AgiTimeout(f"no complete AGI header within {header_timeout}s") from None
        return cls(
            parse_header(header), stream, command_timeout=command_timeout, deadlines=deadlines
        )

    # -- connection state -------------------------------------------------

    @property
    def socket(self) -> socket.socket | None:
        """The connection's socket (its options, e.g. keepalive; never read or write it)."""
        sock: socket.socket | None = self._stream.get_extra_info("socket")
        return sock

    @property
    def closed(self) -> bool:
        """True once the session can send no more commands."""
        return self._closed or self._broken is not None

    @property
    def hangup_seen(self) -> asyncio.Event:
        """Set once a hang-up is seen (:attr:`hung_up`); made when first asked for, as
        most sessions never are (an Event and its deque: ~900 bytes per connection)."""
        event = self._hangup_seen
        if event is None:
            event = self._hangup_seen = asyncio.Event()
            if self.hung_up:
                event.set()
        return event

    def _note_hangup(self, reason: str) -> None:
        if not self.hung_up:
            log.debug("agi_hangup_seen", reason=reason)
        self.hung_up = True
        if self._hangup_seen is not None:
            self._hangup_seen.set()

    def _break(self, kind: type[AgiError], message: str, *, peer_gone: bool = False) -> None:
        """Make the connection unusable: close the socket, later commands raise ``kind``.

        ``peer_gone`` (Asterisk closed or reset the socket) also counts as a
        hang-up; our own timeout or cancellation does not.  A command reading
        its reply sees the end of the stream and raises ``kind`` too.
        """
        first = self._broken is None
        if first:
            self._broken = (kind, message)
        if first and peer_gone:
            self._note_hangup("connection_lost")
        if not self._stream.is_closing():
            self._stream.close()

    def _raise_if_broken(self) -> None:
        if self._broken is not None:
            kind, message = self._broken
            raise kind(message)
        if self._closed:
            raise AgiConnectionLost("the AGI session is closed")

    def _protocol_error(self, exc: AgiProtocolError) -> None:
        problem = "malformed reply to a secret command" if self._secret else str(exc)
        log.warning("agi_protocol_error", problem=problem)
        self._break(AgiProtocolError, problem)

    # -- between commands ---------------------------------------------------

    def _read_idle_input(self) -> None:
        """Bytes or the end of the stream arrived while no command reads (or before)."""
        if self._broken is not None or self._closed:
            return
        try:
            self._take_idle_lines()
        except AgiConnectionLost as exc:
            self._break(AgiConnectionLost, str(exc), peer_gone=True)
        except AgiProtocolError as exc:
            self._protocol_error(exc)

    def _take_idle_lines(self) -> None:
        stream = self._stream
        while (raw := stream.pop_line()) is not None:
            line = raw.decode("utf-8", errors="replace").removesuffix("\r")
            if line == "HANGUP":
                self._note_hangup("hangup_line")
                continue
            if parse_reply(line).code == 100:
                continue  # "100 Trying" of a command that was answered after all
            raise AgiProtocolError(
                f"reply {line[:40]!r} from Asterisk while no command was waiting"
            )
        if stream.ended:  # a partial last line is a cut connection, as for a command
            raise AgiConnectionLost("Asterisk closed the AGI connection")

    # -- commands ---------------------------------------------------------

    async def _send(
        self,
        words: tuple[str, ...],
        timeout: float | _Default | None,
        secret: bool,
        keep: Callable[[], bool] | None,
        finish: Finish[_T],
    ) -> _T:
        """The one coroutine of every command: see :meth:`AgiCommands.command`."""
        # AgiArgumentError before anything is sent; long ones (a peer's value in them) are
        # not remembered, as in hotline/agi/wire.py
        line, name, free_text = remembered_command(words) or prepare_command(words)
        limit = self.command_timeout if timeout is DEFAULT else timeout
        if self._busy:
            await self._wait_turn()
        else:
            self._busy = True
        try:
            if self._broken is not None or self._closed:
                self._raise_if_broken()
            self._running = name
            self._secret = secret
            self._keep = keep
            stream = self._stream
            stream.idle = False
            # _set_deadline's work, inline: the timer is seldom moved (one call fewer per
            # command; with the inline end below, 87.4k -> 86.0k instructions per command)
            self._limit = limit
            if limit is None:
                self._deadline_at = _NEVER
            else:
                at = self._deadline_at = self._loop.time() + limit
                if self._timer_at > at:
                    self._arm(at)
            reply: AgiReply | None = None
            try:
                arrival = stream.send(line)
                self.commands += 1
                if stream.paused:  # the peer reads slower than we write
                    await stream.drain()
                # the reply's line, awaited here rather than in stream.readline(): one
                # coroutine fewer per command to make, resume and collect (issue 19); it
                # is the arrival's result when it came alone (newline included)
                raw = await arrival if arrival is not None else None
                if raw is None:
                    raw = stream.pop_line()
                    while raw is None and not stream.ended:  # a part of a line came
                        await stream.next_arrival()
                        raw = stream.pop_line()
                # the reply when the first line is all of it (nearly always; most often a
                # line seen before): anything else is read to its end by _read_reply
                if raw is not None:
                    reply = (remembered_free_text_reply if free_text else remembered_reply)(raw)
                    if reply is None:
                        reply = reply_from_line(raw, free_text)
                if reply is None:
                    line_read = raw.removesuffix(b"\n") if raw is not None else None
                    reply = await self._read_reply(line_read, free_text)
            except (ConnectionError, OSError) as exc:
                self._raise_if_broken()  # the deadline passed while sending: AgiTimeout
                self._break(
                    AgiConnectionLost, f"AGI connection lost while sending {name}", peer_gone=True
                )
                raise AgiConnectionLost(f"AGI connection lost while sending {name}") from exc
            except AgiConnectionLost as exc:
                if self._broken is None and not self._closed:
                    self._break(AgiConnectionLost, str(exc), peer_gone=True)
            except AgiProtocolError as exc:
                if self._broken is None:
                    self._protocol_error(exc)
            except asyncio.CancelledError:
                # the reply may still come and would answer the next command
                self._break(AgiConnectionLost, f"{name} was cancelled; AGI connection closed")
                raise
            if reply is None:
                # raised here, not in the handlers: a new error without the one that ended
                # the read (a malformed secret reply's text must not travel on as its context)
                self._raise_if_broken()
                raise AgiConnectionLost("the AGI session is closed")  # pragma: no cover
        finally:
            # _done's work, inline for the usual end (no command waits its turn)
            self._deadline_at = _NEVER
            self._keep = None
            if self._turns:
                self._hand_on()
            else:
                self._busy = False
                if self._broken is None and not self._closed:
                    self._stream.go_idle()
        if log.debugging:  # one per command: not even the call when nobody reads it
            if secret:
                log.debug(
                    "agi_command", command=name, code=reply.code, result=REDACTED, data=REDACTED
                )
            else:
                log.debug(
                    "agi_command",
                    command=name,
                    code=reply.code,
                    result=reply.result,
                    data=reply.data,
                )
        if reply.code != 200:
            self._check(name, reply)  # raises: 511 AgiHangup, any other AgiCommandError
        return finish(words, reply)

    async def _wait_turn(self) -> None:
        """Wait until the commands queued before this one are done (then this one owns it)."""
        turn = self._loop.create_future()
        self._turns.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._done()  # handed the connection in the same moment: pass it on
            else:
                self._turns.remove(turn)
            raise

    def _done(self) -> None:
        """The running command is over (or none ran yet): hand the connection to the next
        one, or go idle.  (:meth:`command` does the same at its end, inline.)"""
        self._deadline_at = _NEVER
        # ``keep`` is often a bound method of the flow that holds this session: kept
        # past its command it is a cycle (seen when a flow's last command was a Dial)
        self._keep = None
        self._hand_on()

    def _hand_on(self) -> None:
        """Give the connection to the next command waiting for its turn, else go idle."""
        while self._turns:
            turn = self._turns.pop(0)
            if not turn.done():
                turn.set_result(None)  # stays busy: that command owns it now
                return
        self._busy = False
        # idle: read what has arrived already, be told of what comes
        if self._broken is None and not self._closed:
            self._stream.go_idle()

    async def _read_reply(self, raw: bytes | None, free_text: bool) -> AgiReply:
        """The reply that starts with ``raw`` (the line read already), read to its end."""
        lines = self._stream
        while True:
            if raw is None:
                raise AgiConnectionLost("Asterisk closed the AGI connection")
            line = raw.decode("utf-8", errors="replace").removesuffix("\r")
            if line == "HANGUP":
                self._note_hangup("hangup_line")
                raw = await lines.readline()
                continue
            if line.startswith("520-"):
                reply = await self._complete_reply(line, free_text)
            elif free_text:
                reply_or_none = parse_free_text_reply(line)
                if reply_or_none is None:  # a value with a newline: read on
                    reply_or_none = await self._complete_reply(line, free_text)
                reply = reply_or_none
            else:
                reply = parse_reply(line)  # one line by protocol: malformed is malformed
            if reply.code != 100:  # "100 Trying": the real reply follows
                return reply
            raw = await lines.readline()

    async def _next_line(self) -> str:
        raw = await self._stream.readline()
        if raw is None:
            raise AgiConnectionLost("Asterisk closed the AGI connection")
        return raw.decode("utf-8", errors="replace").removesuffix("\r")

    async def _complete_reply(self, line: str, free_text: bool) -> AgiReply:
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
        if not free_text:
            return parse_reply(line)
        joined = line
        for _ in range(_MAX_BLOCK_LINES):
            if not reply_is_incomplete(joined):
                return parse_reply(joined)
            joined += "\n" + await self._next_line()
            if len(joined) > self._stream.max_line:
                break
        raise AgiProtocolError(f"unterminated AGI reply: {line[:60]!r}")

    def extend_deadline(self, seconds: float | None) -> None:
        """Move the running command's deadline to ``seconds`` from now (``None``: lift it).

        For a command whose length the caller learns while it runs (a Dial
        whose agent accepted: the bridge may last hours).  No-op when no
        command is running or its deadline has already passed.
        """
        if not self._busy or self._broken is not None or self._closed:
            return
        self._set_deadline(seconds)

    # -- deadlines ----------------------------------------------------------
    #
    # One timer per session, re-armed lazily: a command only writes down when it
    # must be answered (a float); the timer, when it fires, either ends the
    # session or moves itself to the deadline written down since.  A timer per
    # command (asyncio.timeout) cost ~6 us per command (benchmarks/deadline_cost.py);
    # replies arrive in milliseconds, so this timer seldom fires at all.

    def _set_deadline(self, seconds: float | None) -> None:
        self._limit = seconds
        if seconds is None:
            self._deadline_at = _NEVER
            return
        at = self._deadline_at = self._loop.time() + seconds
        self._arm(at)

    def _arm(self, at: float) -> None:
        """The deadline is looked at by ``at`` (moved earlier if it would be later)."""
        if self._timer_at > at:
            if self._timer_context is not None:
                self._deadlines.discard(self, self._timer_slot)
            self._timer_context = contextvars.copy_context()
            self._timer_slot = self._deadlines.add(self, at)
            self._timer_at = at

    def deadline_due(self) -> None:
        """The armed deadline passed (:class:`~hotline.agi.deadlines.DeadlineSlots`)."""
        context, self._timer_context = self._timer_context, None
        self._timer_at = _NEVER
        if context is not None:
            context.run(self._deadline_passed)

    def _deadline_passed(self) -> None:
        if not self._busy or self._deadline_at == _NEVER or self._broken is not None:
            return  # no command waits: the next one arms the timer again
        if self._deadline_at - self._loop.time() > EARLY:  # the slots' own allowance
            self._arm(self._deadline_at)
            return
        name, limit = self._running, self._limit
        if self._keep is not None and self._keep():
            log.debug("agi_deadline_kept", command=name, timeout=limit)
            self._set_deadline(limit)
            return
        message = f"no reply to {name} within {limit}s; closing the AGI connection"
        # the one line for this session: it is closed now and logs nothing more
        log.warning("agi_command_timeout", command=name, timeout=limit)
        self._break(AgiTimeout, message)
        self._stream.abort()  # a send blocked on a peer that reads nothing ends too

    # -- lifetime ---------------------------------------------------------

    async def close(self) -> None:
        """Close the connection (Asterisk then continues the dialplan); idempotent."""
        if self._closed:
            return
        self._closed = True
        context, self._timer_context = self._timer_context, None
        self._timer_at = _NEVER
        if context is not None:
            self._deadlines.discard(self, self._timer_slot)  # and its reference to us
        stream = self._stream
        stream.idle = False
        stream.on_idle_input = None  # the transport outlives us in the loop for a moment
        await stream.close_and_wait()

    async def __aenter__(self) -> AgiSession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
