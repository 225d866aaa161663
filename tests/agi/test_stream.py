"""AgiStream over a real loopback socket: lines come out in the order they came in, however
the bytes were cut, including a reply that arrived alone (kept without the buffer)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hotline.agi.errors import AgiProtocolError
from hotline.agi.stream import MAX_HEADER_LINES, AgiStream, read_header_lines


class NotingStream(AgiStream):
    """Counts each arrival, so the test sends the next piece only once this one is in."""

    def __init__(self, max_line: int) -> None:
        super().__init__(max_line)
        self.arrivals = 0
        self.arrived = asyncio.Event()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self.arrivals += 1
        self.arrived.set()

    async def arrival(self) -> None:
        await asyncio.wait_for(self.arrived.wait(), 5)
        self.arrived.clear()


Pair = tuple[NotingStream, asyncio.StreamWriter]


async def _pair(max_line: int = 64) -> AsyncIterator[Pair]:
    accepted: asyncio.Queue[NotingStream] = asyncio.Queue()

    def build() -> NotingStream:
        stream = NotingStream(max_line)
        accepted.put_nowait(stream)
        return stream

    server = await asyncio.get_running_loop().create_server(build, "127.0.0.1", 0)
    _, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
    stream = await asyncio.wait_for(accepted.get(), 5)
    try:
        yield stream, writer
    finally:
        writer.close()
        stream.close()
        server.close()
        await server.wait_closed()


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    async for made in _pair():
        yield made


@pytest.fixture
async def short_pair() -> AsyncIterator[Pair]:
    async for made in _pair(max_line=16):
        yield made


async def _send(writer: asyncio.StreamWriter, stream: NotingStream, data: bytes) -> None:
    writer.write(data)
    await writer.drain()
    await stream.arrival()


async def test_a_reply_that_came_alone_stays_first_when_more_arrives(pair: Pair) -> None:
    stream, writer = pair
    await _send(writer, stream, b"200 result=0\n")
    assert stream.buffered
    await _send(writer, stream, b"HANGUP\r\n")  # alone too: it must queue behind the first
    await _send(writer, stream, b"200 res")
    await _send(writer, stream, b"ult=1 (timeout)\n200 result=")
    await _send(writer, stream, b"-1\n")
    assert stream.arrivals == 5
    assert [await stream.readline() for _ in range(4)] == [
        b"200 result=0",
        b"HANGUP\r",
        b"200 result=1 (timeout)",
        b"200 result=-1",
    ]
    assert not stream.buffered


async def test_a_reply_that_came_alone_then_the_end_of_the_stream(pair: Pair) -> None:
    stream, writer = pair
    await _send(writer, stream, b"200 result=1 (1)\n")
    writer.close()
    assert await stream.readline() == b"200 result=1 (1)"
    assert await stream.readline() is None
    assert stream.ended
    assert await stream.readline() is None  # and stays there


async def test_pop_line_takes_a_lone_reply_without_waiting(pair: Pair) -> None:
    stream, writer = pair
    assert stream.pop_line() is None
    await _send(writer, stream, b"HANGUP\n")
    assert stream.pop_line() == b"HANGUP"
    assert stream.pop_line() is None


async def test_a_lone_line_longer_than_allowed_is_refused(short_pair: Pair) -> None:
    stream, writer = short_pair
    await _send(writer, stream, b"200 result=" + b"9" * 20 + b"\n")
    with pytest.raises(AgiProtocolError, match="longer than 16 bytes"):
        await stream.readline()
    assert stream.ended


_HEADER = b"agi_network: yes\r\nagi_request: agi://h/x\r\nagi_callerid: \xff01\r\n\r\n"


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
async def test_a_header_in_one_piece_is_taken_whole_and_what_follows_stays(
    pair: Pair, newline: bytes
) -> None:
    stream, writer = pair
    header = _HEADER.replace(b"\r\n", newline)
    await _send(writer, stream, header + b"200 result=0\n")
    # one piece: taken at once, decoded as line by line would (the invalid byte replaced)
    assert stream.pop_header() == [
        "agi_network: yes",
        "agi_request: agi://h/x",
        "agi_callerid: \ufffd01",
    ]
    assert await stream.readline() == b"200 result=0"


async def test_a_header_in_pieces_is_read_line_by_line_to_the_same_lines(pair: Pair) -> None:
    stream, writer = pair
    await _send(writer, stream, _HEADER[:30])
    assert stream.pop_header() is None  # not all here: nothing taken
    reading = asyncio.create_task(read_header_lines(stream))
    await _send(writer, stream, _HEADER[30:])
    assert await reading == ["agi_network: yes", "agi_request: agi://h/x", "agi_callerid: \ufffd01"]


async def test_a_header_in_one_piece_with_an_over_long_line_is_refused(short_pair: Pair) -> None:
    stream, writer = short_pair
    await _send(writer, stream, b"agi_network: yes\nagi_request: agi://host/x\n\n")
    assert stream.pop_header() is None  # left to the line by line reading, which refuses it
    with pytest.raises(AgiProtocolError, match="longer than 16 bytes"):
        await read_header_lines(stream)


async def test_a_header_of_too_many_lines_in_one_piece_is_refused(pair: Pair) -> None:
    stream, writer = pair
    await _send(writer, stream, b"agi_arg: 1\n" * (MAX_HEADER_LINES + 1) + b"\n")
    with pytest.raises(AgiProtocolError, match=f"longer than {MAX_HEADER_LINES} lines"):
        await read_header_lines(stream)
