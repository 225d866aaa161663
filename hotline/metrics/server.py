"""The ``/metrics`` HTTP endpoint: prometheus-client's own server, in its own thread.

The exposition server is prometheus-client's (a small threaded WSGI server):
scrapes are answered off the event loop, so a slow or hostile scraper never
delays a call.  It binds ``[metrics] bind`` (loopback by default).
"""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server

from hotline.config.metrics import MetricsConfig
from hotline.errors import HotlineError
from hotline.logs import get_logger
from hotline.metrics.collect import HotlineMetrics

log = get_logger()


class MetricsError(HotlineError):
    """The metrics endpoint cannot start (e.g. its port is in use): a config mistake."""

    exit_code = 2


class MetricsServer:
    def __init__(self, config: MetricsConfig, metrics: HotlineMetrics) -> None:
        self.config = config
        self.metrics = metrics
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        return self.config.url(self.port if self._server is not None else None)

    def start(self) -> None:
        try:
            self._server, self._thread = start_http_server(
                self.config.port, addr=self.config.bind, registry=self.metrics.registry
            )
        except OSError as exc:
            raise MetricsError(
                f"metrics: cannot listen on {self.config.bind}:{self.config.port}: "
                f"{exc.strerror or exc}; set [metrics] port (or enabled = false)"
            ) from None
        log.info("metrics_serving", url=self.url)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = None
            self._thread = None
