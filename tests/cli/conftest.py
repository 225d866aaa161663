"""CLI tests: the command runs in the test's thread (its own ``asyncio.run``) against a
simulated installation served from a background event loop, over real sockets."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest

from hotline.cli import main
from hotline.logs import configure_logging
from hotline.sim.ami_server import AmiServer
from tests.ami.stack import Installation, install, sim_state
from tests.net import free_port

T = TypeVar("T")


class Background:
    """An event loop in a thread, for the servers a CLI command talks to."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def cli(args: Sequence[str]) -> int:
    """``hotline <args>``; the logging it configured is put back to a quiet sink after."""
    try:
        return main(list(args))
    finally:
        configure_logging(level="ERROR", fmt="json", stream=io.StringIO())


@pytest.fixture
def background() -> Iterator[Background]:
    # the background servers log from their own thread at any moment: never into the
    # command's captured stdout (a device-state warning there broke tests at random)
    configure_logging(level="ERROR", fmt="json", stream=io.StringIO())
    bg = Background()
    try:
        yield bg
    finally:
        bg.close()


@pytest.fixture
def ami(background: Background) -> Iterator[AmiServer]:
    """A simulated AMI alone (no runtime behind it)."""
    server = AmiServer(sim_state(free_port()))
    background.run(server.start())
    try:
        yield server
    finally:
        background.run(server.close())


@pytest.fixture
def installation(background: Background) -> Iterator[Installation]:
    """AMI + serving runtime + PBX simulator, in the background loop."""
    inst = background.run(install())
    try:
        yield inst
    finally:
        background.run(inst.close())


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return tmp_path / "hotline.toml"
