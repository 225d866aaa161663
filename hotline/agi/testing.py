"""A scripted Asterisk for tests and the PBX simulator (like aiosmtpd's test helpers).

:class:`FakeAsterisk` opens a FastAGI connection to a runtime and speaks
exactly as Asterisk 22.10.1 does in the recordings: the same header lines in
the same order, ``\\n`` line ends, a blank line to end the header, an empty
value written as ``key: \\n``, and the bare out-of-band ``HANGUP\\n`` line.
The script (a test, the simulator) decides every reply::

    async with FakeAsterisk(server.port) as pbx:
        await pbx.send_header(script="hotline/support", args=["x"])
        assert await pbx.read_command() == "ANSWER"
        await pbx.reply("200 result=0")
"""

# read_command()/wait_closed() take ``timeout=`` (ASYNC109) so a test reads as one line.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import TracebackType

from hotline.agi.stream import DEFAULT_MAX_LINE, AgiStream

#: Header of recording 01 (``agi/01_…__001_hotline_1795305542.0.rx``), byte for byte.
RECORDING_01_HEADER = (
    b"agi_network: yes\n"
    b"agi_network_script: hotline\n"
    b"agi_request: agi://127.0.0.1:4573/hotline\n"
    b"agi_channel: Local/s@sim-caller-00000000;1\n"
    b"agi_language: en\n"
    b"agi_type: Local\n"
    b"agi_uniqueid: 1795305542.0\n"
    b"agi_version: 22.10.1\n"
    b"agi_callerid: 5550001\n"
    b"agi_calleridname: Lab Caller\n"
    b"agi_callingpres: 0\n"
    b"agi_callingani2: 0\n"
    b"agi_callington: 0\n"
    b"agi_callingtns: 0\n"
    b"agi_dnid: unknown\n"
    b"agi_rdnis: unknown\n"
    b"agi_context: hotline-in\n"
    b"agi_extension: 100\n"
    b"agi_priority: 2\n"
    b"agi_enhanced: 0.0\n"
    b"agi_accountcode: \n"
    b"agi_threadid: 139725530019520\n"
    b"\n"
)

HANGUP_LINE = b"HANGUP\n"
DEAD_CHANNEL_REPLY = "511 Command Not Permitted on a dead channel or intercept routine"


def build_header(
    script: str | None = "hotline",
    *,
    uniqueid: str = "1795305542.0",
    callerid: str = "5550001",
    calleridname: str = "Lab Caller",
    channel: str = "Local/s@sim-caller-00000000;1",
    context: str = "hotline-in",
    extension: str = "100",
    priority: str = "2",
    language: str = "en",
    request: str | None = None,
    args: Iterable[str] = (),
    extra_env: Mapping[str, str] | None = None,
) -> bytes:
    """The AGI header bytes Asterisk 22 would send (order as in ``setup_env``).

    ``extra_env`` replaces a standard key in place or adds keys after
    ``agi_threadid``; ``script=None`` or ``""`` omits ``agi_network_script``
    as Asterisk does for ``agi://host`` without a path.
    """
    env: dict[str, str] = {"agi_network": "yes"}
    if script:
        env["agi_network_script"] = script
    env.update(
        {
            "agi_request": request or f"agi://127.0.0.1:4573/{script or ''}",
            "agi_channel": channel,
            "agi_language": language,
            "agi_type": channel.partition("/")[0],
            "agi_uniqueid": uniqueid,
            "agi_version": "22.10.1",
            "agi_callerid": callerid,
            "agi_calleridname": calleridname,
            "agi_callingpres": "0",
            "agi_callingani2": "0",
            "agi_callington": "0",
            "agi_callingtns": "0",
            "agi_dnid": "unknown",
            "agi_rdnis": "unknown",
            "agi_context": context,
            "agi_extension": extension,
            "agi_priority": priority,
            "agi_enhanced": "0.0",
            "agi_accountcode": "",
            "agi_threadid": "139725530019520",
        }
    )
    env.update(extra_env or {})
    for number, value in enumerate(args, start=1):
        env[f"agi_arg_{number}"] = value
    return "".join(f"{key}: {value}\n" for key, value in env.items()).encode() + b"\n"


