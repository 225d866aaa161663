"""Lifecycle of the serving runtime: license, start, serve, drain on SIGTERM, stop.

:class:`Runtime` owns the FastAGI server and the flows' dependencies; it is
used by ``hotline run`` (against a real PBX, licensed) and by ``hotline demo``
and the tests (against the simulator, which needs no license).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable
from dataclasses import replace
from types import TracebackType
from typing import Self

from hotline.agi.server import FastAgiServer
from hotline.config import Settings
from hotline.flow.caller import FlowDeps
from hotline.flow.ports import Clock
from hotline.flow.prompting import PromptBook
from hotline.flow.registry import CallRegistry
from hotline.flow.routes import build_routes
from hotline.licensing.commands import check_license
from hotline.licensing.model import InstallationIdentity
from hotline.licensing.verify import LicenseGuard, LicenseVerifier
from hotline.logs import configure_logging, get_logger

log = get_logger()


class Runtime:
    """The FastAGI server with every hotline's routes, ready to serve."""

    def __init__(
        self,
        settings: Settings,
        *,
        call_gate: Callable[[], bool] = lambda: True,
        clock_factory: Callable[[str], Clock] | None = None,
        host: str | None = None,
        port: int | None = None,
    ) -> None:
        self.settings = settings
        self.deps = FlowDeps(
            prompts=PromptBook.from_settings(settings),
            registry=CallRegistry(),
            call_gate=call_gate,
        )
        if clock_factory is not None:
            self.deps = replace(self.deps, clock_factory=clock_factory)
        agi = settings.agi
        self.server = FastAgiServer(
            build_routes(settings, self.deps),
            host=agi.bind if host is None else host,
            port=agi.port if port is None else port,
            header_timeout=agi.header_timeout,
            command_timeout=agi.command_timeout,
        )

    @property
    def port(self) -> int:
        return self.server.port

    async def start(self) -> None:
        await self.server.start()
        log.info(
            "serving",
            host=self.settings.agi.bind,
            port=self.server.port,
            hotlines=[h.name for h in self.settings.hotlines],
        )

    async def stop(self) -> None:
        log.info("stopping", active_calls=self.server.active_calls)
        await self.server.stop(drain_timeout=self.settings.agi.drain_timeout)
        log.info("stopped")

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def installation_identity(settings: Settings) -> InstallationIdentity:
    """The installation this runtime serves, from the configured server license key."""
    key = settings.license.server_key
    return InstallationIdentity.of(server_key=key.get_secret_value() if key else None)


def license_guard(settings: Settings, *, verifier: LicenseVerifier | None = None) -> LicenseGuard:
    """Verify the module key now; raises a one-line LicenseError when calls may not be taken."""
    module_key = settings.license.module_key
    lic = check_license(
        module_key.get_secret_value() if module_key else None,
        installation_identity(settings),
        verifier=verifier,
    )
    return LicenseGuard(lic)


async def serve(
    settings: Settings,
    *,
    verifier: LicenseVerifier | None = None,
    stop: asyncio.Event | None = None,
    started: Callable[[Runtime], None] | None = None,
) -> int:
    """Serve calls until ``stop`` is set (SIGTERM/SIGINT in production); returns the exit code.

    Without a valid license this raises before any port is opened, so the
    dialplan's own fallback runs for every call.
    """
    guard = license_guard(settings, verifier=verifier)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    runtime = Runtime(settings, call_gate=guard.allows_new_calls)
    async with runtime:
        if started is not None:
            started(runtime)
        await stop.wait()
    return 0


def run_forever(settings: Settings) -> int:
    """``hotline run``: configure logging, then serve until a signal arrives."""
    logging_cfg = settings.logging
    stream = None
    if logging_cfg.file is not None:
        stream = logging_cfg.file.open("a", encoding="utf-8", buffering=1)
    configure_logging(level=logging_cfg.level, fmt=logging_cfg.format, stream=stream or sys.stdout)
    try:
        return asyncio.run(serve(settings))
    finally:
        if stream is not None:
            stream.close()
