"""``/metrics`` scraped over HTTP while the runtime serves simulated calls: it shows what the
journal stores."""

from __future__ import annotations

import asyncio
import urllib.request
from collections import Counter
from datetime import date
from pathlib import Path

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from hotline.config.http import HttpConfig
from hotline.config.journal import JournalConfig
from hotline.config.metrics import MetricsConfig
from hotline.errors import ConfigError
from hotline.flow.observers import CallEvent, TargetDialing
from hotline.metrics.collect import HotlineMetrics
from hotline.metrics.server import metrics_routes
from hotline.web.server import WebServer
from tests.journal.stack import PIN, journal_settings, serving, stored_calls, support

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> Samples:
    """One scrape, as Prometheus does it (blocking: call it off the loop)."""
    with urllib.request.urlopen(url, timeout=5) as response:
        return parse(response.read().decode())


def parse(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


class ScrapeWhileDialing:
    """Reads the registry once, synchronously, the moment a call dials its first target.

    Exactly the bytes ``/metrics`` answers with (hotline/metrics/server.py); read in
    place because the endpoint is served by this same event loop, which the
    call's event holds right now.
    """

    def __init__(self, metrics: HotlineMetrics) -> None:
        self.metrics = metrics
        self.seen: Samples | None = None

    def on_call_event(self, event: CallEvent) -> None:
        if isinstance(event, TargetDialing) and self.seen is None:
            self.seen = parse(generate_latest(self.metrics.registry).decode())


async def test_metrics_match_the_journal(tmp_path: Path) -> None:
    journal = JournalConfig.model_validate(
        {"enabled": True, "path": str(tmp_path / "j.sqlite"), "caller": "hashed"}
    )
    settings = journal_settings(
        journal,
        metrics=MetricsConfig(enabled=True).model_dump(),
        http=HttpConfig(port=0).model_dump(),
    )
    scripts = (
        [support(PIN) for _ in range(7)]  # 201 no answer, 202 voicemail, 203 accepts
        + [support("0000", "1111", "2222") for _ in range(3)]  # wrong PIN
        + [support(PIN, hangup_during=("ringing", 2)) for _ in range(4)]  # gives up at 202
    )
    async with serving(settings, "201=no-answer,202=voicemail,203=accept") as stack:
        assert stack.runtime.web is not None
        assert stack.runtime.journal is not None
        url = stack.runtime.web.metrics_url
        probe = ScrapeWhileDialing(stack.runtime.metrics)
        stack.runtime.deps.observers.add(probe)
        (first,) = await stack.calls([support(PIN)])
        await stack.calls(scripts)
        # a peer that is not Asterisk: one protocol error
        reader, writer = await asyncio.open_connection("127.0.0.1", stack.runtime.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        await reader.read()
        writer.close()
        await stack.runtime.journal.drained()
        samples = await asyncio.to_thread(scrape, url)
        engine = stack.runtime.journal.engine
        stored = await stored_calls(engine)

    assert first.outcome == "connected"
    # while the first call was dialling, it was the one call in progress
    assert probe.seen is not None
    assert value(probe.seen, "hotline_calls_in_progress", hotline="support") == 1
    assert value(probe.seen, "hotline_calls_total", hotline="support", outcome="connected") == 0

    assert len(stored) == 15
    by_outcome = Counter(row["outcome"] for row in stored.values())
    assert by_outcome == {"connected": 8, "pin_failed": 3, "abandoned": 4}
    for outcome, count in by_outcome.items():
        assert value(samples, "hotline_calls_total", hotline="support", outcome=outcome) == count
    attempts = Counter(a["outcome"] for row in stored.values() for a in row["attempts"])
    assert attempts == {"no_answer": 12, "not_confirmed": 8, "confirmed": 8, "caller_gone": 4}
    for outcome, count in attempts.items():
        assert value(samples, "hotline_attempts_total", hotline="support", outcome=outcome) == count
    waits = [row["wait_seconds"] for row in stored.values() if row["wait_seconds"] is not None]
    assert value(samples, "hotline_wait_seconds_count", hotline="support") == len(waits) == 8
    assert abs(value(samples, "hotline_wait_seconds_sum", hotline="support") - sum(waits)) < 1e-6
    assert value(samples, "hotline_calls_in_progress", hotline="support") == 0
    assert value(samples, "hotline_journal_written_total") == 15
    assert value(samples, "hotline_journal_pending") == 0
    assert value(samples, "hotline_journal_lost_total") == 0
    assert value(samples, "hotline_journal_duplicates_total") == 0
    assert ("hotline_journal_duplicates_total", ()) in samples
    assert value(samples, "hotline_agi_protocol_errors_total") == 1


class _Ami:
    connected = True


async def test_ami_and_license_gauges_over_http() -> None:
    metrics = HotlineMetrics()
    ami = _Ami()
    metrics.watch_ami(ami)
    metrics.watch_license(date(2027, 1, 31), today=lambda: date(2027, 1, 1))
    server = WebServer(HttpConfig(port=0))
    server.add_routes(metrics_routes(metrics))
    await server.start()
    url = server.url + "metrics"
    try:
        samples = await asyncio.to_thread(scrape, url)
        assert value(samples, "hotline_ami_connected") == 1
        assert value(samples, "hotline_license_days_left") == 30
        ami.connected = False
        metrics.watch_license(None)
        samples = await asyncio.to_thread(scrape, url)
        assert value(samples, "hotline_ami_connected") == 0
        assert value(samples, "hotline_license_days_left") == float("inf")
    finally:
        await server.stop()


async def test_a_taken_port_is_one_line(tmp_path: Path) -> None:
    first = WebServer(HttpConfig(port=0))
    first.add_routes(metrics_routes(HotlineMetrics()))
    await first.start()
    try:
        second = WebServer(HttpConfig(port=first.port))
        second.add_routes(metrics_routes(HotlineMetrics()))
        try:
            await second.start()
        except ConfigError as exc:
            (message,) = exc.problems
        else:
            await second.stop()
            raise AssertionError("a second server on the same port started")
        assert message.startswith(f"http.port: 127.0.0.1:{first.port} is already in use")
        assert message.endswith("set another http.port")
        assert "\n" not in message
    finally:
        await first.stop()