class FakeAsterisk:
    """One FastAGI connection, played from the Asterisk side."""

    def __init__(self, port: int, host: str = "127.0.0.1", *, timeout: float = 5.0) -> None:
        self.host = host
        self.port = port
        #: default seconds to wait in :meth:`read_command` / :meth:`wait_closed`
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def connect(self) -> FakeAsterisk:
        """Open the TCP connection (done by ``async with`` too)."""
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self

    @property
    def _streams(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            raise RuntimeError("FakeAsterisk is not connected; call connect() first")
        return self._reader, self._writer

    async def send_raw(self, data: bytes) -> None:
        """Send bytes exactly as given."""
        _, writer = self._streams
        writer.write(data)
        await writer.drain()

    async def send_header(
        self,
        script: str | None = "hotline",
        *,
        args: Iterable[str] = (),
        extra_env: Mapping[str, str] | None = None,
        **fields: str,
    ) -> None:
        """Send the AGI header; keyword arguments as for :func:`build_header`."""
        await self.send_raw(build_header(script, args=args, extra_env=extra_env, **fields))

    async def read_command(self, timeout: float | None = None) -> str:
        """The next command line from the runtime, without its newline.

        Raises ``TimeoutError`` when none comes in time and ``EOFError`` when
        the runtime closed the connection instead.
        """
        reader, _ = self._streams
        limit = self.timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                line = await reader.readline()
        except TimeoutError:
            raise TimeoutError(f"no AGI command from the runtime within {limit}s") from None
        if not line.endswith(b"\n"):
            raise EOFError(f"runtime closed the connection (partial line {line!r})")
        return line[:-1].decode("utf-8", errors="replace")

    async def reply(self, line: str) -> None:
        """Send one reply line (``"200 result=0"``); the newline is added."""
        await self.send_raw(line.encode() + b"\n")

    async def expect(self, command: str, *replies: str) -> None:
        """Read a command, check it is ``command``, then send ``replies`` (lines)."""
        got = await self.read_command()
        if got != command:
            raise AssertionError(f"expected AGI command {command!r}, got {got!r}")
        for line in replies:
            await self.reply(line)

    async def answer_until_closed(self, answer: Callable[[str], str]) -> list[str]:
        """Reply ``answer(command)`` to every command until the runtime closes the
        connection; the commands it sent, in order."""
        commands: list[str] = []
        while True:
            try:
                command = await self.read_command()
            except EOFError:
                return commands
            commands.append(command)
            await self.reply(answer(command))

    async def send_hangup(self) -> None:
        """Send Asterisk's out-of-band ``HANGUP`` notification line."""
        await self.send_raw(HANGUP_LINE)

    async def send_eof(self) -> None:
        """Close our sending side only (the runtime sees end of stream; we can still read)."""
        _, writer = self._streams
        if writer.can_write_eof():
            writer.write_eof()
        await writer.drain()

    async def wait_closed(self, timeout: float | None = None) -> list[str]:
        """Wait until the runtime closes the socket; returns lines it sent meanwhile."""
        reader, _ = self._streams
        limit = self.timeout if timeout is None else timeout
        lines: list[str] = []
        try:
            async with asyncio.timeout(limit):
                while line := await reader.readline():
                    lines.append(line.decode("utf-8", errors="replace").rstrip("\n"))
        except TimeoutError:
            raise TimeoutError(f"runtime did not close the connection within {limit}s") from None
        except ConnectionError:
            pass
        return lines

    async def close(self) -> None:
        """Close our side (as Asterisk does when the channel goes away); idempotent."""
        writer, self._writer = self._writer, None
        if writer is None:
            return
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()

    async def __aenter__(self) -> FakeAsterisk:
        return await self.connect()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def start_stream_server(
    connected: Callable[[AgiStream], Awaitable[None]],
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    max_line: int = DEFAULT_MAX_LINE,
) -> asyncio.Server:
    """A listener whose every connection is an :class:`AgiStream` handed to ``connected``
    (in a task of its own, as ``asyncio.start_server`` does with its streams): for tests
    and benchmarks of :class:`~hotline.agi.session.AgiSession` without the server."""
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()

    async def serve(stream: AgiStream) -> None:
        await connected(stream)

    def accept() -> AgiStream:
        stream = AgiStream(max_line)
        task = loop.create_task(serve(stream))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return stream

    return await loop.create_server(accept, host, port)


def awaiting(task: asyncio.Task[object]) -> list[str]:
    """The coroutines a suspended task resumes through, outermost first (qualified names).

    Each is a level every command of a call pays for when it is resumed; tests
    hold the runtime's chains to what benchmarks/RESULTS.md measured (issue 19).
    """
    names = []
    coroutine: object = task.get_coro()
    while inspect.iscoroutine(coroutine):
        names.append(coroutine.cr_code.co_qualname)
        coroutine = coroutine.cr_await
    return names
