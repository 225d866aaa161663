"""One FastAGI connection played from Asterisk's side, on virtual time.

:class:`AgiLeg` reads the runtime's commands and answers each like Asterisk 22
(formats from the recordings), keeps the channel's state, and sends the single
out-of-band ``HANGUP`` line after the channel hung up: right after the reply
of the command that noticed it (``after-reply``) or just before the reply of
the next command (``next-reply``, what most recordings show).  After our own
``HANGUP`` command it always follows the reply (recording 01).

Subclasses say who is at the far end: :class:`~hotline.sim.caller_leg.CallerLeg`
(a scripted caller) and :class:`~hotline.sim.confirm_leg.ConfirmLeg` (a scripted
agent).  The transport is :class:`hotline.agi.testing.FakeAsterisk`, the same
byte-exact Asterisk the FastAGI tests use.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from hotline.agi.testing import FakeAsterisk
from hotline.sim import events
from hotline.sim.channels import CAUSE_NORMAL, Channel, lookup, substitute, write_function
from hotline.sim.commands import (
    DEAD_REPLY,
    UNKNOWN_REPLY,
    find_command,
    split_words,
    usage_reply,
)
from hotline.sim.errors import SimError
from hotline.sim.media import (
    ANY_DIGIT,
    DigitsRead,
    Outcome,
    Press,
    endpos,
    first_event,
    read_digits,
)

if TYPE_CHECKING:
    from hotline.sim.call import Call

Handler = Callable[[list[str]], Awaitable[str]]

#: seconds Asterisk waits for the first GET DATA digit when no timeout is given
#: (the pbx's response timeout), and between digits (digit timeout)
DEFAULT_FIRST_DIGIT_TIMEOUT = 10.0
DEFAULT_NEXT_DIGIT_TIMEOUT = 5.0
#: GET OPTION's wait after the prompt when no timeout is given
DEFAULT_OPTION_TIMEOUT = 5.0
#: seconds ``hagi://`` waits for a server to accept before trying the next
#: (res_agi.c MAX_AGI_CONNECT, 2000 ms)
HAGI_CONNECT_TIMEOUT = 2.0
#: a negative GET DATA timeout means "wait for ever"; Asterisk uses 10^9 ms
FOREVER = 1_000_000.0


def atoi(text: str) -> int:
    """C's ``atoi``: leading blanks, optional sign, digits; anything else gives 0."""
    text = text.lstrip()
    sign, digits = 1, ""
    if text[:1] in "+-" and text:
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    for char in text:
        if not char.isdigit():
            break
        digits += char
    return sign * int(digits) if digits else 0


