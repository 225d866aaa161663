"""Lifecycle of the serving runtime: AMI and startup checks, license, serve, drain, stop.

:class:`Runtime` owns the FastAGI server and the flows' dependencies; it is
used by ``hotline run`` (against a real PBX, licensed) and by ``hotline demo``
and the tests (against the simulator, which needs no license).

:func:`serve` is ``hotline run``: with ``asterisk.enabled`` it logs in to AMI
(wrong credentials end it at once), runs the startup checks (any error ends
it), reads the PBX's identity for the license, and only then opens the
FastAGI port.  While serving, AMI only enriches the call log: a lost AMI
connection is re-made in the background and never stops a call.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self, TextIO

from hotline.agents.board import AgentBoard
from hotline.agents.feed import DeviceStateFeed
from hotline.agents.observer import BoardObserver
from hotline.agents.plan import agents_of
from hotline.agi.server import FastAgiServer
from hotline.agi.wire import AgiRequest
from hotline.ami.calllog import CallEventLog
from hotline.ami.client import AmiClient
from hotline.ami.hangups import HangupFeed
from hotline.ami.identity import PbxIdentity
from hotline.ami_wiring import connect_pbx, pbx_identity
from hotline.ami_wiring import dial_details as ami_dial_details
from hotline.ami_wiring import installation_identity as _installation_identity
from hotline.config import Settings
from hotline.contract import CONFIRM_ROUTE
from hotline.control import reloadable
from hotline.errors import ConfigError
from hotline.eventloop import run
from hotline.flow.caller import DialDetails, FlowDeps
from hotline.flow.ports import Clock
from hotline.flow.prompting import PromptBook
from hotline.flow.routes import build_routes
from hotline.flow.state import RuntimeState
from hotline.gcguard import GcGuard, event_loop_name
from hotline.heap import heap_name
from hotline.journal.writer import JournalWriter
from hotline.licensing.model import InstallationIdentity
from hotline.licensing.verify import LicenseGuard, LicenseVerifier, check_license
from hotline.listening import listen_error
from hotline.logs import configure_logging, flush_logs, get_logger
from hotline.metrics.collect import HotlineMetrics
from hotline.schedule.engine import Schedules
from hotline.web.app import WebApp

if TYPE_CHECKING:
    from hotline.shared_state import SharedState

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
        events: CallEventLog | None = None,
        now: Callable[[], dt.datetime] | None = None,
        state: RuntimeState | None = None,
        dial_details: DialDetails | None = None,
        gc_guard: bool = False,
    ) -> None:
        """``dial_details`` replaces what ``events`` would give (a code seam for tests)."""
        self.settings = settings
        #: config generation: 1 at start, +1 per applied reload
        self.generation = 1
        #: one reload at a time (SIGHUP and ``hotline reload`` may meet)
        self.reload_lock = asyncio.Lock()
        #: ``hotline run``'s garbage collection (hotline/gcguard.py); tests and the demo
        #: keep the interpreter's own
        self.gc = GcGuard(lambda: self.server.active_calls) if gc_guard else None
        #: AMI's view of the calls (None without AMI): target outcomes carry its fields
        self.events = events
        #: what outlives calls and configs (lockouts, the registry, the agent board)
        self.state = state or RuntimeState()
        self.state.board.watch(agents_of(settings.hotlines))
        if dial_details is None and events is not None:
            dial_details = ami_dial_details(events)
        self.deps = FlowDeps(
            prompts=PromptBook.from_settings(settings),
            registry=self.state.registry,
            call_gate=call_gate,
            dial_details=dial_details,
            schedules=Schedules.from_settings(settings),
            state=self.state,
            pin_limits=settings.pin_guard,
            bridged=events.bridged if events is not None else None,
        )
        self._board_observer = BoardObserver(self.board, settings.hotlines)
        self.deps.observers.add(self._board_observer)
        self.state.live.runtime = settings.state.runtime_id
        #: the state shared with other runtimes through Redis (None: ``[state]`` unset)
        self.shared = shared_state(settings, self.state, self.board)
        # the calls in progress are kept for their readers only: the live page and, through
        # Redis, the other runtimes' pages (each is switched on by a restart, never a reload)
        if settings.http.page or self.shared is not None:
            self.deps.observers.add(self.state.live)
        if clock_factory is not None:
            self.deps = replace(self.deps, clock_factory=clock_factory)
        if now is not None:
            self.deps = replace(self.deps, now=now)
        agi = settings.agi
        #: where the FastAGI server listens (``[agi]`` unless the caller chose)
        self.listen = (agi.bind if host is None else host, agi.port if port is None else port)
        self.server = FastAgiServer(
            build_routes(settings, self.deps),
            host=self.listen[0],
            port=self.listen[1],
            header_timeout=agi.header_timeout,
            command_timeout=agi.command_timeout,
            max_connections=agi.max_connections,
        )
        #: the call journal ([journal]) and Prometheus metrics ([metrics]), when enabled
        self.journal = JournalWriter(settings.journal) if settings.journal.enabled else None
        self.metrics = HotlineMetrics()
        self.metrics.watch_agi(self.server)
        if self.journal is not None:
            self.deps.observers.add(self.journal)
            self.metrics.watch_journal(self.journal)
        if settings.metrics.enabled:
            self.deps.observers.add(self.metrics)
        #: the one web server ([http]): the live page and/or /metrics, when enabled
        self.web = self._web(settings) if settings.http.page or settings.metrics.enabled else None

    def _web(self, settings: Settings) -> WebApp:
        web = WebApp(
            settings.http,
            settings=lambda: self.settings,
            schedules=lambda: self.deps.schedules,
            board=self.board,
            live=self.state.live,
            now=lambda: self.deps.now(),
            metrics=self.metrics if settings.metrics.enabled else None,
            journal=self.journal.engine if self.journal is not None else None,
        )
        return web

    @property
    def board(self) -> AgentBoard:
        """Every agent's state, for all hotlines (skipping, strategies)."""
        return self.state.board

    @property
    def port(self) -> int:
        return self.server.port

    def config_deps(self, settings: Settings) -> FlowDeps:
        """The flows' dependencies for ``settings``: what derives from a config is built
        anew (prompts, schedules, limits), everything the runtime owns is kept."""
        return replace(
            self.deps,
            prompts=PromptBook.from_settings(settings),
            schedules=Schedules.from_settings(settings),
            pin_limits=settings.pin_guard,
        )

    def apply(self, settings: Settings, deps: FlowDeps | None = None) -> None:
        """Serve new calls with ``settings`` (checked by :mod:`hotline.reload`).

        Calls in progress keep the hotline config and deps their handler was
        built with; their confirm legs find those through ``state.calls``.
        """
        deps = deps if deps is not None else self.config_deps(settings)
        routes = build_routes(settings, deps)
        self.board.watch(agents_of(settings.hotlines))
        self._board_observer.watch(settings.hotlines)
        self.settings, self.deps = settings, deps
        self.server.header_timeout = settings.agi.header_timeout
        self.server.command_timeout = settings.agi.command_timeout
        self.server.set_routes(routes)
        self.generation += 1

    async def start(self) -> None:
        """Start the journal, shared state and the web server ([http]: page, metrics),
        then open the FastAGI port; a port in use or a bad bind address is a one-line
        :class:`~hotline.errors.ConfigError`."""
        if self.journal is not None:
            await self.journal.start()
        try:
            if self.shared is not None:
                await self.shared.start()
            if self.web is not None:
                await self.web.start()
            try:
                await self.server.start()
            except OSError as exc:
                raise listen_error(exc, *self.listen) from None
        except BaseException:
            await self._stop_observers()
            raise
        if self.gc is not None:
            self.gc.start()
        log.info(
            "serving",
            host=self.settings.agi.bind,
            port=self.server.port,
            hotlines=[h.name for h in self.settings.hotlines],
            event_loop=event_loop_name(asyncio.get_running_loop()),
            heap=heap_name(),
            gc=self.gc.policy if self.gc is not None else "interpreter default",
        )

    async def stop(self) -> None:
        """Drain, then stop: calls in progress finish (their agents' confirm legs are still
        served), new calls are refused so the dialplan's fallback runs for them."""
        log.info(
            "stopping",
            active_calls=self.server.active_calls,
            calls_in_progress=len(self.state.calls),
            drain_timeout=self.settings.agi.drain_timeout,
        )
        await self.server.stop(
            drain_timeout=self.settings.agi.drain_timeout, admit=self._admit_while_draining
        )
        if self.gc is not None:
            await self.gc.stop()
        await self._stop_observers()  # after the drain: the last calls' records are queued
        log.info("stopped")

    async def _stop_observers(self) -> None:
        if self.web is not None:
            await self.web.stop()
        if self.journal is not None:
            await self.journal.stop()
        if self.shared is not None:
            await self.shared.close()

    def _admit_while_draining(self, request: AgiRequest) -> bool:
        """Only an agent's confirm leg of a call this runtime is still serving."""
        args = request.args
        admitted = request.path == CONFIRM_ROUTE and bool(args) and args[0] in self.state.calls
        if not admitted:
            log.warning(
                "call_refused",
                route=request.path,
                reason=(
                    "draining: the runtime is stopping and this is no call of its own"
                    if request.path == CONFIRM_ROUTE
                    else "draining: the runtime is stopping, new calls go to the dialplan fallback"
                ),
            )
        return admitted

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


