"""Broken and hostile FastAGI peers: a seeded fuzzer and slow or stuck clients.

Test doubles for what a real Asterisk never does but a port scanner, a
broken proxy or an attacker might: half headers, garbage, malformed and
unsolicited replies, silence after a valid header, a socket held open while
bytes trickle in.  The fuzzer checks one promise of the runtime: **every
session ends** — when a peer stops answering, the runtime closes the
connection within its deadline, never leaving it open for ever.

Everything is reproducible from a seed: session ``n`` of a run with seed
``s`` always behaves the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import wave
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotline.agi.testing import build_header
from hotline.contract import CONFIRM_ROUTE
from hotline.prompts.catalogue import LANGUAGES, SLOTS

#: how a fuzz session ended
RUNTIME_CLOSED = "runtime_closed"  # the runtime closed the connection: the good end
PEER_CLOSED = "peer_closed"  # the fuzzer closed first
HUNG = "hung"  # the runtime neither spoke nor closed within the patience: a bug

#: seconds a fuzz session waits for the runtime before it counts as hung: more than any
#: deadline :func:`fuzz_config` allows (SAY DIGITS of the 35 digits a forged confirm leg
#: may announce is the longest, ~35 s)
FUZZ_PATIENCE = 90.0

#: replies that look like AGI but are not (``200 result=1234x (y) z``: issue 12)
MALFORMED = (
    "200 result=1234x (y) z",
    "200 result=1 (timeout) z",
    "200",
    "200 result",
    "200 endpos=5",
    "200 result=1 (abc",
    "201 result=0",
    "2000 result=0",
    "200 result=0 endpos=12 (x)",
    "999",
    "",
)


#: where the fuzz calls, weighted: mostly the flows of :func:`fuzz_config`, now and then nowhere
FUZZ_ROUTES = ("hotline/fuzz",) * 5 + ("hotline/plain",) * 2 + ("confirm",) * 2 + ("nope", "")


def fuzz_config(sounds_dir: Path) -> dict[str, Any]:
    """A runtime configuration for fuzzing: two hotlines (one with PIN, caller announce and
    fallback), short timeouts, prompts from ``sounds_dir`` (:func:`write_short_prompts`)."""
    return {
        "asterisk": {"sounds_dir": str(sounds_dir), "enabled": False},
        "agi": {"header_timeout": 0.3, "command_timeout": 0.3},
        "hotlines": [
            {
                "name": "fuzz",
                "pin": "1234",
                "pin_attempts": 2,
                "pin_timeout": 0.1,
                "ring_time": 1,
                "confirm": {"timeout": 0.1, "replays": 1, "announce_caller": True},
                "fallback": {"context": "fallback"},
                "targets": [{"number": "201"}, {"number": "202"}],
            },
            {"name": "plain", "ring_time": 1, "targets": [{"number": "301"}]},
        ],
    }


def write_short_prompts(root: Path, seconds: float = 0.02) -> Path:
    """A sounds directory with every default prompt as ``seconds`` of silence.

    Deadlines derive from prompt lengths, so a runtime pointed here (its
    ``asterisk.sounds_dir``) gives up on a silent peer in fractions of a second.
    """
    frames = b"\0\0" * max(1, round(8000 * seconds))
    for language in LANGUAGES:
        (root / language).mkdir(parents=True, exist_ok=True)
        for slot in SLOTS:
            with wave.open(str(root / language / f"{slot.name}.wav"), "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(8000)
                wav.writeframes(frames)
    return root


def plausible_reply(command: str, rng: random.Random) -> str:
    """A reply Asterisk could give to ``command``; one in twenty says the channel hung up."""
    name = command.upper()
    if rng.random() < 0.05:
        return rng.choice(["200 result=-1", "511 Command Not Permitted on a dead channel"])
    if name.startswith(("ANSWER", "HANGUP", "SET VARIABLE", "VERBOSE")):
        return rng.choice(["200 result=1", "200 result=0"])
    if name.startswith("STREAM FILE"):
        return rng.choice(["200 result=0 endpos=1600", "200 result=49 endpos=800"])
    if name.startswith("GET DATA"):
        # the PIN the fuzz hotline has, the confirm digit, a wrong key, nothing
        return rng.choice(
            ["200 result=1234"] * 3 + ["200 result=1"] * 2 + ["200 result= (timeout)"]
        )
    if name.startswith(("GET FULL VARIABLE", "GET VARIABLE")):
        return rng.choice(
            [
                "200 result=1 (1)",
                "200 result=1 (ANSWER|ACCEPTED|16)",
                "200 result=1 (NOANSWER||19)",
                "200 result=1 (CANCEL||16)",
                "200 result=0",
            ]
        )
    if name.startswith("EXEC"):
        return rng.choice(["200 result=0", "200 result=-1", "200 result=0"])
    return rng.choice(["200 result=0", "200 result=1"])


def _garbage(rng: random.Random, size: int) -> bytes:
    return bytes(rng.randrange(256) for _ in range(size))


def _header(rng: random.Random, index: int, routes: Sequence[str]) -> bytes:
    """A header Asterisk could send, with odd values now and then."""
    route = rng.choice(routes)
    callerid = rng.choice(["5550001", "+4930123456", "", "anonymous", "1;2", "0" * 40])
    args: list[str] = []
    if route == CONFIRM_ROUTE:
        args = [
            rng.choice([f"9{index}.{index}", "x", "", "1.0,60,G(x)"]),
            rng.choice(["fuzz", "plain", "nope"]),
            rng.choice(["201", "202", "", "2 01"]),
            rng.choice(["5550001", "", "12345678901234567890123456789012345"]),
        ][: rng.randrange(5)]
    header = build_header(route, uniqueid=f"{index}.{index % 97}", callerid=callerid, args=args)
    if rng.random() < 0.05:
        lines = header.split(b"\n")
        lines.insert(rng.randrange(1, len(lines) - 1), rng.choice([b"junk", b"k:\xff\xfe"]))
        header = b"\n".join(lines)
    return header


@dataclass
class FuzzReport:
    """What a fuzz run found."""

    sessions: int = 0
    ended: Counter[str] = field(default_factory=Counter)
    commands: int = 0
    #: the seeds of sessions that hung (rerun one with :func:`fuzz_session`)
    hung_sessions: list[int] = field(default_factory=list)

    @property
    def hung(self) -> int:
        return self.ended[HUNG]


async def fuzz_session(
    host: str, port: int, seed: int, *, routes: Sequence[str], patience: float
) -> tuple[str, int]:
    """One hostile session; ``(how it ended, commands the runtime sent)``.

    ``patience``: how long the runtime may take to send the next command or
    close once the fuzzer has done its part; longer counts as :data:`HUNG`.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible fuzz, not cryptography
    #: the share of commands answered with something odd (deep sessions and short ones)
    hostility = rng.choice((0.02, 0.05, 0.1, 0.3, 1.0))
    reader, writer = await asyncio.open_connection(host, port)
    commands = 0
    try:
        kind = rng.random()
        if kind < 0.02:
            return PEER_CLOSED, 0  # a port probe
        if kind < 0.05:
            writer.write(_garbage(rng, rng.randrange(1, 300)))
        elif kind < 0.09:
            whole = _header(rng, seed, routes)
            writer.write(whole[: rng.randrange(1, len(whole) - 1)])  # and then silence
        else:
            writer.write(_header(rng, seed, routes))
        await writer.drain()
        while True:
            try:
                async with asyncio.timeout(patience):
                    line = await reader.readline()
            except TimeoutError:
                return HUNG, commands
            if not line.endswith(b"\n"):
                return RUNTIME_CLOSED, commands
            commands += 1
            if commands > 80 or rng.random() < 0.01:
                return PEER_CLOSED, commands
            command = line.decode(errors="replace").rstrip("\n")
            if not await _answer(writer, command, rng, hostility):
                # silent from here on: the runtime must close within its deadline
                try:
                    async with asyncio.timeout(patience):
                        while await reader.readline():
                            pass
                except TimeoutError:
                    return HUNG, commands
                return RUNTIME_CLOSED, commands
    except (ConnectionError, OSError):
        return RUNTIME_CLOSED, commands
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()


