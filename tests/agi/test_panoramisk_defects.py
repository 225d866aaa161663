"""One test per panoramisk 1.4 FastAGI defect (docs/architecture.md, "panoramisk: what to know").

Each test drives our FastAgiServer the way the defect is triggered; against
``panoramisk.fast_agi.Application`` each of them would fail (or hang), as the
docstrings say.
"""

from __future__ import annotations

import asyncio

import pytest

from hotline.agi.errors import AgiCommandError, AgiConnectionLost, AgiHangup, AgiTimeout
from hotline.agi.session import AgiSession
from hotline.agi.testing import DEAD_CHANNEL_REPLY, FakeAsterisk
from hotline.agi.wire import parse_reply
from tests.agi.conftest import ServerFactory
from tests.conftest import CapturedLog


async def test_peer_closing_mid_header_does_not_spin_the_loop(
    start_server: ServerFactory, captured_log: CapturedLog
) -> None:
    """panoramisk: ``while b'\\n\\n' not in buffer: buffer += await reader.read(100)``
    never checks EOF, so ``read`` returns ``b''`` at once for ever and every other
    call freezes.  Here a healthy call completes within a second meanwhile."""
    answered = asyncio.Event()

    async def flow(session: AgiSession) -> None:
        await session.answer()
        answered.set()

    server = await start_server({"hotline": flow})
    async with FakeAsterisk(server.port) as cut, FakeAsterisk(server.port) as healthy:
        await cut.send_raw(b"agi_network: yes\nagi_network_script: hot")
        await cut.close()
        await healthy.send_header()
        await asyncio.wait_for(healthy.expect("ANSWER", "200 result=0"), 1.0)
        await asyncio.wait_for(answered.wait(), 1.0)
        assert await healthy.wait_closed(timeout=1.0) == []


async def test_hangup_line_is_not_the_next_reply(start_server: ServerFactory) -> None:
    """panoramisk reads the out-of-band ``HANGUP`` as the reply to the command in
    flight, so every later reply is off by one (DIALSTATUS would get HANGUP's
    place and DIALEDPEERNAME would get DIALSTATUS's value)."""
    got: list[str | None] = []

    async def flow(session: AgiSession) -> None:
        got.append(await session.get_variable("DIALSTATUS"))
        got.append(await session.get_variable("DIALEDPEERNAME"))

    server = await start_server({"hotline": flow})
    async with FakeAsterisk(server.port) as pbx:
        await pbx.send_header()
        await pbx.expect("GET VARIABLE DIALSTATUS", "HANGUP", "200 result=1 (ANSWER)")
        await pbx.expect("GET VARIABLE DIALEDPEERNAME", "200 result=1 (Local/201@x-1;1)")
        assert await pbx.wait_closed() == []
    assert got == ["ANSWER", "Local/201@x-1;1"]


async def test_errors_raise_typed_exceptions_not_dicts(start_server: ServerFactory) -> None:
    """panoramisk returns ``{'error': 'AGIInvalidCommand', …}`` dicts that a flow
    can silently ignore; here 510/520 raise AgiCommandError and 511 AgiHangup."""
    caught: list[BaseException] = []

    async def flow(session: AgiSession) -> None:
        for words in (("FOO",), ("GET VARIABLE",), ("GET DATA", "beep")):
            try:
                await session.command(*words)
            except (AgiCommandError, AgiHangup) as exc:
                caught.append(exc)

    server = await start_server({"hotline": flow})
    async with FakeAsterisk(server.port) as pbx:
        await pbx.send_header()
        await pbx.expect("FOO", "510 Invalid or unknown command")
        await pbx.expect(
            "GET VARIABLE",
            "520-Invalid command syntax.  Proper usage follows:",
            " Usage: GET VARIABLE <variablename>",
            "520 End of proper usage.",
        )
        await pbx.expect("GET DATA beep", DEAD_CHANNEL_REPLY)
        assert await pbx.wait_closed() == []
    assert [type(e) for e in caught] == [AgiCommandError, AgiCommandError, AgiHangup]
    assert isinstance(caught[1], AgiCommandError)
    assert caught[1].code == 520
    assert "Usage: GET VARIABLE" in caught[1].text


