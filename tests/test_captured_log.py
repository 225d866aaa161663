"""The captured log's secret search: a PIN alone is found, digits inside other numbers are not."""

from __future__ import annotations

import json

from tests.conftest import CapturedLog


def captured(*lines: dict[str, object]) -> CapturedLog:
    log = CapturedLog()
    log.stream.write("".join(json.dumps(line) + "\n" for line in lines))
    return log


def test_a_pin_standing_alone_is_found() -> None:
    assert captured({"event": "x", "entered": "1234"}).holds_digits("1234")
    assert captured({"event": "x", "text": "pin 1234#"}).holds_digits("1234")
    assert captured({"event": "x", "digits": ["1", "1234"]}).holds_digits("1234")


def test_digits_inside_a_port_a_call_id_or_a_time_are_not_a_pin() -> None:
    log = captured(
        {
            "event": "agi_session_started",
            "peer": "127.0.0.1:41234",
            "call_id": "1795312345.0",
            "duration": 0.1234,
            "timestamp": "2026-12-01T19:04:33.041234Z",
        }
    )
    assert "1234" in log.text
    assert not log.holds_digits("1234")
