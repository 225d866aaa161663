"""FastAgiServer over real loopback sockets: routing, header problems, logging, stop()."""

from __future__ import annotations

import asyncio

import pytest

from hotline.agi.server import FastAgiServer
from hotline.agi.session import AgiSession
from hotline.agi.testing import RECORDING_01_HEADER, FakeAsterisk, awaiting
from hotline.logs import bind_context, get_logger
from tests.agi.conftest import ServerFactory
from tests.conftest import CapturedLog


async def test_routes_by_exact_path_with_query_and_args(start_server: ServerFactory) -> None:
    seen: asyncio.Queue[tuple[str, AgiSession]] = asyncio.Queue()

    async def support(session: AgiSession) -> None:
        await seen.put(("support", session))

    async def hotline(session: AgiSession) -> None:
        await seen.put(("hotline", session))

    server = await start_server({"hotline/support": support, "/hotline": hotline})
    async with FakeAsterisk(server.port) as pbx:
        await pbx.send_header(script="hotline/support?lang=de", args=["204", "", "x y"])
        route, session = await asyncio.wait_for(seen.get(), 5)
        assert route == "support"
        assert session.request.path == "hotline/support"
        assert session.request.query == {"lang": "de"}
        assert session.request.args == ("204", "", "x y")
        assert await pbx.wait_closed() == []
    async with FakeAsterisk(server.port) as pbx:
        await pbx.send_header(script="hotline")
        route, _ = await asyncio.wait_for(seen.get(), 5)
        assert route == "hotline"


@pytest.mark.parametrize("handler_task", [True, False], ids=["own-task", "inline"])
async def test_a_command_resumes_through_the_handler_only_in_a_task_of_its_own(
    start_server: ServerFactory, captured_log: CapturedLog, handler_task: bool
) -> None:
    """A typed command is the session's one coroutine, and the handler runs in a task of
    its own that the connection's awaits (issue 19: each level cost cache misses per
    command); what the handler binds is on the connection's last line too.  Without
    (``handler_task = False``, the benchmarks' ``handler-inline``): as before, a command
    resumes through the connection's coroutine too, and the lines are the same."""
    tasks: asyncio.Queue[asyncio.Task[object]] = asyncio.Queue()

    async def flow(session: AgiSession) -> None:
        bind_context(hotline="support")
        task = asyncio.current_task()
        assert task is not None
        tasks.put_nowait(task)
        assert await session.wait_for_digit(1000) == "1"
        assert await session.get_full_variable("${X}") == "y"

    server = await start_server({"hotline": flow})
    server.handler_task = handler_task
    chain = [flow.__qualname__, "AgiSession._send"]
    async with FakeAsterisk(server.port) as pbx:
        await pbx.send_header()
        task = await tasks.get()
        for command, reply in (
            ("WAIT FOR DIGIT 1000", "200 result=49"),
            ("GET FULL VARIABLE ${X}", "200 result=1 (y)"),
        ):
            assert await pbx.read_command() == command
            if handler_task:
                assert awaiting(task) == chain
                # the connection's task waits for the handler's, not resumed per command
                (connection,) = [t for t in asyncio.all_tasks() if t is not task and _serves(t)]
                assert awaiting(connection) == ["FastAgiServer._serve_socket"]
            else:
                assert awaiting(task) == ["FastAgiServer._serve_socket", *chain]
            await pbx.reply(reply)
        assert await pbx.wait_closed() == []
    await server.stop()
    (ended,) = captured_log.named("agi_session_ended")
    assert ended["hotline"] == "support"
    assert ended["outcome"] == "completed"


def _serves(task: asyncio.Task[object]) -> bool:
    return "FastAgiServer._serve_socket" in awaiting(task)


async def test_unknown_route_is_told_and_closed(
    start_server: ServerFactory, captured_log: CapturedLog
) -> None:
    server = await start_server({"hotline": _never_called})
    async with FakeAsterisk(server.port) as pbx:
        await pbx.send_header(script="nope/x", uniqueid="77.1")
        await pbx.expect("VERBOSE \"hotline: no route for 'nope/x'\" 1", "200 result=1")
        assert await pbx.wait_closed() == []
    (event,) = captured_log.named("agi_unknown_route")
    assert event["level"] == "warning"
    assert event["path"] == "nope/x"
    assert event["call_id"] == "77.1"


