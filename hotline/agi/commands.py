"""The typed AGI commands (ANSWER, STREAM FILE, GET DATA, EXEC…) over one ``command``.

What a reply means for each command (``result=-1`` of a media command is a
hang-up, a digit is a character code, ``-2`` from EXEC is a missing
application) lives here; how a command is sent and its reply read is
:class:`hotline.agi.session.AgiSession`'s.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from hotline.agi.errors import AgiCommandError, AgiHangup, AgiProtocolError
from hotline.agi.wire import AgiReply
from hotline.logs import get_logger

#: AST_CONTROL_STREAM_STOP..FORWARD: a media command stopped from outside, not a key
STREAM_CONTROL_RESULTS = (1000, 1004)

log = get_logger()


class _Default(enum.Enum):
    TIMEOUT = "session default"


#: ``timeout=DEFAULT`` means the session's :attr:`AgiSession.command_timeout`
DEFAULT = _Default.TIMEOUT

_T = TypeVar("_T")


#: what a typed command makes of its ``200`` reply, given the words it sent
Finish = Callable[[tuple[str, ...], AgiReply], _T]


def _reply_itself(words: tuple[str, ...], reply: AgiReply) -> AgiReply:
    return reply


def _nothing(words: tuple[str, ...], reply: AgiReply) -> None:
    return None


def _value(words: tuple[str, ...], reply: AgiReply) -> str | None:
    return (reply.data or "") if reply.result == "1" else None


class AgiCommands:
    """The typed commands; a subclass sends them (:meth:`_send`) and notes hang-ups.

    A typed command is not a coroutine of its own: it returns the one coroutine
    that sends it (:meth:`_send`), told what to make of the reply.  Every command
    resumes through each coroutine between its task and the socket, and a level
    cost ~1,600 instructions and ~7 cache misses per command (callgrind,
    benchmarks/RESULTS.md, issue 19, session 13).
    """

    __slots__ = ()

    #: seconds a quick command may take before :class:`~hotline.agi.errors.AgiTimeout`
    command_timeout: float

    def _send(
        self,
        words: tuple[str, ...],
        timeout: float | _Default | None,
        secret: bool,
        keep: Callable[[], bool] | None,
        finish: Finish[_T],
    ) -> Coroutine[Any, Any, _T]:
        """Send ``words``; ``finish`` makes the result of a ``200`` reply, any other raises."""
        raise NotImplementedError

    def _note_hangup(self, reason: str) -> None:
        raise NotImplementedError

    def command(
        self,
        *words: str,
        timeout: float | _Default | None = DEFAULT,
        secret: bool = False,
        keep: Callable[[], bool] | None = None,
    ) -> Coroutine[Any, Any, AgiReply]:
        """Send one command and return its ``200`` reply; anything else raises.

        ``511`` raises :class:`AgiHangup`, ``510``/``520`` :class:`AgiCommandError`,
        no reply within ``timeout`` (default :attr:`command_timeout`; ``None``
        waits for ever) :class:`AgiTimeout`.  ``result=-1`` is returned as is:
        what it means depends on the command.  ``secret``: the reply holds a
        secret (a PIN), so neither the DEBUG trace nor an error message quotes it.
        ``keep``: asked when the deadline passes; True moves it on by ``timeout``.
        """
        return self._send(words, timeout, secret, keep, _reply_itself)

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

    def _answered(self, words: tuple[str, ...], reply: AgiReply) -> None:
        self._media_result(words[0], reply)

    def _key(self, words: tuple[str, ...], reply: AgiReply) -> str | None:
        """The key a media command's reply carries (``None``: none); ``-1`` is a hang-up.
        One call per command, not two (issue 19)."""
        result = reply.result_int
        # 1000-1004: a stream control (AMI ControlPlayback) ended the command, no key
        # (WAIT FOR DIGIT -> 200 result=1000: tests/sim/recordings/21_*_confirm_*.raw)
        if result == 0 or STREAM_CONTROL_RESULTS[0] <= result <= STREAM_CONTROL_RESULTS[1]:
            return None
        if result < 0:
            self._media_result(words[0], reply)  # raises AgiHangup
        if result > 0x10FFFF:
            raise AgiProtocolError(f"AGI digit result {result} is not a character")
        return chr(result)

    def _digits(self, words: tuple[str, ...], reply: AgiReply) -> str | None:
        if reply.result == "-1":
            self._note_hangup("get_data_-1")
            raise AgiHangup("GET DATA returned -1: the channel hung up")
        if reply.data == "timeout" and not reply.result:
            return None
        return reply.result

    def answer(self) -> Coroutine[Any, Any, None]:
        """Answer the channel (no-op when already up)."""
        return self._send(("ANSWER",), DEFAULT, False, None, self._answered)

    def stream_file(
        self, name: str, escape_digits: str = "", *, timeout: float | _Default | None = DEFAULT
    ) -> Coroutine[Any, Any, str | None]:
        """Play ``name``; the escape digit pressed, or ``None`` when it played to the end.

        ``result=-1`` raises :class:`AgiHangup`.  Asterisk answers a missing
        file with the same ``200 result=-1 endpos=0`` as a hang-up, so check that
        prompts exist before taking calls.
        """
        return self._send(("STREAM FILE", name, escape_digits), timeout, False, None, self._key)

    def get_data(
        self,
        prompt: str,
        timeout_ms: int,
        max_digits: int,
        *,
        timeout: float | _Default | None = DEFAULT,
        secret: bool = False,
    ) -> Coroutine[Any, Any, str | None]:
        """Play ``prompt`` and read up to ``max_digits`` digits (typing over the prompt counts).

        ``None`` when nothing was typed before the timeout (``result= (timeout)``);
        digits typed before a timeout are returned; ``""`` if only ``#`` was pressed.
        ``secret`` (a PIN): the digits are never logged, not even in the DEBUG trace.
        """
        words = ("GET DATA", prompt, str(timeout_ms), str(max_digits))
        return self._send(words, timeout, secret, None, self._digits)

    def wait_for_digit(
        self, timeout_ms: int, *, timeout: float | _Default | None = DEFAULT
    ) -> Coroutine[Any, Any, str | None]:
        """Wait for one DTMF digit: ``'1'``, or ``None`` when ``timeout_ms`` passed."""
        if timeout is DEFAULT:
            timeout = None if timeout_ms < 0 else timeout_ms / 1000 + self.command_timeout
        return self._send(("WAIT FOR DIGIT", str(timeout_ms)), timeout, False, None, self._key)

    def say_digits(
        self, digits: str, escape_digits: str = "", *, timeout: float | _Default | None = DEFAULT
    ) -> Coroutine[Any, Any, str | None]:
        """Say ``digits`` one by one; the escape digit pressed, or ``None``."""
        return self._send(("SAY DIGITS", digits, escape_digits), timeout, False, None, self._key)

    def exec_app(
        self,
        app: str,
        *args: str,
        timeout: float | _Default | None = DEFAULT,
        keep: Callable[[], bool] | None = None,
    ) -> Coroutine[Any, Any, int]:
        """Run a dialplan application (``args`` joined with ``,``) and return its result.

        ``-1`` is returned, not raised: ``Dial`` returns it whenever a bridge ends,
        caller still up or not.  ``-2`` (no such application) raises
        :class:`AgiCommandError`.  EXEC works on a dead channel too.  ``keep``:
        asked when the deadline passes; True gives the application another
        ``timeout`` seconds (it is known to be still running).
        """
        words = ("EXEC", app, ",".join(args)) if args else ("EXEC", app)
        return self._send(words, timeout, False, keep, _app_result)

    def get_variable(self, name: str) -> Coroutine[Any, Any, str | None]:
        """A channel variable or function value; ``None`` when it is not set."""
        return self._send(("GET VARIABLE", name), DEFAULT, False, None, _value)

    def get_full_variable(
        self, expr: str, channel: str | None = None
    ) -> Coroutine[Any, Any, str | None]:
        """Expand ``expr`` (``${…}`` allowed) on this or another channel; ``None`` if no channel."""
        words: tuple[str, ...] = ("GET FULL VARIABLE", expr)
        if channel is not None:
            words = (*words, channel)
        return self._send(words, DEFAULT, False, None, _value)

    def set_variable(self, name: str, value: str) -> Coroutine[Any, Any, None]:
        """Set a channel variable (works on a dead channel too)."""
        return self._send(("SET VARIABLE", name, value), DEFAULT, False, None, _nothing)

    async def hangup(self, channel: str | None = None) -> None:
        """Hang up this (or another) channel; an already dead or vanished one is fine."""
        words = ["HANGUP"] if channel is None else ["HANGUP", channel]
        try:
            await self.command(*words)
        except AgiHangup as exc:
            log.debug("agi_hangup_on_dead_channel", reason=str(exc))

    def verbose(
        self, message: str, level: int = 1, *, timeout: float | _Default | None = DEFAULT
    ) -> Coroutine[Any, Any, None]:
        """Write ``message`` to the Asterisk console/log at verbosity ``level``."""
        return self._send(("VERBOSE", message, str(level)), timeout, False, None, _nothing)


def _app_result(words: tuple[str, ...], reply: AgiReply) -> int:
    result = reply.result_int
    if result == -2:
        raise AgiCommandError(200, f"application {words[1]!r} not found", command="EXEC")
    return result
