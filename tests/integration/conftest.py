"""Fixtures for tests against a real Asterisk: one PBX per session, one runtime per test."""

# Every wait here has its own bound; that is the point of these helpers.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hotline.ami.client import AmiClient
from hotline.config import Settings, load_settings
from hotline.logs import clear_context, configure_logging
from hotline.prompts.store import install_default_prompts
from hotline.runtime import Runtime, serve
from tests.integration.hagi_dns import dnsmasq
from tests.integration.harness import (
    LAB_SERVER_KEY,
    AmiEvents,
    LabLicense,
    LogWatcher,
    lab_environment,
    lab_license,
)
from tests.integration.pbx import AsteriskLab, asterisk_binary
from tests.net import free_port

NO_ASTERISK = (
    "no Asterisk binary: set ASTERISK_BIN=/path/to/asterisk or put asterisk on PATH "
    "(these tests prove docker/asterisk/etc against a real Asterisk)"
)

#: the AMI events the tests wait on (all let through by the shipped manager.conf)
WATCHED_EVENTS = ("DialBegin", "DialEnd", "Hangup", "BridgeEnter")


@pytest.fixture(scope="session")
def asterisk_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AsteriskLab]:
    """Asterisk with the shipped configs, started once for all integration tests."""
    binary = asterisk_binary()
    if binary is None:
        pytest.skip(NO_ASTERISK)
    lab = AsteriskLab(
        binary, tmp_path_factory.mktemp("asterisk"), agi_port=free_port(), ami_port=free_port()
    )
    lab.prepare()
    install_default_prompts(lab.sounds_dir)
    lab.start(env={"HOTLINE_SERVER_KEY": LAB_SERVER_KEY})
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="session")
def license_material() -> LabLicense:
    return lab_license()


@dataclass
class Lab:
    """What a test drives: the PBX over AMI, and (once started) the runtime."""

    pbx: AsteriskLab
    license: LabLicense
    tmp: Path
    log: LogWatcher
    ami: AmiClient
    events: AmiEvents
    env: dict[str, str]
    settings: Settings | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[int] | None = None
    _calls: list[asyncio.subprocess.Process] = field(default_factory=list)

    def load(self, config: Path) -> Settings:
        return load_settings(config, environ=self.env)

    async def start_runtime(self, config: Path) -> Runtime:
        """Serve calls with ``config`` (lab addresses from the environment), licensed."""
        self.settings = self.load(config)
        started: asyncio.Future[Runtime] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(
            serve(
                self.settings,
                verifier=self.license.verifier,
                stop=self._stop,
                started=started.set_result,
            )
        )
        pending: set[asyncio.Future[Any]] = {self._task, started}
        done, _ = await asyncio.wait(pending, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        if self._task in done:
            self._task.result()  # raises why it stopped
            raise AssertionError("the runtime stopped right after starting")
        if started not in done:
            raise AssertionError("the runtime did not start within 10 s")
        return started.result()

    def sigterm(self) -> None:
        """What SIGTERM does to ``hotline run``: the runtime starts draining."""
        self._stop.set()

    async def runtime_exited(self, timeout: float) -> int:
        """The exit code of a runtime that was told to stop, once it has."""
        assert self._task is not None
        code = await asyncio.wait_for(asyncio.shield(self._task), timeout)
        return code

    async def stop_runtime(self) -> None:
        if self._task is None:
            return
        self._stop.set()
        await asyncio.wait_for(self._task, 20)
        self._task = None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)

    async def hotline_call(self, config: Path, hotline: str, *args: str) -> CallProcess:
        """Start ``hotline call HOTLINE ARGS`` (the tester's command) against the lab."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hotline",
            "call",
            "--config",
            str(config),
            hotline,
            *args,
            env={**os.environ, **self.env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._calls.append(process)
        return CallProcess(process)

    def caller_leg(self) -> str:
        """The channel of the call the runtime is serving (the hotline's ``;1`` half)."""
        started = self.log.named("call_started")
        assert started, "the runtime has not started serving a call"
        channel: str = started[-1]["channel"]
        return channel

    async def hang_up(self, channel: str) -> None:
        await self.ami.action("Hangup", {"Channel": channel})

    async def wait_for_application(self, channel: str, application: str, timeout: float) -> str:
        """The ``core show channels concise`` line once ``channel`` runs ``application``.

        The shipped AMI filter passes no dialplan events, so this polls the CLI.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            listing = await asyncio.to_thread(self.pbx.cli, "core show channels concise")
            for line in listing.splitlines():
                fields = line.split("!")
                if len(fields) > 5 and fields[0] == channel and fields[5] == application:
                    return line
            if loop.time() > deadline:
                raise AssertionError(f"{channel} did not run {application} within {timeout:g} s")
            await asyncio.sleep(0.2)  # polling: no event announces a dialplan application

    async def summary(self, timeout: float) -> dict[str, Any]:
        return await self.log.event("call_summary", timeout)


class CallProcess:
    """A running ``hotline call``: its exit code and printed report once it is done."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.output = ""

    async def finished(self, timeout: float) -> tuple[int, str]:
        """(exit code, the outcome word it printed), waiting at most ``timeout`` s."""
        try:
            stdout, _ = await asyncio.wait_for(self.process.communicate(), timeout)
        except TimeoutError:
            raise AssertionError(f"hotline call still running after {timeout:g} s") from None
        self.output = stdout.decode(errors="replace")
        outcome = next(
            (
                line.split()[1]
                for line in self.output.splitlines()
                if line.startswith("outcome: ") and len(line.split()) > 1
            ),
            "",
        )
        assert self.process.returncode is not None
        return self.process.returncode, outcome


def phone_side(channel: str) -> str:
    """The ``;2`` half of a Local channel: the scripted caller or agent itself, its "phone"."""
    return channel.replace(";1", ";2")


@pytest.fixture
async def lab(
    asterisk_lab: AsteriskLab, license_material: LabLicense, tmp_path: Path
) -> AsyncIterator[Lab]:
    watcher = LogWatcher()
    configure_logging(level="DEBUG", fmt="json", stream=watcher)
    env = lab_environment(asterisk_lab, license_material.module_key)
    ami = AmiClient(
        host="127.0.0.1",
        port=asterisk_lab.ami_port,
        username=asterisk_lab.account.username,
        secret=asterisk_lab.account.secret,
    )
    await ami.start()
    the_lab = Lab(
        asterisk_lab, license_material, tmp_path, watcher, ami, AmiEvents(ami, WATCHED_EVENTS), env
    )
    try:
        yield the_lab
    finally:
        # for a failed test: the runtime's log beside Asterisk's (asterisk_lab.full_log)
        (tmp_path / "runtime.jsonl").write_text(watcher.getvalue(), encoding="utf-8")
        # leave no call behind for the next test, then let the runtime drain
        with contextlib.suppress(Exception):
            await asyncio.to_thread(asterisk_lab.cli, "channel request hangup all")
        for process in the_lab._calls:
            if process.returncode is None:
                process.kill()
                await process.wait()
        await the_lab.stop_runtime()
        await ami.close()
        clear_context()


def targets_of(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(number, outcome) of each dial attempt in a call summary."""
    return [(t["number"], t["outcome"]) for t in summary["targets"]]


@pytest.fixture
def dns(tmp_path: Path) -> Iterator[dict[str, int]]:
    """dnsmasq with the shipped SRV example: {"rt-a.hotline.internal": port, "rt-b…": port}."""
    with dnsmasq(tmp_path) as ports:
        yield ports