class AgiLeg:
    """Serves one FastAGI connection the way Asterisk's res_agi does."""

    #: short name of the far end for the timeline (``caller``, ``201``)
    party = "caller"

    def __init__(self, call: Call, channel: Channel, commands: list[str], played: list[str]):
        self.call = call
        self.channel = channel
        self.commands = commands
        self.played = played
        #: keys the far end presses, in time order; ``cursor`` = first unused one
        self.presses: list[Press] = []
        self.cursor = 0
        #: SET CONTEXT / EXTENSION / PRIORITY or EXEC Goto moved the channel
        self.location_changed = False
        self._conn: FakeAsterisk | None = None
        self._notified = False
        self._runtime_hung_up = False
        self._handlers: dict[str, Handler] = {
            "ANSWER": self._answer,
            "CHANNEL STATUS": self._channel_status,
            "DATABASE DEL": self._ok1,
            "DATABASE DELTREE": self._ok1,
            "DATABASE GET": self._ok0,
            "DATABASE PUT": self._ok1,
            "EXEC": self._exec,
            "GET DATA": self._get_data,
            "GET FULL VARIABLE": self._get_full_variable,
            "GET OPTION": self._get_option,
            "GET VARIABLE": self._get_variable,
            "HANGUP": self._hangup,
            "NOOP": self._ok0,
            "SAY ALPHA": self._say,
            "SAY DIGITS": self._say,
            "SAY NUMBER": self._say,
            "SET AUTOHANGUP": self._ok0,
            "SET CALLERID": self._set_callerid,
            "SET CONTEXT": self._set_context,
            "SET EXTENSION": self._set_extension,
            "SET MUSIC": self._ok0,
            "SET PRIORITY": self._set_priority,
            "SET VARIABLE": self._set_variable,
            "STREAM FILE": self._stream_file,
            "VERBOSE": self._ok1,
            "WAIT FOR DIGIT": self._wait_for_digit,
        }

    # -- what subclasses decide ---------------------------------------------

    def far_hangup_at(self, step: str, name: str, start: float, length: float) -> float | None:
        """Virtual moment the far end hangs up during this media step, if it does.

        ``step`` is ``stream``, ``pin`` (GET DATA), ``wait`` or ``say``;
        ``length`` may be ``math.inf`` for a wait without end.
        """
        return None

    def prepare_digits(self, start: float, prompt: float, hanging_up: bool) -> None:
        """Called at each GET DATA before reading: a caller queues what they type."""

    async def far_end_hung_up(self, at: float, step: str) -> None:
        """The far end hung up at ``at`` during ``step`` (the channel is already marked)."""

    def on_latency(self, seconds: float) -> None:
        """Real seconds the runtime took to send its next command."""

    async def runtime_hung_up(self) -> None:
        """The runtime hung this leg's channel up (HANGUP or EXEC Hangup)."""

    async def run_app(self, app: str, data: str) -> str | None:
        """Subclass applications (``Dial``); ``None`` = not handled here."""
        return None

    # -- transport ---------------------------------------------------------------

    async def connect(self, header: bytes, port: int) -> None:
        """Open the FastAGI connection and send the header (``OSError`` if every server refused).

        With several servers (``agi_servers``) it fails over as ``hagi://`` does
        (res_agi.c ``launch_ha_netscript``): a refused connection goes to the next
        server at once, one silent for :data:`HAGI_CONNECT_TIMEOUT` seconds too.  As
        there, the header's first line is sent at once and a failure to send it counts
        as a failed connect: a server killed after its kernel completed the handshake
        resets the connection, and the next one is tried.  A server that dies after
        that line is found out by the next read (the AGI ends, the dialplan goes on).
        """
        env = self.call.env
        failure: OSError | None = None
        first, _, rest = header.partition(b"\n")
        for host, server_port in env.servers_for(self.call.index, port):
            conn = FakeAsterisk(server_port, host, timeout=env.command_timeout)
            try:
                async with asyncio.timeout(HAGI_CONNECT_TIMEOUT):
                    await conn.connect()
                    await conn.send_raw(first + b"\n")  # "agi_network: yes"
            except OSError as exc:  # refused, reset, unreachable, or silent (TimeoutError)
                await conn.close()
                failure = exc
                self.note(
                    f"FastAGI server {host}:{server_port} not reached ({exc.strerror or exc})"
                )
                continue
            self._conn = conn
            self.call.record.agi_servers.append((self.party, server_port))
            with contextlib.suppress(ConnectionError):
                await conn.send_raw(rest)  # res_agi.c setup_env: a failed write goes unnoticed
            return
        assert failure is not None
        raise failure

    async def serve(self) -> None:
        """Answer commands until the runtime closes the connection."""
        conn = self._conn
        if conn is None:
            raise RuntimeError("AgiLeg.serve() before connect()")
        while True:
            started = time.perf_counter()
            try:
                line = await conn.read_command()
            except TimeoutError:
                raise SimError(
                    f"{self.channel.name}: the runtime sent no AGI command for "
                    f"{conn.timeout:g} s; the simulated call was given up"
                ) from None
            except (EOFError, ConnectionError):
                return
            self.on_latency(time.perf_counter() - started)
            self.commands.append(line)
            try:
                await self._respond(line)
            except ConnectionError:
                return

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    async def _send(self, data: bytes) -> None:
        if self._conn is not None:
            await self._conn.send_raw(data)

    async def _respond(self, line: str) -> None:
        if not self.channel.alive() and not self._notified:
            await self._send_hangup_line()
        self._runtime_hung_up = False
        reply = await self.execute(line)
        await self._send(reply.encode() + b"\n")
        if (
            not self.channel.alive()
            and not self._notified
            and (self._runtime_hung_up or self.call.placement == "after-reply")
        ):
            await self._send_hangup_line()

    async def _send_hangup_line(self) -> None:
        self._notified = True
        await self._send(b"HANGUP\n")

    # -- dispatch -------------------------------------------------------------

    async def execute(self, line: str) -> str:
        """The reply (one or more lines, without the final newline) to one command line."""
        words = split_words(line)
        spec = find_command(words)
        command_id = self.call.env.next_command_id()
        await self.call.emit(events.agi_exec_start, self.channel, command_id, line)
        if spec is None:
            reply, code, result = UNKNOWN_REPLY, 510, "Invalid or unknown command"
        elif not self.channel.alive() and not spec.dead:
            reply, code, result = DEAD_REPLY, 511, "Command not permitted on a dead channel"
        else:
            args = words[len(spec.words) :]
            handler = self._handlers.get(spec.name)
            if len(args) < spec.min_args or (
                spec.max_args is not None and len(args) > spec.max_args
            ):
                reply, code, result = usage_reply(spec), 520, "Usage"
            elif handler is None:
                self.note(f"{spec.name} is not simulated; answered 510")
                reply, code, result = UNKNOWN_REPLY, 510, "Invalid or unknown command"
            else:
                reply, code, result = await handler(args), 200, "Success"
        await self.call.emit(events.agi_exec_end, self.channel, command_id, line, code, result)
        return reply

    # -- helpers --------------------------------------------------------------

    def note(self, text: str) -> None:
        prefix = "" if self.party == "caller" else f"[{self.party}] "
        self.call.note(prefix + text)

    def find(self, key: str) -> Channel | None:
        return self.call.env.find_channel(key)

    async def set_var(self, name: str, value: str, channel: Channel | None = None) -> None:
        target = channel or self.channel
        target.variables[name] = value
        await self.call.emit(events.varset, target, name, value)

    def _prompt_length(self, name: str) -> float:
        return self.call.env.prompt_length(name)

    async def _advance(self, outcome: Outcome | DigitsRead, start: float) -> None:
        """Move the clock to the outcome; tell AMI about the keys pressed meanwhile."""
        until = outcome.at
        used = outcome.press if isinstance(outcome, Outcome) else outcome.next_press - 1
        index = self.cursor
        while index < len(self.presses) and (self.presses[index].at < until or index <= used):
            press = self.presses[index]
            if press.at >= start:
                await self.call.emit(events.dtmf_begin, self.channel, press.digit)
                await self.call.emit(events.dtmf_end, self.channel, press.digit)
            index += 1
        self.cursor = index
        self.call.clock.advance_to(until)

    async def _far_hangup(self, at: float, step: str) -> None:
        self.channel.hang_up(CAUSE_NORMAL, at=at)
        await self.far_end_hung_up(at, step)

    async def _play(self, step: str, name: str, length: float, accept: str) -> Outcome:
        """Play ``length`` seconds; an accepted key or a hang-up may stop it."""
        start = self.call.now()
        hangup_at = self.far_hangup_at(step, name, start, length)
        outcome = first_event(
            start, start + length, self.presses, accept, hangup_at, first_press=self.cursor
        )
        if math.isinf(outcome.at):  # nobody ends an endless wait: the far end gives up
            outcome = Outcome("hangup", start + self.call.script.patience)
        await self._advance(outcome, start)
        if outcome.kind == "hangup":
            await self._far_hangup(outcome.at, step)
        return outcome

    # -- commands -------------------------------------------------------------

    async def _ok0(self, args: list[str]) -> str:
        return "200 result=0"

    async def _ok1(self, args: list[str]) -> str:
        return "200 result=1"

    async def _answer(self, args: list[str]) -> str:
        if self.channel.answer():
            await self.call.emit(events.newstate, self.channel)
            self.note("answered")
        return "200 result=0"

    async def _channel_status(self, args: list[str]) -> str:
        channel = self.find(args[0]) if args else self.channel
        if channel is None or not channel.alive():
            return "200 result=-1"
        return f"200 result={channel.state}"

    async def _get_variable(self, args: list[str]) -> str:
        value = lookup(self.channel, args[0], self.find, self.call.env.epoch)
        return "200 result=0" if value is None else f"200 result=1 ({value})"

    async def _get_full_variable(self, args: list[str]) -> str:
        channel = self.find(args[1]) if len(args) > 1 else self.channel
        if channel is None:
            return "200 result=0"
        value = substitute(channel, args[0], self.find, self.call.env.epoch)
        return f"200 result=1 ({value})"

    async def _set_variable(self, args: list[str]) -> str:
        name, value = args
        if name.endswith(")"):
            if not write_function(self.channel, name, value):
                self.note(f"SET VARIABLE {name}: function not simulated, ignored")
        else:
            await self.set_var(name, value)
        return "200 result=1"

    async def _set_callerid(self, args: list[str]) -> str:
        self.channel.callerid_num = args[0]
        return "200 result=1"

    async def _set_context(self, args: list[str]) -> str:
        self.channel.context = args[0]
        self.location_changed = True
        return "200 result=0"

    async def _set_extension(self, args: list[str]) -> str:
        self.channel.exten = args[0]
        self.location_changed = True
        return "200 result=0"

    async def _set_priority(self, args: list[str]) -> str:
        self.channel.priority = args[0]
        self.location_changed = True
        return "200 result=0"

    async def _hangup(self, args: list[str]) -> str:
        target = self.channel if not args else self.find(args[0])
        if target is None or not target.alive():
            return "200 result=-1" if args else "200 result=1"
        await self._hang_up_by_runtime(target)
        return "200 result=1"

    async def _hang_up_by_runtime(self, target: Channel) -> None:
        # AMI shows SoftHangupRequest Cause=32 at once; Hangup comes when the AGI ends
        await self.call.emit(events.soft_hangup_request, target, 32)
        target.hang_up(CAUSE_NORMAL)
        if target is self.channel:
            self._runtime_hung_up = True
            await self.runtime_hung_up()
        else:
            self.note(f"runtime hung up {target.name}")
            if target is self.call.caller:
                self.call.set_hung_up_by("runtime")

    async def _stream_file(self, args: list[str]) -> str:
        name, escape = args[0], args[1]
        offset = max(0, atoi(args[2])) if len(args) > 2 else 0
        self.played.append(name)
        length = max(0.0, self._prompt_length(name) - offset / 8000)
        start = self.call.now()
        outcome = await self._play("stream", name, length, escape)
        position = offset + endpos(outcome.at - start)
        if outcome.kind == "hangup":
            self.note(f"{self.party} hung up during {name}")
            return f"200 result=-1 endpos={position}"
        if outcome.kind == "digit":
            self.note(f"{name} stopped by key {outcome.digit}")
            return f"200 result={ord(outcome.digit)} endpos={position}"
        self.note(f"played {name} ({length:g} s)")
        return f"200 result=0 endpos={position}"

    async def _get_option(self, args: list[str]) -> str:
        name, escape = args[0], args[1]
        self.played.append(name)
        length = self._prompt_length(name)
        start = self.call.now()
        outcome = await self._play("stream", name, length, escape)
        position = endpos(outcome.at - start)
        if outcome.kind == "hangup":
            return f"200 result=-1 endpos={position}"
        if outcome.kind == "digit":
            return f"200 result={ord(outcome.digit)} endpos={position}"
        wait_ms = atoi(args[2]) if len(args) > 2 else 0
        wait = DEFAULT_OPTION_TIMEOUT if wait_ms == 0 else wait_ms / 1000
        waited = await self._play("wait", "", math.inf if wait < 0 else wait, ANY_DIGIT)
        # res_agi: a key outside the escape digits (or a hang-up: -1) becomes 0
        digit = waited.digit if waited.kind == "digit" and waited.digit in escape else ""
        return f"200 result={ord(digit) if digit else 0} endpos={position}"

    async def _wait_for_digit(self, args: list[str]) -> str:
        timeout_ms = atoi(args[0])
        length = math.inf if timeout_ms < 0 else timeout_ms / 1000
        outcome = await self._play("wait", "", length, ANY_DIGIT)
        if outcome.kind == "hangup":
            self.note(f"{self.party} hung up while waited on for a key")
            return "200 result=-1"
        if outcome.kind == "digit":
            self.note(f"{self.party} pressed {outcome.digit}")
            return f"200 result={ord(outcome.digit)}"
        self.note(f"no key from {self.party} within {length:g} s")
        return "200 result=0"

    async def _say(self, args: list[str]) -> str:
        text, escape = args[0], args[1]
        length = len(text) * self.call.env.say_seconds
        outcome = await self._play("say", text, length, escape)
        if outcome.kind == "hangup":
            return "200 result=-1"
        if outcome.kind == "digit":
            return f"200 result={ord(outcome.digit)}"
        self.note(f"said {len(text)} characters")
        return "200 result=0"

    async def _get_data(self, args: list[str]) -> str:
        prompts = [p for p in args[0].split("&") if p]
        self.played.extend(prompts)
        prompt = sum(self._prompt_length(p) for p in prompts)
        timeout_ms = atoi(args[1]) if len(args) > 1 else 0
        max_digits = atoi(args[2]) if len(args) > 2 else 1024
        if max_digits <= 0:
            max_digits = 1024
        if timeout_ms > 0:
            first = following = timeout_ms / 1000
        elif timeout_ms < 0:
            first = following = FOREVER
        else:
            first, following = DEFAULT_FIRST_DIGIT_TIMEOUT, DEFAULT_NEXT_DIGIT_TIMEOUT
        start = self.call.now()
        hangup_at = self.far_hangup_at("pin", args[0], start, prompt + first)
        self.prepare_digits(start, prompt, hangup_at is not None)
        read = read_digits(
            start,
            prompt,
            first,
            following,
            max_digits,
            self.presses,
            hangup_at,
            first_press=self.cursor,
        )
        await self._advance(read, start)
        if read.hung_up:
            await self._far_hangup(read.at, "pin")
            self.note(f"{self.party} hung up during GET DATA {args[0]}")
            return "200 result=-1"
        typed = f"{len(read.digits)} digit{'s' if len(read.digits) != 1 else ''}"
        if read.timed_out:
            self.note(f"GET DATA {args[0]}: {typed} typed, then timeout")
            return f"200 result={read.digits} (timeout)"
        self.note(f"GET DATA {args[0]}: {typed} typed")
        return f"200 result={read.digits}"

    # -- EXEC --------------------------------------------------------------------

    async def _exec(self, args: list[str]) -> str:
        app = args[0]
        data = args[1] if len(args) > 1 else ""
        if self.channel.variables.get("AGIEXECFULL", "").lower() in ("yes", "true", "1", "on"):
            data = substitute(self.channel, data, self.find, self.call.env.epoch)
        handled = await self.run_app(app, data)
        if handled is not None:
            return handled
        return f"200 result={await self._builtin_app(app, data)}"

    async def _builtin_app(self, app: str, data: str) -> int:
        name = app.lower()
        if name in ("noop", "verbose", "log", "progress", "ringing"):
            return 0
        if name in ("startmusiconhold", "stopmusiconhold"):
            return 0
        if name == "set":
            variable, _, value = data.partition("=")
            if variable.endswith(")"):
                write_function(self.channel, variable, value)
            else:
                await self.set_var(variable, value)
            return 0
        if name == "answer":
            await self._answer([])
            return 0
        if name == "hangup":
            if self.channel.alive():
                await self._hang_up_by_runtime(self.channel)
            return -1
        if name == "goto":
            self._goto(data)
            return 0
        if not self.channel.alive():
            return -1
        if name == "playback":
            for prompt in (p for p in data.split(",")[0].split("&") if p):
                self.played.append(prompt)
                outcome = await self._play("stream", prompt, self._prompt_length(prompt), "")
                if outcome.kind == "hangup":
                    return -1
                self.note(f"played {prompt}")
            await self.set_var("PLAYBACKSTATUS", "SUCCESS")
            return 0
        if name in ("wait", "musiconhold"):
            seconds_text = data.split(",")[-1] if name == "musiconhold" else data
            try:
                seconds = float(seconds_text) if seconds_text.strip() else math.inf
            except ValueError:
                seconds = 0.0
            outcome = await self._play("wait", "", seconds, "")
            return -1 if outcome.kind == "hangup" else 0
        if name in ("saydigits", "saynumber"):
            outcome = await self._play("say", data, len(data) * self.call.env.say_seconds, "")
            return -1 if outcome.kind == "hangup" else 0
        if name == "voicemail":
            self.note(f"voicemail box {data.split(',')[0]} takes a message")
            outcome = await self._play("wait", "", self.call.env.voicemail_seconds, "")
            await self.set_var("VMSTATUS", "SUCCESS")
            return -1 if outcome.kind == "hangup" else 0
        self.note(f"EXEC {app}: no such application (result -2)")
        return -2

    def _goto(self, data: str) -> None:
        parts = [p.strip() for p in data.split(",")]
        if len(parts) == 1:
            self.channel.priority = parts[0]
        elif len(parts) == 2:
            self.channel.exten, self.channel.priority = parts
        else:
            self.channel.context, self.channel.exten, self.channel.priority = parts[-3:]
        self.location_changed = True