async def _never_called(session: AgiSession) -> None:
    raise AssertionError("handler must not run")


async def test_half_header_then_close_does_not_block_a_healthy_call(
    start_server: ServerFactory, captured_log: CapturedLog
) -> None:
    done = asyncio.Event()

    async def handler(session: AgiSession) -> None:
        await session.answer()
        done.set()

    server = await start_server({"hotline": handler})
    async with FakeAsterisk(server.port) as healthy, FakeAsterisk(server.port) as broken:
        await healthy.send_header()
        await broken.send_raw(b"agi_network: yes\nagi_network_scr")
        await broken.send_eof()
        assert await broken.wait_closed(timeout=1.0) == []
        await asyncio.wait_for(healthy.expect("ANSWER", "200 result=0"), 1.0)
        await asyncio.wait_for(done.wait(), 1.0)
    (event,) = captured_log.named("agi_header_incomplete")
    assert event["level"] == "warning"
    assert event["bytes"] == len(b"agi_network: yes\nagi_network_scr")


async def test_nothing_then_close_is_a_quiet_health_check(
    start_server: ServerFactory, captured_log: CapturedLog
) -> None:
    server = await start_server({"hotline": _never_called})
    for _ in range(20):
        async with FakeAsterisk(server.port) as probe:
            await probe.send_eof()
            assert await probe.wait_closed(timeout=1.0) == []
    probes = captured_log.named("agi_probe_closed")
    assert len(probes) == 20
    assert {e["level"] for e in probes} == {"debug"}
    assert [e for e in captured_log.events if e["level"] in ("warning", "error")] == []


async def test_header_read_timeout(start_server: ServerFactory, captured_log: CapturedLog) -> None:
    server = await start_server({"hotline": _never_called}, header_timeout=0.2)
    async with FakeAsterisk(server.port) as slow:
        await slow.send_raw(b"agi_network: yes\n")
        assert await slow.wait_closed(timeout=5) == []
    (event,) = captured_log.named("agi_header_timeout")
    assert event["timeout"] == 0.2
    assert event["bytes"] == len(b"agi_network: yes\n")  # a line that came alone counts too


async def test_header_that_is_not_agi(
    start_server: ServerFactory, captured_log: CapturedLog
) -> None:
    server = await start_server({"hotline": _never_called})
    async with FakeAsterisk(server.port) as pbx:
        await pbx.send_raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert await pbx.wait_closed() == []
    (event,) = captured_log.named("agi_bad_header")
    assert "line 1" in event["problem"]


async def test_non_utf8_header_bytes(start_server: ServerFactory) -> None:
    names: asyncio.Queue[str] = asyncio.Queue()

    async def handler(session: AgiSession) -> None:
        await names.put(session.request.calleridname)

    server = await start_server({"hotline": handler})
    async with FakeAsterisk(server.port) as pbx:
        header = RECORDING_01_HEADER.replace(b"Lab Caller", b"M\xfcller \xff")
        await pbx.send_raw(header)
        assert await asyncio.wait_for(names.get(), 5) == "M\ufffdller \ufffd"


async def test_handler_raising_is_logged_and_the_server_keeps_serving(
    start_server: ServerFactory, captured_log: CapturedLog
) -> None:
    async def broken(session: AgiSession) -> None:
        await session.answer()
        raise RuntimeError("boom in the flow")

    server = await start_server({"hotline": broken})
    for uniqueid in ("100.1", "100.2"):
        async with FakeAsterisk(server.port) as pbx:
            await pbx.send_header(uniqueid=uniqueid)
            await pbx.expect("ANSWER", "200 result=0")
            assert await pbx.wait_closed() == []
    failures = captured_log.named("agi_handler_failed")
    assert [e["call_id"] for e in failures] == ["100.1", "100.2"]
    assert all(e["level"] == "error" for e in failures)
    assert "RuntimeError: boom in the flow" in failures[0]["exception"]
    ended = captured_log.named("agi_session_ended")
    assert [e["outcome"] for e in ended] == ["failed", "failed"]
    assert server.active_calls == 0