async def _answer(
    writer: asyncio.StreamWriter, command: str, rng: random.Random, hostility: float
) -> bool:
    """Answer one command, plausibly unless ``hostility`` says otherwise; False when the
    fuzzer goes silent instead."""
    roll = 0.0 if rng.random() >= hostility else 0.70 + 0.30 * rng.random()
    lines: list[bytes]
    if roll < 0.70:
        lines = [plausible_reply(command, rng).encode()]
    elif roll < 0.74:
        lines = [b"100 result=0 Trying...", plausible_reply(command, rng).encode()]
    elif roll < 0.78:
        lines = [b"HANGUP", rng.choice([b"511 Command Not Permitted", b"200 result=-1"])]
    elif roll < 0.82:
        lines = [rng.choice(MALFORMED).encode()]
    elif roll < 0.85:
        lines = [_garbage(rng, rng.randrange(1, 200)).replace(b"\n", b"")]
    elif roll < 0.87:
        lines = [b"520-Invalid command syntax.  Proper usage follows:", b" Usage: X"]
        if rng.random() < 0.5:
            lines.append(b"520 End of proper usage.")
    elif roll < 0.89:
        lines = [rng.choice([b"510 Invalid or unknown command", b"520 Invalid syntax."])]
    elif roll < 0.91:
        lines = [plausible_reply(command, rng).encode(), b"200 result=0"]  # one too many
    elif roll < 0.92:
        lines = [b"200 result=1 (" + b"x" * rng.randrange(8000, 20000)]
    elif roll < 0.95:
        writer.write(plausible_reply(command, rng).encode()[: rng.randrange(1, 8)])
        await writer.drain()
        return False  # half a line, then nothing
    else:
        return False
    writer.write(b"".join(line + b"\n" for line in lines))
    await writer.drain()
    return True