def shared_state(settings: Settings, state: RuntimeState, board: AgentBoard) -> SharedState | None:
    """Redis-backed shared state when ``[state] redis_url`` is set (redis-py imported only then)."""
    if not settings.state.shared:
        return None
    from hotline.shared_state import SharedState  # optional: only with [state]

    return SharedState(settings.state, state, board)


def installation_identity(
    settings: Settings, pbx: PbxIdentity | None = None
) -> InstallationIdentity:
    """The installation this runtime serves: ``license.server_key`` first, else the PBX's
    server key variable; plus the PBX's Entity ID when AMI read it (``pbx``)."""
    return _installation_identity(settings, pbx)


def license_guard(
    settings: Settings,
    *,
    verifier: LicenseVerifier | None = None,
    pbx: PbxIdentity | None = None,
) -> LicenseGuard:
    """Verify the module key now; raises a one-line LicenseError when calls may not be taken."""
    module_key = settings.license.module_key
    lic = check_license(
        module_key.get_secret_value() if module_key else None,
        installation_identity(settings, pbx),
        verifier=verifier,
    )
    return LicenseGuard(lic)


async def serve(
    settings: Settings,
    *,
    verifier: LicenseVerifier | None = None,
    stop: asyncio.Event | None = None,
    started: Callable[[Runtime], None] | None = None,
    ami: AmiClient | None = None,
    config_path: Path | None = None,
    gc_guard: bool = False,
) -> int:
    """Serve calls until ``stop`` is set (SIGTERM/SIGINT in production); returns the exit code.

    Everything that can refuse happens before the FastAGI port opens, each
    as one line (the exception's message): wrong AMI credentials
    (``AmiAuthError``), failed startup checks (``StartupCheckError``, one
    line per problem), no valid license (``LicenseError``); then a port that
    cannot be opened is one line naming ``agi.port`` or ``agi.bind``
    (:mod:`hotline.listening`).  Without a port the dialplan's own fallback
    runs for every call.  ``ami`` replaces the
    client built from ``[asterisk]`` (tests: a fast reconnect backoff); it
    is closed on shutdown, after the calls in progress have drained.
    With ``config_path``, SIGHUP and ``hotline reload`` reload it (hotline/reload.py).
    ``gc_guard``: ``hotline run``'s garbage collection (:mod:`hotline.gcguard`).
    """
    client: AmiClient | None = None
    feed: DeviceStateFeed | None = None
    hangups: HangupFeed | None = None
    events: CallEventLog | None = None
    pbx: PbxIdentity | None = None
    if settings.asterisk.enabled:
        client, events, report = await connect_pbx(settings, ami)
        pbx = pbx_identity(report)
    try:
        guard = license_guard(settings, verifier=verifier, pbx=pbx)
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        runtime = Runtime(
            settings, call_gate=guard.allows_new_calls, events=events, gc_guard=gc_guard
        )
        if runtime.web is not None:
            runtime.web.status.license = guard.license
            if client is not None:
                runtime.web.status.ami_connected = lambda: client.connected
        feed = DeviceStateFeed(runtime.board, client) if client is not None else None
        if feed is not None:
            feed.attach()
        if client is not None:
            hangups = HangupFeed(runtime.state.presence, client)
            hangups.attach()
        runtime.metrics.watch_license(guard.license.expires)
        if client is not None:
            runtime.metrics.watch_ami(client)
        async with runtime, contextlib.AsyncExitStack() as stack:
            if config_path is not None:
                await stack.enter_async_context(reloadable(runtime, config_path))
            if started is not None:
                started(runtime)
            await stop.wait()
    finally:
        if hangups is not None:
            await hangups.close()
        if feed is not None:
            await feed.close()
        if client is not None:
            await client.close()
    return 0


def _open_log_file(path: Path) -> TextIO:
    try:
        return path.open("a", encoding="utf-8", buffering=1)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError([f"logging.file: cannot append to {path}: {reason}"]) from None


def run_forever(
    settings: Settings,
    *,
    verifier: LicenseVerifier | None = None,
    config_path: Path | None = None,
) -> int:
    """``hotline run``: configure logging, then serve until a signal arrives.

    ``verifier`` is a code seam (the benchmarks' throw-away vendor key), never config.
    """
    logging_cfg = settings.logging
    stream = _open_log_file(logging_cfg.file) if logging_cfg.file is not None else None
    configure_logging(
        level=logging_cfg.level, fmt=logging_cfg.format, stream=stream or sys.stdout, batch=True
    )

    def started(_runtime: Runtime) -> None:
        flush_logs()  # the ``serving`` line is what service managers and people wait for

    try:
        return run(
            serve(
                settings, verifier=verifier, started=started, config_path=config_path, gc_guard=True
            )
        )
    finally:
        flush_logs()
        if stream is not None:
            stream.close()
