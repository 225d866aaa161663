"""The runtime's one web server: aiohttp in the runtime's own event loop.

No thread and no second process: the page's live view reads the runtime's
state directly, and a request is served between two call events like any
other task.  Features add their routes (:meth:`WebServer.add_routes`) before
:meth:`WebServer.start`; the live page and ``/metrics`` share the address of
``[http]``.  Every request passes :mod:`hotline.web.auth` first.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from hotline.config.http import HttpConfig
from hotline.listening import listen_error
from hotline.logs import get_logger
from hotline.web.auth import Credentials, auth_middleware

log = get_logger()

#: seconds a request still running at shutdown may take (live streams end at once)
SHUTDOWN_SECONDS = 2.0
#: a connection with no request in progress is closed after this many seconds (aiohttp's
#: default is an hour: a peer that connects and says nothing would hold a socket that long);
#: a live stream is a request in progress, and sends a comment every 15 s
IDLE_SECONDS = 30.0


@web.middleware
async def _headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Read-only pages of our own: no framing, no foreign scripts, no referrer."""
    if request.method not in ("GET", "HEAD"):
        raise web.HTTPMethodNotAllowed(request.method, ["GET", "HEAD"])
    response = await handler(request)
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


class WebServer:
    """``[http]``: the live page and ``/metrics`` on one address."""

    def __init__(self, config: HttpConfig, *, idle_seconds: float = IDLE_SECONDS) -> None:
        self.config = config
        self.app = web.Application(
            middlewares=[auth_middleware(Credentials(config)), _headers],
            handler_args={
                "max_field_size": 8190,
                "max_line_size": 8190,
                "keepalive_timeout": idle_seconds,
            },
        )
        #: set when the server stops: long-lived responses (live streams) end
        self.closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._on_stop: list[Callable[[], Awaitable[None]]] = []

    def add_routes(self, routes: Iterable[web.AbstractRouteDef]) -> None:
        self.app.add_routes(list(routes))

    def on_stop(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._on_stop.append(callback)

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the web server is not started")
        return self._port

    @property
    def url(self) -> str:
        return self.config.url(self._port)

    async def start(self) -> None:
        """Listen on ``[http]``; a port in use or a bad bind is a one-line ConfigError."""
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)
        await runner.setup()
        site = web.TCPSite(runner, self.config.bind, self.config.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise listen_error(exc, self.config.bind, self.config.port, "http", 9464) from None
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        log.info("web_serving", url=self.url, authenticated=self.config.authenticated)

    async def stop(self) -> None:
        self.closing.set()
        for callback in self._on_stop:
            with contextlib.suppress(Exception):
                await callback()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