async def test_caller_gone_is_not_an_error(
    start_server: ServerFactory, captured_log: CapturedLog
) -> None:
    async def flow(session: AgiSession) -> None:
        await session.stream_file("demo-congrats")

    server = await start_server({"hotline": flow})
    async with FakeAsterisk(server.port) as pbx:
        await pbx.send_header(uniqueid="5.5")
        await pbx.expect('STREAM FILE demo-congrats ""', "200 result=-1 endpos=38560", "HANGUP")
        assert await pbx.wait_closed() == []
    (event,) = captured_log.named("agi_caller_gone")
    assert event["level"] == "info"
    assert event["call_id"] == "5.5"
    assert captured_log.named("agi_handler_failed") == []
    (ended,) = captured_log.named("agi_session_ended")
    assert (ended["outcome"], ended["commands"], ended["hung_up"]) == ("caller_gone", 1, True)
    assert isinstance(ended["duration_s"], float)


async def test_over_long_line_fails_one_call_and_the_server_survives(
    start_server: ServerFactory, captured_log: CapturedLog
) -> None:
    async def flow(session: AgiSession) -> None:
        await session.get_variable("X")

    server = await start_server({"hotline": flow}, max_line=1024)
    async with FakeAsterisk(server.port) as pbx:
        await pbx.send_header(uniqueid="1.1")
        assert await pbx.read_command() == "GET VARIABLE X"
        await pbx.send_raw(b"200 result=1 (" + b"y" * 4096)
        assert await pbx.wait_closed() == []
    (event,) = captured_log.named("agi_call_failed")
    assert event["error"] == "AgiProtocolError"
    assert "exception" not in event  # one clear line, no traceback
    async with FakeAsterisk(server.port) as pbx:
        await pbx.send_header(uniqueid="1.2")
        await pbx.expect("GET VARIABLE X", "200 result=1 (fine)")
        assert await pbx.wait_closed() == []
    assert [e["call_id"] for e in captured_log.named("agi_session_ended")] == ["1.1", "1.2"]


async def test_over_long_header_line(
    start_server: ServerFactory, captured_log: CapturedLog
) -> None:
    server = await start_server({"hotline": _never_called}, max_line=1024)
    async with FakeAsterisk(server.port) as pbx:
        await pbx.send_raw(b"agi_network: " + b"z" * 5000)
        assert await pbx.wait_closed() == []
    assert len(captured_log.named("agi_bad_header")) == 1


async def test_each_call_logs_with_its_own_call_id(
    start_server: ServerFactory, captured_log: CapturedLog
) -> None:
    log = get_logger()

    async def flow(session: AgiSession) -> None:
        log.info("flow_step", step="before")
        await session.answer()
        log.info("flow_step", step="after")

    server = await start_server({"hotline": flow})
    async with FakeAsterisk(server.port) as a, FakeAsterisk(server.port) as b:
        await a.send_header(uniqueid="A.1", script="hotline")
        await b.send_header(uniqueid="B.2", script="hotline")
        assert await a.read_command() == "ANSWER"
        assert await b.read_command() == "ANSWER"
        await b.reply("200 result=0")  # B finishes first, while A is mid-command
        assert await b.wait_closed() == []
        await a.send_hangup()
        await a.reply("200 result=0")
        assert await a.wait_closed() == []
    steps = [(e["call_id"], e["step"]) for e in captured_log.named("flow_step")]
    assert sorted(steps) == [
        ("A.1", "after"),
        ("A.1", "before"),
        ("B.2", "after"),
        ("B.2", "before"),
    ]
    assert {e["route"] for e in captured_log.named("flow_step")} == {"hotline"}
    # what the session reads while a command waits logs in the call's context too
    (seen,) = captured_log.named("agi_hangup_seen")
    assert seen["call_id"] == "A.1"


