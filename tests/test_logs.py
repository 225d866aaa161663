"""Logging: call context on every line, secrets never rendered."""

from __future__ import annotations

import asyncio

import structlog

from hotline.logs import get_logger, register_secrets
from tests.conftest import CapturedLog


def test_secret_values_are_scrubbed_everywhere(captured_log: CapturedLog) -> None:
    register_secrets(["4711", "ami-s3cret", "HL1-ABCDE-FGHIJ", None, "12"])
    log = get_logger()
    log.info("pin_debug", note="caller typed 4711#", nested={"k": "ami-s3cret"})
    log.info("license", text="key HL1-ABCDE-FGHIJ pasted", pin="4711", short="12")
    text = captured_log.text
    for secret in ("4711", "ami-s3cret", "HL1-ABCDE-FGHIJ"):
        assert secret not in text
    assert captured_log.events[1]["pin"] == "[redacted]"
    assert captured_log.events[1]["short"] == "12"  # too short to register, never scrubbed


async def test_call_context_stays_with_its_task(captured_log: CapturedLog) -> None:
    log = get_logger()
    both_bound = asyncio.Barrier(2)

    async def call(call_id: str) -> None:
        structlog.contextvars.bind_contextvars(call_id=call_id)
        await both_bound.wait()
        log.info("step", mine=call_id)

    await asyncio.gather(call("1.1"), call("2.2"))
    steps = captured_log.named("step")
    assert len(steps) == 2
    assert all(e["call_id"] == e["mine"] for e in steps)


def test_a_short_pin_is_not_scrubbed_from_inside_other_numbers(captured_log: CapturedLog) -> None:
    register_secrets(["1234"])
    get_logger().info("step", call_id="1795301234.5", caller="5551234", note="typed 1234#")
    (event,) = captured_log.events
    assert event["call_id"] == "1795301234.5"
    assert event["caller"] == "5551234"
    assert event["note"] == "typed [redacted]#"
