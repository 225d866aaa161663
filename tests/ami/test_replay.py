"""Recorded Asterisk 22 AMI bytes against our formatter, the client's parser and the simulator.

* Every recorded server message, re-formatted by :func:`format_message`, is the
  recorded bytes again (header order, CRLF, ``Value: `` trailing space).
* The client's panoramisk-based protocol, fed the recorded chunks with their
  real boundaries (one Getvar reply arrives in two reads, docs/asterisk/facts.md, fact 23), matches
  every reply to its action and dispatches every event.
* The simulator answers the recorded requests with the recorded bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from panoramisk import actions as pk_actions

from hotline.ami.panoramisk_glue import Utf8Protocol
from hotline.ami.wire import Headers, MessageReader, format_message, header
from hotline.sim.ami_server import AmiServer
from tests.ami.recorded import RECORDINGS, recorded_chunks, server_sessions

PROBE = RECORDINGS / "01_probe_and_hotline100_agent201_pin1234.log"
EDGES = RECORDINGS / "16_ami_edge_cases.log"
BANNER = b"Asterisk Call Manager/11.0.0\r\n"


def test_log_chunks_are_the_raw_recording() -> None:
    raw = (RECORDINGS / "01_probe_and_hotline100_agent201_pin1234.raw").read_bytes()
    joined = b"".join(f"{d} ".encode() + chunk for d, chunk in recorded_chunks(PROBE))
    assert joined == raw


@pytest.mark.parametrize("path", [PROBE, EDGES], ids=["01", "16"])
def test_recorded_server_bytes_reformat_identically(path: Any) -> None:
    for chunks in server_sessions(path):
        assert chunks[0] == BANNER
        reader = MessageReader(banner=True)
        messages: list[Headers] = []
        for chunk in chunks:
            messages += reader.feed(chunk)
        assert reader.banner == "Asterisk Call Manager/11.0.0"
        assert b"".join(format_message(m) for m in messages) == b"".join(chunks)[len(BANNER) :]


class _Sink:
    """Transport and manager stand-ins: the protocol writes nowhere, events are collected."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.save_stream = None
        self.forgetable_actions = ("ping", "login")
        self.awaiting_actions: list[Any] = []

    def write(self, _data: bytes) -> None:
        return None

    def close(self) -> None:
        return None

    def dispatch(self, event: Any) -> None:
        self.events.append(event)


def client_protocol() -> tuple[Utf8Protocol, _Sink]:
    sink = _Sink()
    protocol = Utf8Protocol()
    protocol.connection_made(cast(asyncio.BaseTransport, sink))
    protocol.factory = sink
    protocol.encoding = "utf8"
    return protocol, sink


def recorded_requests(path: Any) -> list[Headers]:
    reader = MessageReader()
    requests: list[Headers] = []
    for direction, chunk in recorded_chunks(path):
        if direction == ">>>":
            requests += reader.feed(chunk)
    return requests


@pytest.mark.parametrize("path", [PROBE, EDGES], ids=["01", "16"])
async def test_client_parser_matches_every_recorded_reply(path: Any) -> None:
    protocol, sink = client_protocol()
    sent: dict[str, Any] = {}
    for request in recorded_requests(path):
        payload: dict[str, Any] = {}
        for key, value in request:
            payload.setdefault(key, []).append(value)
        flat = {k: v[0] if len(v) == 1 else v for k, v in payload.items()}
        klass = pk_actions.Command if header(request, "Action") == "Command" else pk_actions.Action
        action = klass(flat)
        protocol.send(action, as_list=None)
        sent[header(request, "ActionID")] = action
    for direction, chunk in recorded_chunks(path):
        if direction == "<<<":
            protocol.data_received(chunk)
    answered = {aid: a.future.result() for aid, a in sent.items() if a.future.done()}
    # every action got its reply, lists and async Originates included
    assert set(answered) == set(sent)
    if path is EDGES:
        split = answered["x-2"]  # the Getvar reply that came in two TCP reads
        assert split["Value"] == "1795305869.54"
        assert answered["pre-1"]["Message"] == "Permission denied"
        assert answered["bad-1"]["Message"] == "Authentication failed"
        queued, originate_response = answered["x-5"]
        assert queued["Message"] == "Originate successfully queued"
        assert originate_response["Reason"] == "0"
        assert originate_response["Uniqueid"] == "<unknown>"
    else:
        assert answered["lab-3"]["AsteriskVersion"] == "22.10.1"
        output = answered["lab-8"]["Output"]
        assert "  Entity ID:                   02:fc:00:00:00:01" in output
        assert "Value" not in answered["lab-5"]  # "Value: " is lost by panoramisk's strip()
    assert sink.events  # unsolicited events were dispatched, not swallowed
    assert all("Event" in e for e in sink.events)


