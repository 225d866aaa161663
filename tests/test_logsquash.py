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
    configure_logging(level="INFO", fmt="json", stream=stream, squash_window=0.5)
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
    counts: list[tuple[str, dict[str, Any]]] = []
    squash = SquashRepeats(10, emit=lambda *line: counts.append(line), clock=lambda: now[0])
    passed: list[tuple[str, float, Any]] = []
    for moment in (0, 1, 2, 3, 9.9, 10.5, 10.6, 30):
        now[0] = moment
        for kind in ("agi_bad_header", "agi_header_timeout"):
            try:
                event = squash(None, "warning", {"event": kind, "at": moment})
            except structlog.DropEvent:
                continue
            passed.append((event["event"], event["at"], event.get("repeated")))
        assert squash(None, "info", {"event": "call_started"}) == {"event": "call_started"}
    # no event loop here: a window's count rides on the next line of that kind
    assert [p for p in passed if p[0] == "agi_bad_header"] == [
        ("agi_bad_header", 0, None),
        ("agi_bad_header", 10.5, 4),
        ("agi_bad_header", 30, 1),
    ]
    assert len(passed) == 6
    assert counts == []


def test_rate_limit_says_when_and_how_many_were_held() -> None:
    now = [100.0]
    limit = RateLimit(window=10, clock=lambda: now[0])
    hits = []
    for moment in (100, 101, 105, 109.9, 110, 111, 125):
        now[0] = moment
        hits.append(limit.hit())
    assert hits == [0, None, None, None, 3, None, 1]
