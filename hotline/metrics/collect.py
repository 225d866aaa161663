"""The runtime's Prometheus metrics, fed by call events and read from the runtime's parts.

Call metrics are updated by :meth:`HotlineMetrics.on_call_event` (a call
observer: counter increments, no I/O).  Everything else is read when
Prometheus scrapes: AGI protocol errors from the FastAGI server, AMI's
connection, the license's days left, the journal writer's queue.  Each
source is optional (``watch_*``); a metric without its source is simply not
exported.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import date
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hotline.flow.observers import CallEnded, CallEvent, CallStarted, TargetEnded

#: wait until connected (seconds): a hotline caller waits seconds to minutes
WAIT_BUCKETS = (1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0)


class _ProtocolErrors(Protocol):
    @property
    def protocol_errors(self) -> int: ...


class _Connected(Protocol):
    @property
    def connected(self) -> bool: ...


class _JournalState(Protocol):
    @property
    def pending(self) -> int: ...
    @property
    def written(self) -> int: ...
    @property
    def lost(self) -> int: ...
    @property
    def failures(self) -> int: ...
    @property
    def duplicates(self) -> int: ...


class HotlineMetrics:
    """Every metric of one runtime, in its own registry (never the process-global one)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.calls = Counter(
            "hotline_calls",
            "Calls ended, by hotline and outcome",
            ["hotline", "outcome"],
            registry=r,
        )
        self.wait = Histogram(
            "hotline_wait_seconds",
            "Wait from arrival until an agent accepted (connected calls)",
            ["hotline"],
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self.in_progress = Gauge(
            "hotline_calls_in_progress", "Calls being served now", ["hotline"], registry=r
        )
        self.attempts = Counter(
            "hotline_attempts",
            "Dial attempts ended, by hotline and outcome",
            ["hotline", "outcome"],
            registry=r,
        )
        self._sources = _Sources()
        r.register(self._sources)

    # --- call events (the call path: counters only) -------------------------

    def on_call_event(self, event: CallEvent) -> None:
        if isinstance(event, CallStarted):
            self.in_progress.labels(event.hotline).inc()
        elif isinstance(event, TargetEnded):
            self.attempts.labels(event.hotline, event.record.outcome).inc()
        elif isinstance(event, CallEnded):
            self.in_progress.labels(event.hotline).dec()
            self.calls.labels(event.hotline, event.outcome).inc()
            if event.wait_seconds is not None:
                self.wait.labels(event.hotline).observe(event.wait_seconds)

    # --- sources read at scrape time ----------------------------------------

    def watch_agi(self, server: _ProtocolErrors) -> None:
        self._sources.agi = server

    def watch_ami(self, client: _Connected) -> None:
        self._sources.ami = client

    def watch_license(self, expires: date | None, today: Callable[[], date] = date.today) -> None:
        """The license's last valid day (None: it does not expire)."""
        self._sources.license = (expires, today)

    def watch_journal(self, writer: _JournalState) -> None:
        self._sources.journal = writer


class _Sources(Collector):
    """Metrics read from the runtime's parts when Prometheus scrapes."""

    def __init__(self) -> None:
        self.agi: _ProtocolErrors | None = None
        self.ami: _Connected | None = None
        self.license: tuple[date | None, Callable[[], date]] | None = None
        self.journal: _JournalState | None = None

    def collect(self) -> Iterator[Metric]:
        if self.agi is not None:
            yield CounterMetricFamily(
                "hotline_agi_protocol_errors",
                "FastAGI connections or calls ended by data that is not AGI",
                value=self.agi.protocol_errors,
            )
        if self.ami is not None:
            yield GaugeMetricFamily(
                "hotline_ami_connected",
                "1 while logged in to the Asterisk Manager Interface",
                value=1.0 if self.ami.connected else 0.0,
            )
        if self.license is not None:
            expires, today = self.license
            days = math.inf if expires is None else float((expires - today()).days)
            yield GaugeMetricFamily(
                "hotline_license_days_left",
                "Days until the license's last valid day (0 on it; +Inf: no expiry)",
                value=days,
            )
        if self.journal is not None:
            journal = self.journal
            yield GaugeMetricFamily(
                "hotline_journal_pending", "Calls not yet written to the journal", journal.pending
            )
            yield CounterMetricFamily(
                "hotline_journal_written", "Calls written to the journal", value=journal.written
            )
            yield CounterMetricFamily(
                "hotline_journal_lost",
                "Calls never written (queue full or runtime stopped while the database was down)",
                value=journal.lost,
            )
            yield CounterMetricFamily(
                "hotline_journal_write_failures",
                "Failed journal writes (each is retried)",
                value=journal.failures,
            )
            yield CounterMetricFamily(
                "hotline_journal_duplicates",
                "Calls not stored because their call id was (two PBXs without own systemname)",
                value=journal.duplicates,
            )
