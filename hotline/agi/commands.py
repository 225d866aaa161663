"""The typed AGI commands (ANSWER, STREAM FILE, GET DATA, EXEC…) over one ``command``.

What a reply means for each command (``result=-1`` of a media command is a
hang-up, a digit is a character code, ``-2`` from EXEC is a missing
application) lives here; how a command is sent and its reply read is
:class:`hotline.agi.session.AgiSession`'s.
"""

# ruff: noqa: ASYNC109

from __future__ import annotations

import enum
from collections.abc import Callable

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


class AgiCommands:
    """The typed commands; a subclass sends them (:meth:`command`) and notes hang-ups."""

    __slots__ = ()

    #: seconds a quick command may take before :class:`~hotline.agi.errors.AgiTimeout`
    command_timeout: float

    async def command(
        self,
        *words: str,
        timeout: float | _Default | None = DEFAULT,
        secret: bool = False,
        keep: Callable[[], bool] | None = None,
    ) -> AgiReply:
        raise NotImplementedError

    def _note_hangup(self, reason: str) -> None:
        raise NotImplementedError

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

    def _key(self, name: str, reply: AgiReply) -> str | None:
        """The key a media command's reply carries (``None``: none); ``-1`` is a hang-up.
        One call per command, not two (issue 19)."""
        result = reply.result_int
        # 1000-1004: a stream control (AMI ControlPlayback) ended the command, no key
        # (WAIT FOR DIGIT -> 200 result=1000: tests/sim/recordings/21_*_confirm_*.raw)
        if result == 0 or STREAM_CONTROL_RESULTS[0] <= result <= STREAM_CONTROL_RESULTS[1]:
            return None
        if result < 0:
            self._media_result(name, reply)  # raises AgiHangup
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
        return self._key("STREAM FILE", reply)

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
        return self._key("WAIT FOR DIGIT", reply)

    async def say_digits(
        self, digits: str, escape_digits: str = "", *, timeout: float | _Default | None = DEFAULT
    ) -> str | None:
        """Say ``digits`` one by one; the escape digit pressed, or ``None``."""
        reply = await self.command("SAY DIGITS", digits, escape_digits, timeout=timeout)
        return self._key("SAY DIGITS", reply)

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
