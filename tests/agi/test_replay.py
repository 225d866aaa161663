"""Replays of real Asterisk 22.10.1 exchanges through the real server.

FakeAsterisk sends the recorded header and, after each command, exactly the
lines Asterisk sent after it (``HANGUP`` notices where they really fell).  The
handler issues the recorded commands through the typed API; the bytes it sends
must equal the recorded ``.tx`` and the results must be what the recorded
replies mean.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from hotline.agi.errors import AgiHangup
from hotline.agi.session import AgiSession
from hotline.agi.testing import RECORDING_01_HEADER, FakeAsterisk, build_header
from hotline.agi.wire import parse_header
from tests.agi import recorded
from tests.agi.conftest import ServerFactory

Flow = Callable[[AgiSession, list[object]], Awaitable[None]]


async def replay(start_server: ServerFactory, prefix: str, flow: Flow) -> tuple[list[object], bool]:
    recording = recorded.load(prefix)
    results: list[object] = []
    finished: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    async def handler(session: AgiSession) -> None:
        try:
            await flow(session, results)
        finally:
            finished.set_result(session.hung_up)

    route = parse_header(recording.header.decode().split("\n")[:-2]).path
    server = await start_server({route: handler})
    sent: list[str] = []
    async with FakeAsterisk(server.port) as pbx:
        await pbx.send_raw(recording.header)
        for step in recording.steps:
            command = await pbx.read_command()
            sent.append(command)
            assert command == step.command
            await pbx.send_raw(b"".join(f"{line}\n".encode() for line in step.lines))
        assert await pbx.wait_closed() == []
    assert "".join(f"{c}\n" for c in sent).encode() == recording.tx
    return results, await asyncio.wait_for(finished, 5)


@pytest.mark.parametrize("prefix", ["01_", "06_", "08_", "12_"])
def test_recordings_load_faithfully(prefix: str) -> None:
    recording = recorded.load(prefix)
    assert recording.header + recorded.replies_bytes(recording) == recording.rx
    assert "".join(f"{s.command}\n" for s in recording.steps).encode() == recording.tx


def test_header_builder_matches_recording_01_byte_for_byte() -> None:
    assert build_header() == RECORDING_01_HEADER == recorded.load("01_").header
    assert (
        build_header(
            "confirm",
            uniqueid="1795305711.22",
            callerid="204",
            channel="Local/204@sim-agents-0000000b;1",
            context="hotline-confirm",
            extension="s",
            args=["${UNIQUEID}"],
        )
        == recorded.load("06_").header
    )


DIAL = ("Dial", "Local/201@sim-agents", "15", "U(hotline-confirm^${UNIQUEID})")


async def test_replay_01_full_call(start_server: ServerFactory) -> None:
    async def flow(session: AgiSession, results: list[object]) -> None:
        await session.answer()
        results.append(await session.stream_file("demo-congrats"))
        results.append(await session.get_data("beep", 3000, 4))
        results.append(await session.exec_app(*DIAL))
        for name in ("DIALSTATUS", "DIALEDPEERNAME", "DIALEDTIME", "ANSWEREDTIME", "HANGUPCAUSE"):
            results.append(await session.get_variable(name))
        results.append(await session.get_variable("GOSUB_RESULT"))
        await session.hangup()

    results, _ = await replay(start_server, "01_", flow)
    assert results == [
        None,
        "1234",
        -1,  # the bridge ended: returned, not raised
        "ANSWER",
        "Local/201@sim-agents-00000001;1",
        "64",
        "64",
        "16",
        None,
    ]


async def test_replay_06_agent_hangs_up_during_confirm(start_server: ServerFactory) -> None:
    async def flow(session: AgiSession, results: list[object]) -> None:
        assert session.request.args == ("${UNIQUEID}",)
        results.append(await session.stream_file("beep"))
        try:
            await session.wait_for_digit(5000)
        except AgiHangup:
            results.append("agent gone")
        await session.set_variable("GOSUB_RESULT", "CONTINUE")
        results.append(await session.get_variable("GOSUB_RESULT"))

    results, hung_up = await replay(start_server, "06_", flow)
    assert results == [None, "agent gone", "CONTINUE"]
    assert hung_up


async def test_replay_08_caller_hangs_up_during_stream_file(start_server: ServerFactory) -> None:
    async def flow(session: AgiSession, results: list[object]) -> None:
        await session.answer()
        try:
            await session.stream_file("demo-congrats")  # 200 result=-1 endpos=38560
        except AgiHangup as exc:
            results.append(type(exc).__name__)
        try:
            await session.get_data("beep", 3000, 4)  # HANGUP, then 511
        except AgiHangup as exc:
            results.append(type(exc).__name__)
        results.append(await session.exec_app(*DIAL))
        for name in ("DIALSTATUS", "DIALEDPEERNAME", "DIALEDTIME", "ANSWEREDTIME", "HANGUPCAUSE"):
            results.append(await session.get_variable(name))
        results.append(await session.get_variable("GOSUB_RESULT"))
        await session.hangup()  # 511: silent

    results, hung_up = await replay(start_server, "08_", flow)
    assert results == ["AgiHangup", "AgiHangup", -1, "CANCEL", "", "", "", "16", None]
    assert hung_up


async def test_replay_12_caller_hangs_up_during_get_data(start_server: ServerFactory) -> None:
    async def flow(session: AgiSession, results: list[object]) -> None:
        assert session.request.args == ("203", "beep")
        await session.answer()
        results.append(await session.stream_file("beep"))
        try:
            await session.get_data("beep", 3000, 4)
        except AgiHangup:
            results.append("hung up")
        results.append(await session.exec_app("Dial", "Local/203@sim-agents", *DIAL[2:]))
        for name in ("DIALSTATUS", "DIALEDPEERNAME", "DIALEDTIME", "ANSWEREDTIME", "HANGUPCAUSE"):
            results.append(await session.get_variable(name))
        results.append(await session.get_variable("GOSUB_RESULT"))
        await session.hangup()

    results, hung_up = await replay(start_server, "12_", flow)
    assert results == [None, "hung up", -1, "CANCEL", "", "", "", "16", None]
    assert hung_up
