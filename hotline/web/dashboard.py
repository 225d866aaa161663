"""The live page's routes: the page itself, its live stream, its numbers.

* ``/`` the page (``hotline/web/static/``: HTML, script and style of our own;
  nothing is fetched from elsewhere, the runtime may have no internet);
* ``/api/live`` server-sent events: the snapshot (:mod:`hotline.web.snapshot`)
  at once, then on every change (:mod:`hotline.web.push`).  ``retry`` tells the
  browser to reconnect within a second when the runtime restarts;
* ``/api/snapshot`` the same snapshot once, as JSON (scripts, curl);
* ``/api/stats?period=today|week`` the journal's numbers with their charts
  (:mod:`hotline.web.stats`).
"""

from __future__ import annotations

import contextlib
from importlib import resources

import orjson
from aiohttp import web

from hotline.logs import get_logger
from hotline.web.push import Broadcaster
from hotline.web.server import WebServer
from hotline.web.stats import PERIODS, JournalStats

log = get_logger()

#: the page's files: name -> content type
_STATIC = {
    "app.js": "text/javascript",
    "style.css": "text/css",
    "i18n.js": "text/javascript",
}
#: the browser reconnects this many milliseconds after the stream broke
RETRY_MS = 1000
#: a comment line this often keeps proxies and the browser from timing out an idle stream
KEEPALIVE_SECONDS = 15.0


def _static(name: str) -> bytes:
    return resources.files("hotline.web").joinpath("static").joinpath(name).read_bytes()


class Dashboard:
    """Adds the page's routes to a :class:`WebServer`."""

    def __init__(
        self,
        server: WebServer,
        broadcaster: Broadcaster,
        language: str,
        stats: JournalStats | None = None,
    ) -> None:
        self.server = server
        self.broadcaster = broadcaster
        self.stats = stats
        self._files = {name: _static(name) for name in _STATIC}
        self._index = _static("index.html").replace(b'lang="en"', f'lang="{language}"'.encode())
        server.add_routes(
            [
                web.get("/", self.index),
                web.get("/static/{name}", self.static),
                web.get("/api/live", self.live),
                web.get("/api/snapshot", self.snapshot),
                web.get("/api/stats", self.figures),
            ]
        )
        server.on_stop(broadcaster.close)

    async def index(self, _request: web.Request) -> web.Response:
        return web.Response(
            body=self._index,
            content_type="text/html",
            charset="utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = self._files.get(name)
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(
            body=body,
            content_type=_STATIC[name],
            charset="utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    async def snapshot(self, _request: web.Request) -> web.Response:
        body = self.broadcaster.message(orjson.dumps(await self.broadcaster.snapshots.build()))
        return web.Response(
            body=body, content_type="application/json", headers={"Cache-Control": "no-store"}
        )

    async def figures(self, request: web.Request) -> web.Response:
        period = request.query.get("period", "today")
        if period not in PERIODS:
            raise web.HTTPBadRequest(text="period: use today or week\n")
        body: dict[str, object]
        if self.stats is None:
            body = {"journal": False}
        else:
            hotlines = [h.name for h in self.broadcaster.snapshots.settings().hotlines]
            try:
                body = await self.stats.figures(period, hotlines)
            except Exception as exc:  # noqa: BLE001 - a database down must not break the page
                log.warning("web_stats_unavailable", error=f"{type(exc).__name__}: {exc}")
                body = {"journal": True, "unavailable": True}
        return web.Response(
            body=orjson.dumps(body),
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    async def live(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        closing = self.server.closing
        with contextlib.suppress(ConnectionError):
            await response.write(b"retry: %d\n\n" % RETRY_MS)
            async with self.broadcaster.subscribe() as page:
                while not closing.is_set():
                    frame = await page.next(KEEPALIVE_SECONDS)
                    if frame is None:
                        await response.write(b": keep-alive\n\n")
                    elif frame:  # b"": the server closes (Broadcaster.close)
                        await response.write(frame)
        return response
