"""Warning floods become one line and a count (issue 12, item 3)."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import structlog

from hotline.agi.server import FastAgiServer
from hotline.agi.session import AgiSession
from hotline.agi.testing import FakeAsterisk
from hotline.logs import configure_logging, get_logger
from hotline.logsquash import RateLimit, SquashRepeats


class _Lines(io.StringIO):
    """A log stream that tells when a line with a count arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.counted = asyncio.Event()

    def write(self, text: str) -> int:
        if '"repeated"' in text:
            self.counted.set()
        return super().write(text)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.getvalue().splitlines()]


async def _never_called(session: AgiSession) -> None:
    raise AssertionError("no header, no call")


async def test_a_slowloris_flood_is_one_line_and_then_a_count() -> None:
    stream = _Lines()
    structlog.configure(
        processors=[
            SquashRepeats(window=0.5),
            structlog.processors.add_log_level,
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(stream),
    )
    server = FastAgiServer({"hotline": _never_called}, port=0, header_timeout=0.05)
    await server.start()
    try:
        peers = [FakeAsterisk(server.port) for _ in range(60)]
        for peer in peers:
            await peer.connect()
            await peer.send_raw(b"agi_network: yes\n")  # and never the rest
        for peer in peers:
            assert await peer.wait_closed(timeout=10) == []
            await peer.close()
        await asyncio.wait_for(stream.counted.wait(), 10)
    finally:
        await server.stop(drain_timeout=1)
    timeouts = [e for e in stream.events() if e["event"] == "agi_header_timeout"]
    first, count = timeouts
    assert "repeated" not in first
    assert first["level"] == "warning"
    assert first["timeout"] == 0.05
    assert (count["repeated"], count["window_s"], count["level"]) == (59, 0.5, "warning")
    assert "call_id" not in count  # the count belongs to no call


def test_the_runtime_logging_squashes_warnings_but_not_info() -> None:
    stream = io.StringIO()
    configure_logging(level="INFO", fmt="json", stream=stream)
    log = get_logger()
    for number in range(1000):
        log.warning("agi_header_timeout", peer=f"10.0.0.1:{number}")
        log.info("call_started", number=number)
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [e["peer"] for e in events if e["event"] == "agi_header_timeout"] == ["10.0.0.1:0"]
    assert len([e for e in events if e["event"] == "call_started"]) == 1000


def test_a_kind_quiet_for_a_window_is_logged_at_once_again_with_its_count() -> None:
    now = [0.0]
    squash = SquashRepeats(window=10, clock=lambda: now[0])
    stream = io.StringIO()
    structlog.configure(
        processors=[squash, structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(stream),
    )
    log = get_logger()
    for moment in (0, 1, 2, 3, 9.9, 10.5, 10.6, 30):
        now[0] = moment
        log.warning("agi_bad_header", at=moment)
        log.warning("agi_header_timeout", at=moment)
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    bad = [(e["at"], e.get("repeated")) for e in events if e["event"] == "agi_bad_header"]
    # no event loop here: a window's count rides on the next line of that kind
    assert bad == [(0, None), (10.5, 4), (30, 1)]
    assert len(events) == 6


def test_rate_limit_says_when_and_how_many_were_held() -> None:
    now = [100.0]
    limit = RateLimit(window=10, clock=lambda: now[0])
    hits = []
    for moment in (100, 101, 105, 109.9, 110, 111, 125):
        now[0] = moment
        hits.append(limit.hit())
    assert hits == [0, None, None, None, 3, None, 1]
