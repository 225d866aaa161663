"""The ``/metrics`` route, on the runtime's one web server (:mod:`hotline.web.server`).

Served in the runtime's event loop like the live page: rendering the
registry takes well under a millisecond (a few dozen series), so a scrape
costs less than the thread prometheus-client's own server would.  The
route is behind the same credentials as the page when ``[http]`` has them
(Prometheus: ``authorization`` or ``basic_auth`` in its scrape config).
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hotline.metrics.collect import HotlineMetrics

PATH = "/metrics"


def metrics_routes(metrics: HotlineMetrics) -> list[web.RouteDef]:
    """``GET /metrics``: the registry in Prometheus' text format."""

    async def scrape(_request: web.Request) -> web.Response:
        response = web.Response(body=generate_latest(metrics.registry))
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        response.headers["Cache-Control"] = "no-store"
        return response

    return [web.get(PATH, scrape)]