async def test_a_hangup_between_commands_logs_in_the_calls_context(
    start_server: ServerFactory, captured_log: CapturedLog
) -> None:
    """Read when the transport calls back (no command running), not in a task of the call."""
    answered = asyncio.Event()

    async def flow(session: AgiSession) -> None:
        await session.answer()
        answered.set()
        await session.hangup_seen.wait()

    server = await start_server({"hotline": flow})
    async with FakeAsterisk(server.port) as pbx:
        await pbx.send_header(uniqueid="C.3", script="hotline")
        await pbx.expect("ANSWER", "200 result=0")
        await asyncio.wait_for(answered.wait(), 5)
        await pbx.send_hangup()
        assert await pbx.wait_closed() == []
    (seen,) = captured_log.named("agi_hangup_seen")
    assert (seen["call_id"], seen["reason"]) == ("C.3", "hangup_line")


async def test_sync_handler_is_called(start_server: ServerFactory) -> None:
    called: list[str] = []

    def sync_handler(session: AgiSession) -> None:
        called.append(session.request.uniqueid)

    server = await start_server({"hotline": sync_handler})
    async with FakeAsterisk(server.port) as pbx:
        await pbx.send_header(uniqueid="9.9")
        assert await pbx.wait_closed() == []
    assert called == ["9.9"]


def test_non_callable_handler_is_refused() -> None:
    with pytest.raises(TypeError, match="'hotline'"):
        FastAgiServer({"hotline": "not a function"})  # type: ignore[dict-item]


async def test_stop_drains_then_cancels(
    start_server: ServerFactory, captured_log: CapturedLog
) -> None:
    outcome: dict[str, str] = {}

    async def flow(session: AgiSession) -> None:
        name = session.request.uniqueid
        try:
            await session.get_data("beep", 3000, 4)
            outcome[name] = "finished"
        except asyncio.CancelledError:
            outcome[name] = "cancelled"
            raise

    server = await start_server({"hotline": flow})
    port = server.port
    async with FakeAsterisk(port) as quick, FakeAsterisk(port) as stuck:
        await quick.send_header(uniqueid="quick.1")
        await stuck.send_header(uniqueid="stuck.2")
        assert await quick.read_command() == "GET DATA beep 3000 4"
        assert await stuck.read_command() == "GET DATA beep 3000 4"
        assert server.active_calls == 2

        stopping = asyncio.create_task(server.stop(drain_timeout=0.3))
        await asyncio.sleep(0)  # one loop turn: stop() closes the listener before its first await
        assert not server.is_serving
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", port)

        await quick.reply("200 result=1234")  # finishes within the drain time
        assert await quick.wait_closed() == []
        await asyncio.wait_for(stopping, 5)
        assert await stuck.wait_closed() == []
    assert outcome == {"quick.1": "finished", "stuck.2": "cancelled"}
    assert server.active_calls == 0
    (drain,) = captured_log.named("agi_drain_timeout")
    assert drain["cancelled"] == 1
    (cancelled,) = captured_log.named("agi_session_cancelled")
    assert cancelled["call_id"] == "stuck.2"
    assert captured_log.named("agi_handler_failed") == []


async def test_serve_forever_returns_after_stop() -> None:
    server = FastAgiServer({}, port=0)
    await server.start()
    serving = asyncio.create_task(server.serve_forever())
    await asyncio.sleep(0)  # one loop turn: serve_forever is now waiting for stop()
    assert not serving.done()
    await server.stop()
    await asyncio.wait_for(serving, 1)


async def test_context_manager_and_address() -> None:
    async with FastAgiServer({}, port=0) as server:
        host, port = server.address
        assert host == "127.0.0.1"
        assert port == server.port > 0
        serving = [server.is_serving]
    serving.append(server.is_serving)
    assert serving == [True, False]
    assert server.sockets == ()


async def test_stop_twice_at_once(start_server: ServerFactory) -> None:
    release = asyncio.Event()

    async def flow(session: AgiSession) -> None:
        await release.wait()

    server = await start_server({"hotline": flow})
    async with FakeAsterisk(server.port) as pbx:
        await pbx.send_header()
        first = asyncio.create_task(server.stop(drain_timeout=5))
        second = asyncio.create_task(server.stop(drain_timeout=5))
        release.set()
        await asyncio.wait_for(asyncio.gather(first, second), 5)
        assert await pbx.wait_closed() == []
    assert server.sockets == ()
