"""``hotline run`` reloads on SIGHUP and on ``hotline reload`` (its control socket)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket as socketlib
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hotline.cli import main
from hotline.config import load_settings
from hotline.control import ControlError, ControlServer, request_reload
from hotline.licensing.model import InstallationIdentity
from hotline.reload import ReloadResult
from hotline.runtime import Runtime, serve
from tests.conftest import CapturedLog
from tests.licensing.conftest import SERVER_A, make_vendor
from tests.net import free_port


def write_config(path: Path, *, key: str, port: int, targets: str, socket: Path) -> None:
    path.write_text(
        f"""
[asterisk]
enabled = false
[agi]
port = {port}
[license]
module_key = "{key}"
server_key = "{SERVER_A}"
[control]
socket = "{socket}"
[[hotlines]]
name = "support"
{targets}
"""
    )


TARGETS_A = '[[hotlines.targets]]\nnumber = "201"'
TARGETS_B = '[[hotlines.targets]]\nnumber = "301"\n[[hotlines.targets]]\nnumber = "302"'


@dataclass
class Served:
    """A ``serve`` running on a config file, as ``hotline run`` does."""

    runtime: Runtime
    path: Path
    key: str
    port: int
    socket: Path

    def write(self, targets: str, port: int | None = None) -> None:
        port = self.port if port is None else port
        write_config(self.path, key=self.key, port=port, targets=targets, socket=self.socket)


@pytest.fixture
async def running(tmp_path: Path, captured_log: CapturedLog) -> AsyncIterator[Served]:
    vendor = make_vendor()
    key = vendor.issue([InstallationIdentity.of(server_key=SERVER_A)])
    path = tmp_path / "hotline.toml"
    socket = tmp_path / "control.sock"
    port = free_port()
    write_config(path, key=key, port=port, targets=TARGETS_A, socket=socket)
    stop = asyncio.Event()
    ready: asyncio.Future[Runtime] = asyncio.get_running_loop().create_future()
    serving = asyncio.create_task(
        serve(
            load_settings(path),
            verifier=vendor.verifier(),
            stop=stop,
            started=ready.set_result,
            config_path=path,
        )
    )
    yield Served(await ready, path, key, port, socket)
    stop.set()
    assert await serving == 0
    assert not socket.exists()  # removed on the way out


async def test_hotline_reload_applies_a_valid_file(
    running: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime, path, socket = running.runtime, running.path, running.socket
    assert stat.S_IMODE(socket.stat().st_mode) == 0o600
    running.write(TARGETS_B)
    code = await asyncio.to_thread(main, ["reload", "--config", str(path)])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert f"{path}: reloaded (generation 2): 1 hotline (support)" in out.out
    assert [t.number for t in runtime.settings.hotlines[0].targets] == ["301", "302"]


async def test_hotline_reload_refuses_a_port_change_and_names_it(
    running: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime, path = running.runtime, running.path
    old_port = running.port
    running.write(TARGETS_B, port=old_port + 1)
    code = await asyncio.to_thread(main, ["reload", "--config", str(path)])
    err = capsys.readouterr().err.splitlines()
    assert code == 2
    assert err == [
        f"agi.port: {old_port} -> {old_port + 1}: needs a restart (hotline run); "
        "nothing was reloaded"
    ]
    assert runtime.generation == 1
    assert [t.number for t in runtime.settings.hotlines[0].targets] == ["201"]


async def test_an_invalid_file_is_reported_by_the_runtime_and_by_the_command(
    running: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime, path, socket = running.runtime, running.path, running.socket
    path.write_text(path.read_text().replace('name = "support"', 'name = "support"\nrounds = 0'))
    result = await request_reload(socket)  # the runtime's own answer
    assert result == ReloadResult(
        False,
        [
            f"{path}: hotlines[0].rounds: Input should be greater than or equal to 1 (got 0)",
            "the running configuration stays in use",
        ],
    )
    # the command validates first, prints the same line and exits 2
    code = await asyncio.to_thread(main, ["reload", "--config", str(path)])
    assert code == 2
    assert capsys.readouterr().err.splitlines() == [result.lines[0]]
    assert runtime.generation == 1


async def test_sighup_reloads(running: Served, captured_log: CapturedLog) -> None:
    runtime, socket = running.runtime, running.socket
    running.write(TARGETS_B)
    os.kill(os.getpid(), signal.SIGHUP)
    # reloads run one at a time: this one waits for SIGHUP's to finish
    assert (await request_reload(socket)).ok
    assert runtime.generation == 3
    assert [e["generation"] for e in captured_log.named("config_reloaded")] == [2, 3]


async def test_control_socket_in_use_and_bad_requests(
    running: Served,
) -> None:
    socket = running.socket

    async def never() -> ReloadResult:
        raise AssertionError("not reached")

    with pytest.raises(ControlError, match="is in use: another hotline run"):
        await ControlServer(socket, never).start()
    reader, writer = await asyncio.open_unix_connection(str(socket))
    writer.write(b"shutdown\n")
    assert (
        await reader.readline()
        == b'{"ok": false, "lines": ["unknown control request \'shutdown\'; use reload"]}\n'
    )
    writer.close()


async def test_reload_without_a_runtime_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "hotline.toml"
    write_config(path, key="x", port=4573, targets=TARGETS_A, socket=tmp_path / "none.sock")
    code = await asyncio.to_thread(main, ["reload", "--config", str(path)])
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert len(err) == 1
    assert "no runtime to reload" in err[0]


async def test_a_stale_socket_file_is_replaced_and_a_regular_file_refused(tmp_path: Path) -> None:
    async def reload() -> ReloadResult:
        return ReloadResult(True, ["done"])

    stale = tmp_path / "stale.sock"
    with socketlib.socket(socketlib.AF_UNIX) as dead:  # a killed runtime leaves its socket file
        dead.bind(str(stale))
    assert stale.exists()
    again = ControlServer(stale, reload)
    await again.start()
    assert await request_reload(stale) == ReloadResult(True, ["done"])
    await again.close()
    regular = tmp_path / "file.sock"
    regular.write_text("")
    with pytest.raises(ControlError, match="not a socket is in the way"):
        await ControlServer(regular, reload).start()
