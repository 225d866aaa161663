"""The runtime's web side, put together: one server for the page and ``/metrics``.

:class:`~hotline.runtime.Runtime` builds one :class:`WebApp` when ``[http]
page`` or ``[metrics] enabled`` asks for it and hands it what the page reads;
``hotline run`` fills in the status it alone knows (license, AMI).  Nothing
here runs per call: the calls in progress are kept anyway
(:class:`~hotline.flow.live.LiveCalls`, on the runtime's state).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.agents.board import AgentBoard
from hotline.config import Settings
from hotline.config.http import HttpConfig
from hotline.flow.live import LiveCalls
from hotline.metrics.collect import HotlineMetrics
from hotline.metrics.server import PATH, metrics_routes
from hotline.schedule.engine import Schedules
from hotline.web.dashboard import Dashboard
from hotline.web.push import Broadcaster
from hotline.web.server import WebServer
from hotline.web.snapshot import Snapshots, StatusSource
from hotline.web.stats import JournalStats


class WebApp:
    """The live page on ``[http]``'s address."""

    def __init__(
        self,
        config: HttpConfig,
        *,
        settings: Callable[[], Settings],
        schedules: Callable[[], Schedules],
        board: AgentBoard,
        live: LiveCalls,
        now: Callable[[], dt.datetime],
        metrics: HotlineMetrics | None = None,
        journal: AsyncEngine | None = None,
    ) -> None:
        self.config = config
        self.server = WebServer(config)
        self.status = StatusSource()
        self.broadcaster: Broadcaster | None = None
        if metrics is not None:
            self.server.add_routes(metrics_routes(metrics))
        if config.page:
            self.broadcaster = Broadcaster(
                Snapshots(
                    settings=settings,
                    schedules=schedules,
                    board=board,
                    live=live,
                    status=self.status,
                    now=now,
                )
            )
            # today / the last 7 days on the runtime's clock, the one its schedules are asked with
            stats = JournalStats(journal, now=now) if journal is not None else None
            Dashboard(self.server, self.broadcaster, config.language, stats)

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        """The live page's address."""
        return self.server.url

    @property
    def metrics_url(self) -> str:
        return self.config.url(self.server.port, PATH)

    async def start(self) -> None:
        await self.server.start()

    async def stop(self) -> None:
        await self.server.stop()
