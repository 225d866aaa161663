"""Shared fixtures: captured log output for asserting on log events."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from hotline.logs import clear_context, configure_logging, reset_logging


class CapturedLog:
    """Every JSON log line the code under test rendered, parsed."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    @property
    def text_without_times(self) -> str:
        """Every line without its times (``timestamp`` and every float: durations, seconds):
        where a secret of digits is looked for, a time's digits may hold the same digits
        (seen: "02.247114Z" and "4711")."""
        lines = [{k: _no_floats(v) for k, v in e.items() if k != "timestamp"} for e in self.events]
        return "\n".join(json.dumps(line) for line in lines)

    def holds_digits(self, digits: str) -> bool:
        """``digits`` (a PIN, a secret of digits) stand alone somewhere in the lines, times
        aside: not as part of a longer number, which a peer's port or a call id may hold by
        chance: 13 of Linux's 28,232 ephemeral ports hold "4711" (34711, 47110-47119, ...)."""
        alone = re.compile(rf"(?<![0-9]){re.escape(digits)}(?![0-9])")
        return alone.search(self.text_without_times) is not None

    @property
    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def named(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == event]


def _no_floats(value: Any) -> Any:
    """``value`` with every float in it replaced by ``"<float>"`` (lists and dicts too)."""
    if isinstance(value, float):
        return "<float>"
    if isinstance(value, list):
        return [_no_floats(item) for item in value]
    if isinstance(value, dict):
        return {key: _no_floats(item) for key, item in value.items()}
    return value


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    """Every test starts and ends with the default logging: no stream of another test leaks."""
    reset_logging()
    yield
    reset_logging()
    clear_context()


@pytest.fixture
def captured_log() -> Iterator[CapturedLog]:
    """Render logs as JSON into memory at DEBUG level, as production would to a file."""
    captured = CapturedLog()
    configure_logging(level="DEBUG", fmt="json", stream=captured.stream)
    try:
        yield captured
    finally:
        clear_context()