async def test_end_of_stream_is_connection_lost_not_value_error(
    start_server: ServerFactory,
) -> None:
    """panoramisk parses ``b''`` at end of stream as a reply and dies in
    ``int('')`` with ``ValueError``; here it is AgiConnectionLost (an AgiHangup)."""
    caught: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

    async def flow(session: AgiSession) -> None:
        try:
            await session.stream_file("demo-congrats")
        except Exception as exc:
            caught.set_result(exc)

    server = await start_server({"hotline": flow})
    async with FakeAsterisk(server.port) as pbx:
        await pbx.send_header()
        assert await pbx.read_command() == 'STREAM FILE demo-congrats ""'
        await pbx.close()
    assert isinstance(await asyncio.wait_for(caught, 5), AgiConnectionLost)


async def test_sync_route_is_accepted(start_server: ServerFactory) -> None:
    """panoramisk wraps sync routes with ``asyncio.coroutine``, which Python 3.11
    removed: ``add_route`` raises AttributeError.  Here a plain function works."""
    seen: list[str] = []
    server = await start_server({"hotline": lambda session: seen.append(session.request.path)})
    async with FakeAsterisk(server.port) as pbx:
        await pbx.send_header()
        assert await pbx.wait_closed() == []
    assert seen == ["hotline"]


async def test_handler_exception_is_logged_with_the_call(
    start_server: ServerFactory, captured_log: CapturedLog
) -> None:
    """panoramisk catches every exception (BaseException) and logs it without the
    call's identity; here the error names call_id and route, with the traceback."""

    async def flow(session: AgiSession) -> None:
        raise KeyError("missing target")

    server = await start_server({"hotline": flow})
    async with FakeAsterisk(server.port) as pbx:
        await pbx.send_header(uniqueid="1795305542.0")
        assert await pbx.wait_closed() == []
    (event,) = captured_log.named("agi_handler_failed")
    assert (event["call_id"], event["route"], event["level"]) == (
        "1795305542.0",
        "hotline",
        "error",
    )
    assert "KeyError: 'missing target'" in event["exception"]


async def test_cancellation_is_not_swallowed(
    start_server: ServerFactory, captured_log: CapturedLog
) -> None:
    """panoramisk's ``except BaseException`` also swallows CancelledError, so a
    shutdown cannot cancel a call; here the handler's task ends cancelled."""
    in_handler: asyncio.Future[asyncio.Task[object]] = asyncio.get_running_loop().create_future()

    async def flow(session: AgiSession) -> None:
        task = asyncio.current_task()
        assert task is not None
        in_handler.set_result(task)
        await session.get_data("beep", 3000, 4)

    server = await start_server({"hotline": flow})
    async with FakeAsterisk(server.port) as pbx:
        await pbx.send_header()
        assert await pbx.read_command() == "GET DATA beep 3000 4"
        task = await in_handler
        await server.stop(drain_timeout=0.1)
        assert task.cancelled()
        assert await pbx.wait_closed() == []
    assert captured_log.named("agi_handler_failed") == []
    assert len(captured_log.named("agi_session_cancelled")) == 1


async def test_commands_have_a_timeout(start_server: ServerFactory) -> None:
    """panoramisk awaits a reply for ever; here a quick command gives up."""
    caught: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

    async def flow(session: AgiSession) -> None:
        try:
            await session.get_variable("X")
        except AgiTimeout as exc:
            caught.set_result(exc)

    server = await start_server({"hotline": flow}, command_timeout=0.2)
    async with FakeAsterisk(server.port) as pbx:
        await pbx.send_header()
        assert await pbx.read_command() == "GET VARIABLE X"
        assert isinstance(await asyncio.wait_for(caught, 5), AgiTimeout)
        assert await pbx.wait_closed() == []


@pytest.mark.parametrize(
    ("line", "result", "data"),
    [
        ("200 result= (timeout)", "", "timeout"),  # panoramisk drops "(timeout)"
        ("200 result=1 (hangup)", "1", "hangup"),  # panoramisk: "User hungup"
        ("200 result=-1 endpos=0", "-1", None),  # panoramisk: an error dict
    ],
)
def test_reply_parser_where_panoramisk_is_unsound(line: str, result: str, data: str | None) -> None:
    """panoramisk's ``parse_agi_result``: a variable whose value is ``hangup`` reads
    as a hang-up, the data of ``result= (timeout)`` is lost, -1 is always an error."""
    reply = parse_reply(line)
    assert (reply.result, reply.data) == (result, data)
