"""The shipped FakeAsterisk helper: header bytes as Asterisk 22 writes them."""

from __future__ import annotations

import asyncio

import pytest

from hotline.agi.session import AgiSession
from hotline.agi.testing import FakeAsterisk, build_header
from tests.agi.conftest import ServerFactory


def test_header_order_empty_values_and_args() -> None:
    lines = build_header("hotline/support", args=["204", ""]).decode().split("\n")
    keys = [line.partition(":")[0] for line in lines if line]
    assert keys[:3] == ["agi_network", "agi_network_script", "agi_request"]
    assert keys[-4:] == ["agi_accountcode", "agi_threadid", "agi_arg_1", "agi_arg_2"]
    assert "agi_accountcode: " in lines
    assert "agi_arg_2: " in lines
    assert lines[-2:] == ["", ""]  # "...\n\n": the blank line ends the header


def test_extra_env_replaces_in_place_and_appends() -> None:
    text = build_header(extra_env={"agi_language": "de", "agi_custom": "x"}).decode()
    assert "agi_language: de\nagi_type: Local\n" in text
    assert text.endswith("agi_threadid: 139725530019520\nagi_custom: x\n\n")


def test_no_script_omits_network_script_like_asterisk() -> None:
    text = build_header(None).decode()
    assert "agi_network_script" not in text
    assert "agi_request: agi://127.0.0.1:4573/\n" in text


async def test_read_command_timeout_and_eof(start_server: ServerFactory) -> None:
    release = asyncio.Event()

    async def flow(session: AgiSession) -> None:
        await release.wait()

    server = await start_server({"hotline": flow})
    async with FakeAsterisk(server.port, timeout=0.1) as pbx:
        await pbx.send_header()
        with pytest.raises(TimeoutError, match="no AGI command"):
            await pbx.read_command()
        release.set()
        with pytest.raises(EOFError):
            await pbx.read_command(timeout=5)


async def test_not_connected_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="connect"):
        await FakeAsterisk(1).reply("200 result=0")
