"""Peers that stop answering, flood the port or send a malformed reply (issue 12, items 1, 2, 4).

All over real loopback sockets; the descriptor-limit case runs the server in a
child process with its own ``RLIMIT_NOFILE``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import textwrap

import pytest

from hotline.agi.errors import AgiProtocolError, AgiTimeout
from hotline.agi.listener import KEEPALIVE
from hotline.agi.session import AgiSession
from hotline.agi.testing import FakeAsterisk
from tests.agi.conftest import ServerFactory, SessionFactory
from tests.conftest import CapturedLog

# -- item 1: every command has a deadline ---------------------------------------------


async def test_a_peer_that_never_answers_is_closed_at_the_deadline_and_logged_once(
    start_server: ServerFactory, captured_log: CapturedLog
) -> None:
    async def flow(session: AgiSession) -> None:
        await session.answer()
        await session.stream_file("hello", timeout=0.3)

    server = await start_server({"hotline": flow}, command_timeout=5.0)
    async with FakeAsterisk(server.port) as pbx:
        await pbx.send_header(uniqueid="silent.1")
        await pbx.expect("ANSWER", "200 result=0")
        assert await pbx.read_command() == 'STREAM FILE hello ""'
        # valid header, then silence: the runtime must end it, not wait for ever
        assert await pbx.wait_closed(timeout=5) == []
    (timeout,) = captured_log.named("agi_command_timeout")
    assert (timeout["command"], timeout["timeout"], timeout["call_id"]) == (
        "STREAM FILE",
        0.3,
        "silent.1",
    )
    warnings = [e for e in captured_log.events if e["level"] in ("warning", "error")]
    assert warnings == [timeout]  # one line for the session, no second "call failed"
    (ended,) = captured_log.named("agi_session_ended")
    assert ended["outcome"] == "timeout"


async def test_a_lifted_deadline_lets_a_command_run_past_it(
    open_session: SessionFactory,
) -> None:
    bridged, bridged_pbx = await open_session()
    clock, clock_pbx = await open_session()
    dial = asyncio.create_task(bridged.exec_app("Dial", "PJSIP/201", timeout=0.3))
    assert await bridged_pbx.read_command() == "EXEC Dial PJSIP/201"
    bridged.extend_deadline(None)  # the agent accepted: the bridge may last hours
    # the same deadline on another session passes; the lifted one does not
    with pytest.raises(AgiTimeout):
        await clock.exec_app("Dial", "PJSIP/202", timeout=0.3)
    assert await clock_pbx.wait_closed() == ["EXEC Dial PJSIP/202"]
    assert not dial.done()
    await bridged_pbx.reply("200 result=-1")
    assert await dial == -1
    bridged.extend_deadline(0.1)  # no command running: nothing to move
    assert not bridged.closed


async def test_a_passed_deadline_asks_keep_before_closing(open_session: SessionFactory) -> None:
    session, pbx = await open_session()
    clock, clock_pbx = await open_session()
    asked: list[bool] = []
    bridged = True

    def keep() -> bool:  # AMI sees the call bridged (its confirm leg ran elsewhere)
        asked.append(bridged)
        return bridged

    dial = asyncio.create_task(session.exec_app("Dial", "PJSIP/201", timeout=0.2, keep=keep))
    assert await pbx.read_command() == "EXEC Dial PJSIP/201"
    with pytest.raises(AgiTimeout):
        await clock.exec_app("Dial", "PJSIP/202", timeout=0.3)
    assert await clock_pbx.wait_closed() == ["EXEC Dial PJSIP/202"]
    assert asked == [True]
    assert not dial.done()  # given another 0.2 s
    bridged = False  # the bridge ended, yet no reply: stuck after all
    with pytest.raises(AgiTimeout, match="EXEC"):
        await dial
    assert asked == [True, False]
    assert await pbx.wait_closed() == []


async def test_a_moved_deadline_is_enforced_and_named(
    open_session: SessionFactory, captured_log: CapturedLog
) -> None:
    session, pbx = await open_session()
    call = asyncio.create_task(session.exec_app("Dial", "PJSIP/201", timeout=60))
    assert await pbx.read_command() == "EXEC Dial PJSIP/201"
    session.extend_deadline(0.2)
    with pytest.raises(AgiTimeout, match=r"within 0\.2s"):
        await call
    assert await pbx.wait_closed() == []
    (event,) = captured_log.named("agi_command_timeout")
    assert event["timeout"] == 0.2


async def test_agi_sockets_have_keepalive_tuned_to_about_a_minute(
    start_server: ServerFactory,
) -> None:
    seen: asyncio.Queue[socket.socket] = asyncio.Queue()

    async def flow(session: AgiSession) -> None:
        assert session.socket is not None
        await seen.put(session.socket)
        await session.answer()

    server = await start_server({"hotline": flow})
    async with FakeAsterisk(server.port) as pbx:
        await pbx.send_header()
        sock = await asyncio.wait_for(seen.get(), 5)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        idle = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE)
        interval = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL)
        count = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT)
        assert (idle, interval, count) == (KEEPALIVE.idle, KEEPALIVE.interval, KEEPALIVE.count)
        assert 45 <= idle + interval * count <= 75  # a vanished host is found in about a minute
        user_timeout = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT)
        assert user_timeout == KEEPALIVE.user_timeout * 1000
        await pbx.expect("ANSWER", "200 result=0")


# -- item 2: a cap on connections, and no storm at the descriptor limit ----------------


async def test_accepting_pauses_at_the_cap_and_resumes(
    start_server: ServerFactory, captured_log: CapturedLog
) -> None:
    release = asyncio.Event()
    started: asyncio.Queue[str] = asyncio.Queue()

    async def flow(session: AgiSession) -> None:
        await started.put(session.request.uniqueid)
        await release.wait()
        await session.answer()

    server = await start_server({"hotline": flow}, max_connections=2)
    assert server.max_connections == 2
    async with (
        FakeAsterisk(server.port) as first,
        FakeAsterisk(server.port) as second,
        FakeAsterisk(server.port) as third,
    ):
        await first.send_header(uniqueid="1.1")
        await second.send_header(uniqueid="2.2")
        # the kernel completes the third handshake; the runtime does not accept it yet
        await third.send_header(uniqueid="3.3")
        first_two = [await asyncio.wait_for(started.get(), 5) for _ in range(2)]
        assert sorted(first_two) == ["1.1", "2.2"]
        assert server.connections == 2
        assert captured_log.named("agi_connection_cap_reached")
        assert started.empty()
        release.set()
        await first.expect("ANSWER", "200 result=0")
        assert await first.wait_closed() == []
        # a slot is free: the third call is accepted and served
        await third.expect("ANSWER", "200 result=0")
        await second.expect("ANSWER", "200 result=0")
        assert await third.wait_closed() == []
    assert started.get_nowait() == "3.3"
    caps = captured_log.named("agi_connection_cap_reached")
    assert {(e["level"], e["max_connections"]) for e in caps} == {("warning", 2)}


async def test_at_the_cap_a_peer_still_sending_its_header_makes_room(
    start_server: ServerFactory, captured_log: CapturedLog
) -> None:
    async def flow(session: AgiSession) -> None:
        await session.answer()

    server = await start_server(
        {"hotline": flow}, max_connections=2, header_grace=0.1, header_timeout=30
    )
    async with (
        FakeAsterisk(server.port) as slow_1,
        FakeAsterisk(server.port) as slow_2,
        FakeAsterisk(server.port) as healthy,
    ):
        for slow in (slow_1, slow_2):
            await slow.send_raw(b"agi_network: yes\n")  # and the rest never comes
        await healthy.send_header()
        # not after header_timeout (30 s): the slow peers give way at once
        await healthy.expect("ANSWER", "200 result=0")
        assert await healthy.wait_closed() == []
        assert await slow_1.wait_closed() == []
    assert server.evicted >= 1
    (evicted, *_) = captured_log.named("agi_header_evicted")
    assert evicted["level"] == "warning"
    assert evicted["seconds"] >= 0.1


_FD_STARVED_SERVER = """
import asyncio, json, resource, sys
from hotline.agi.server import FastAgiServer
from hotline.logs import configure_logging