def test_utf8_split_across_reads_is_kept() -> None:
    protocol, sink = client_protocol()
    data = format_message(
        [("Event", "Newchannel"), ("Channel", "PJSIP/a-1"), ("CallerIDName", "Jürgen")]
    )
    cut = data.index("ü".encode()) + 1  # between the two bytes of ü
    protocol.data_received(data[:cut])
    protocol.data_received(data[cut:])
    assert sink.events[0]["CallerIDName"] == "Jürgen"


class RawAmi:
    """A bare AMI client socket for byte-level comparisons."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.parser = MessageReader()  # the banner is read with banner()
        self.pending: list[Headers] = []

    async def banner(self) -> bytes:
        return await self.reader.readline()

    async def message(self) -> Headers:
        while not self.pending:
            data = await asyncio.wait_for(self.reader.read(65536), 5)
            if not data:
                raise EOFError
            self.pending += self.parser.feed(data)
        return self.pending.pop(0)

    async def ask(self, request: bytes) -> Headers:
        self.writer.write(request)
        await self.writer.drain()
        return await self.message()


@pytest.fixture
async def raw(sim: AmiServer) -> AsyncIterator[RawAmi]:
    reader, writer = await asyncio.open_connection(sim.host, sim.port)
    try:
        yield RawAmi(reader, writer)
    finally:
        writer.close()


def exchanges(path: Any) -> dict[str, tuple[bytes, bytes]]:
    """ActionID -> (request bytes, first reply bytes) from a recording."""
    requests = recorded_requests(path)
    replies: dict[str, bytes] = {}
    for chunks in server_sessions(path):
        reader = MessageReader(banner=True)
        for chunk in chunks:
            for message in reader.feed(chunk):
                aid = header(message, "ActionID")
                if aid and header(message, "Response") and aid not in replies:
                    replies[aid] = format_message(message)
    return {
        header(r, "ActionID"): (format_message(r), replies[header(r, "ActionID")])
        for r in requests
        if header(r, "ActionID") in replies
    }


async def test_simulator_answers_with_recorded_bytes(sim: AmiServer, raw: RawAmi) -> None:
    probe, edges = exchanges(PROBE), exchanges(EDGES)
    assert await raw.banner() == BANNER
    for aid in ("pre-1", "pre-2"):  # before login
        request, reply = edges[aid]
        assert format_message(await raw.ask(request)) == reply
    request, reply = probe["lab-1"]
    assert format_message(await raw.ask(request)) == reply
    booted = await raw.message()
    assert [k for k, _ in booted] == ["Event", "Privilege", "Uptime", "LastReload", "Status"]
    auth = await raw.message()
    assert header(auth, "Event") == "SuccessfulAuth"
    for aid in ("lab-3", "lab-5", "lab-7", "lab-9"):  # CoreSettings, Getvar x2, core show version
        request, reply = probe[aid]
        assert format_message(await raw.ask(request)) == reply, aid
    for aid in ("x-1", "x-8"):  # unknown action, Originate without Channel
        request, reply = edges[aid]
        assert format_message(await raw.ask(request)) == reply, aid

    request, reply = probe["lab-8"]  # core show settings: all but the clock lines
    got = format_message(await raw.ask(request)).split(b"\r\n")
    want = reply.split(b"\r\n")
    clock = (b"Startup time", b"Last reload time")
    assert [x for x in got if not any(c in x for c in clock)] == [
        x for x in want if not any(c in x for c in clock)
    ]

    request, reply = edges["x-5"]  # Originate into a context that does not exist
    assert format_message(await raw.ask(request)) == reply
    originate_response = await raw.message()
    recorded = [
        m
        for chunks in server_sessions(EDGES)
        for m in _messages(chunks)
        if header(m, "Event") == "OriginateResponse" and header(m, "ActionID") == "x-5"
    ]
    assert format_message(originate_response) == format_message(recorded[0])

    request, reply = edges["x-9"]  # Logoff, then the server closes
    assert format_message(await raw.ask(request)) == reply
    with pytest.raises(EOFError):
        await raw.message()


def _messages(chunks: list[bytes]) -> list[Headers]:
    reader = MessageReader(banner=True)
    out: list[Headers] = []
    for chunk in chunks:
        out += reader.feed(chunk)
    return out


async def test_simulator_wrong_secret_is_recorded_reply_then_close(
    sim: AmiServer, raw: RawAmi
) -> None:
    request, reply = exchanges(EDGES)["bad-1"]
    await raw.banner()
    assert format_message(await raw.ask(request)) == reply
    with pytest.raises(EOFError):
        await raw.message()