async def run_fuzz(
    host: str,
    port: int,
    *,
    sessions: int,
    seed: int,
    routes: Sequence[str],
    concurrency: int = 100,
    patience: float = FUZZ_PATIENCE,
) -> FuzzReport:
    """``sessions`` fuzz sessions, at most ``concurrency`` at once."""
    report = FuzzReport()
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> None:
        session_seed = seed * 1_000_003 + index
        async with gate:
            ended, commands = await fuzz_session(
                host, port, session_seed, routes=routes, patience=patience
            )
        report.sessions += 1
        report.ended[ended] += 1
        report.commands += commands
        if ended == HUNG:
            report.hung_sessions.append(session_seed)

    await asyncio.gather(*(one(index) for index in range(sessions)))
    return report


# -- slow and stuck peers (load, not fuzz) ----------------------------------------------


async def slowloris(
    host: str, port: int, stop: asyncio.Event, *, every: float = 1.0, reconnect: bool = True
) -> int:
    """Trickle a header one byte per ``every`` seconds, never finishing it; when dropped,
    ``reconnect`` (until ``stop``).  Returns how often the runtime dropped it."""
    header = build_header("hotline")
    drops = 0
    while not stop.is_set() and (reconnect or not drops):
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            await _pause(stop, every)
            continue
        try:
            for byte in header[:-2]:
                if stop.is_set():
                    break
                writer.write(bytes([byte]))
                await writer.drain()
                await _pause(stop, every)
        except (ConnectionError, OSError):
            drops += 1
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
    return drops


async def stuck(
    host: str, port: int, stop: asyncio.Event, *, route: str = "hotline", reconnect: bool = True
) -> int:
    """Send a valid header, then never answer; when dropped, ``reconnect`` (until ``stop``).
    Returns how often the runtime dropped it."""
    drops = 0
    while not stop.is_set() and (reconnect or not drops):
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            await _pause(stop, 1.0)
            continue
        try:
            writer.write(build_header(route))
            await writer.drain()
            closed = asyncio.ensure_future(_drain_until_eof(reader))
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait([closed, stopping], return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if closed.done():
                drops += 1
            else:
                closed.cancel()
        except (ConnectionError, OSError):
            drops += 1
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
    return drops


async def _drain_until_eof(reader: asyncio.StreamReader) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while await reader.read(4096):
            pass


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stop.wait()