hoard = []

async def leaky(session):
    # something else in the process eats descriptors: accept() runs into EMFILE
    while True:
        try:
            hoard.append(open("/dev/null"))
        except OSError:
            break
    await session.answer()
    await session.hangup_seen.wait()

async def healthy(session):
    for handle in hoard:
        handle.close()
    hoard.clear()
    await session.answer()

async def main():
    server = FastAgiServer(
        {"leaky": leaky, "healthy": healthy}, port=0, max_connections=LIMIT * 10
    )
    await server.start()
    print(json.dumps({"port": server.port, "cap": server.max_connections}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await server.stop(drain_timeout=1)

configure_logging(level="INFO", fmt="json", stream=sys.stderr)
asyncio.run(main())
"""


async def test_descriptor_exhaustion_pauses_accepting_with_one_line_not_a_storm() -> None:
    limit = 128
    code = _FD_STARVED_SERVER.replace("LIMIT", str(limit))
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        textwrap.dedent(code),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: _limit_fds(limit),
    )
    assert child.stdout is not None
    assert child.stdin is not None
    assert child.stderr is not None
    lines: list[str] = []
    paused = asyncio.Event()

    async def read_log(stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            lines.append(line.decode())
            if '"agi_accept_paused"' in lines[-1]:
                paused.set()

    reading = asyncio.create_task(read_log(child.stderr))
    started = json.loads(await asyncio.wait_for(child.stdout.readline(), 20))
    port = started["port"]
    assert started["cap"] < limit * 10  # lowered to what fits, with a warning
    peers: list[FakeAsterisk] = []
    try:
        leak = FakeAsterisk(port)
        peers.append(leak)
        await leak.connect()
        await leak.send_header(script="leaky")
        await leak.expect("ANSWER", "200 result=0")
        # every descriptor is taken now: these connections hit EMFILE at accept()
        for _ in range(40):
            peer = FakeAsterisk(port)
            peers.append(peer)
            await peer.connect()
        await asyncio.wait_for(paused.wait(), 10)
        for peer in peers[1:]:
            await peer.close()
        async with FakeAsterisk(port, timeout=15) as healthy:
            await healthy.send_header(script="healthy")
            await leak.close()  # frees one descriptor; the healthy call frees the rest
            await healthy.expect("ANSWER", "200 result=0")
            assert await healthy.wait_closed(timeout=10) == []
    finally:
        for peer in peers:
            await peer.close()
        child.stdin.write(b"stop\n")
        await child.stdin.drain()
        await asyncio.wait_for(child.wait(), 20)
        await asyncio.wait_for(reading, 5)
    events = [json.loads(line) for line in lines]  # every line is JSON: no traceback
    names = [e["event"] for e in events]
    assert "agi_connection_cap_lowered" in names
    pauses = [e for e in events if e["event"] == "agi_accept_paused"]
    assert 1 <= len(pauses) <= 15, pauses  # at most one per pause, not one per attempt
    assert pauses[0]["problem"] == "Too many open files"
    assert child.returncode == 0


def _limit_fds(limit: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))


# -- item 4: a malformed final reply is a protocol error ------------------------------


@pytest.mark.parametrize(
    "reply",
    ["200 result=1234x (y) z", "200 result=1 (timeout) trailing", "200 result=12 (a"],
)
async def test_a_malformed_get_data_reply_is_a_protocol_error_at_once(
    open_session: SessionFactory, reply: str
) -> None:
    session, pbx = await open_session()
    call = asyncio.create_task(session.get_data("enter_pin", 5000, 4, timeout=None))
    assert await pbx.read_command() == "GET DATA enter_pin 5000 4"
    await pbx.reply(reply)
    # no deadline at all here: only the reply itself can end the wait
    with pytest.raises(AgiProtocolError, match="malformed AGI result"):
        await asyncio.wait_for(call, 5)
    assert await pbx.wait_closed() == []


async def test_a_variable_value_may_still_span_lines(open_session: SessionFactory) -> None:
    session, pbx = await open_session()
    call = asyncio.create_task(session.get_variable("NOTE"))
    await pbx.expect("GET VARIABLE NOTE", "200 result=1 (a) and", "b)")
    assert await call == "a) and\nb"
