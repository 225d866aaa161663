"""Logging: call context on every line, secrets never rendered, every other field as given."""

from __future__ import annotations

import asyncio
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from hotline.logs import (
    BATCH_CHARS,
    BATCH_DELAY,
    SECRET_KEYS,
    bind_context,
    configure_logging,
    flush_logs,
    get_logger,
    log_context,
    render_json,
    unbind_context,
)
from tests.conftest import CapturedLog


class CountingStream(io.StringIO):
    """A stream that counts its writes and tells a waiting test about each one."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.written = asyncio.Event()

    def write(self, text: str, /) -> int:
        self.writes += 1
        self.written.set()
        return super().write(text)

    def lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.getvalue().splitlines()]


def test_secret_values_and_secret_fields_are_never_rendered(captured_log: CapturedLog) -> None:
    pin = SecretStr("4711")
    log = get_logger()
    log.info("config_seen", ami=SecretStr("ami-s3cret"), nested={"k": [pin]}, pin="4711")
    log.info("no_pin", pin=None, secret=SecretStr("x-y-z"))
    text = captured_log.text
    for secret in ("4711", "ami-s3cret", "x-y-z"):
        assert secret not in text
    first, second = captured_log.events
    assert first["ami"] == "[redacted]"
    assert first["nested"] == {"k": ["[redacted]"]}
    assert first["pin"] == "[redacted]"
    assert second["pin"] is None  # nothing to hide: the field keeps its type
    assert second["secret"] == "[redacted]"


def test_fields_equal_to_a_secret_keep_their_values_and_types(captured_log: CapturedLog) -> None:
    """Issue 12 item 6: a PIN of 201 never rewrites the number 201 or a list of targets."""
    configure_logging(level="DEBUG", fmt="json", stream=captured_log.stream)
    targets = [{"attempt": 1, "number": "201", "outcome": "confirmed", "seconds": 3.5}]
    get_logger().info(
        "call_summary", caller="201", connected_to="201", targets=targets, wait=0, ok=True
    )
    (event,) = captured_log.events
    assert event["caller"] == "201"
    assert event["connected_to"] == "201"
    assert event["targets"] == targets
    assert event["wait"] == 0
    assert event["ok"] is True


def test_a_line_carries_fields_event_context_level_and_timestamp(
    captured_log: CapturedLog,
) -> None:
    bind_context(call_id="1795301234.5", caller="5551234")
    get_logger().info("step", caller="overridden here", n=1)
    (line,) = captured_log.text.splitlines()
    event = json.loads(line)
    assert list(event) == ["caller", "n", "event", "call_id", "level", "timestamp"]
    assert event["caller"] == "overridden here"  # the event's own field wins over the context
    assert event["call_id"] == "1795301234.5"
    assert event["level"] == "info"
    assert event["timestamp"].endswith("Z")
    assert len(event["timestamp"]) == len("2026-12-01T05:27:05.364964Z")


async def test_keys_unbound_again_are_not_rendered(captured_log: CapturedLog) -> None:
    """A task's context ends with it; an unbound key is not rendered; a re-bound key keeps
    its place with its new value."""

    async def leg() -> None:
        bind_context(leg="confirm")
        get_logger().info("inside")

    bind_context(call_id="1.1", hotline="support")
    await asyncio.create_task(leg())
    unbind_context("hotline")
    bind_context(route="hotline", call_id="1.2")
    get_logger().info("outside")
    inside, outside = (json.loads(line) for line in captured_log.text.splitlines())
    assert inside["leg"] == "confirm"
    assert inside["hotline"] == "support"
    assert "leg" not in outside
    assert "hotline" not in outside
    assert list(outside)[1:3] == ["call_id", "route"]
    assert outside["call_id"] == "1.2"
    assert log_context() == {"call_id": "1.2", "route": "hotline"}


def test_exceptions_levels_and_odd_values(captured_log: CapturedLog) -> None:
    log = get_logger().bind(component="test")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    log.warning("odd", big=2**70, keys={1: "one"}, thing={3, 4}, text="grüße")
    events = captured_log.events
    assert events[0]["level"] == "error"
    assert events[0]["component"] == "test"
    assert "ValueError: boom" in events[0]["exception"]
    assert events[1]["big"] == 2**70
    assert events[1]["keys"] == {"1": "one"}
    assert events[1]["thing"] == "{3, 4}"
    assert events[1]["text"] == "grüße"


def test_levels_below_the_configured_one_are_not_written() -> None:
    stream = io.StringIO()
    configure_logging(level="WARNING", fmt="json", stream=stream)
    log = get_logger()
    log.debug("d")
    log.info("i")
    log.warning("w")
    log.error("e")
    assert [json.loads(line)["event"] for line in stream.getvalue().splitlines()] == ["w", "e"]
    assert not log.debugging  # the guard for a debug line whose fields cost to compute
    configure_logging(level="DEBUG", fmt="json", stream=stream)
    assert get_logger().debugging  # every logger follows it
    log.debug("d")
    assert json.loads(stream.getvalue().splitlines()[-1])["event"] == "d"
    with pytest.raises(TypeError, match="multiple values for argument 'event'"):
        log.error("e", event="a field named event would be lost")
    with pytest.raises(ValueError, match="unknown log level 'LOUD'"):
        configure_logging(level="LOUD", fmt="json", stream=stream)


def test_a_module_logger_follows_every_reconfiguration() -> None:
    log = get_logger()  # as a module creates it at import, before any configuration
    first, second = io.StringIO(), io.StringIO()
    configure_logging(level="INFO", fmt="json", stream=first)
    log.info("one")
    configure_logging(level="INFO", fmt="json", stream=second)
    log.info("two")
    first.close()  # a closed stream of an earlier configuration is never written to
    log.info("three")
    assert [json.loads(x)["event"] for x in second.getvalue().splitlines()] == ["two", "three"]


async def test_call_context_stays_with_its_task(captured_log: CapturedLog) -> None:
    log = get_logger()
    both_bound = asyncio.Barrier(2)

    async def call(call_id: str) -> None:
        bind_context(call_id=call_id)
        await both_bound.wait()
        log.info("step", mine=call_id)

    await asyncio.gather(call("1.1"), call("2.2"))
    steps = captured_log.named("step")
    assert len(steps) == 2
    assert all(e["call_id"] == e["mine"] for e in steps)


async def test_a_thousand_calls_up_each_line_has_its_own_context(
    captured_log: CapturedLog,
) -> None:
    """Issue 19: with 1,000 calls up, and a context re-bound in the same task, every
    line still carries its own call's values."""
    log = get_logger()
    calls = 1000
    all_bound = asyncio.Barrier(calls)

    async def call(number: int) -> None:
        bind_context(call_id=f"{number}.0", route="hotline")
        log.info("first", mine=f"{number}.0")
        await all_bound.wait()  # every other call's context bound and rendered in between
        log.info("second", mine=f"{number}.0")
        bind_context(call_id=f"{number}.1")  # a new leg, same task
        log.info("third", mine=f"{number}.1")

    await asyncio.gather(*(call(number) for number in range(calls)))
    for name in ("first", "second", "third"):
        lines = captured_log.named(name)
        assert len(lines) == calls
        assert all(e["call_id"] == e["mine"] and e["route"] == "hotline" for e in lines)


async def test_batched_lines_are_written_together_and_a_warning_at_once() -> None:
    stream = CountingStream()
    configure_logging(level="INFO", fmt="json", stream=stream, batch=True)
    log = get_logger()
    loop = asyncio.get_running_loop()
    started = loop.time()
    for n in range(50):
        log.info("step", n=n)
    assert stream.writes == 0  # held for one write
    await asyncio.wait_for(stream.written.wait(), 5)
    assert loop.time() - started >= BATCH_DELAY * 0.9
    assert stream.writes == 1
    assert [e["n"] for e in stream.lines()] == list(range(50))

    log.info("before")
    log.warning("trouble")  # written at once, after what was held
    assert stream.writes == 2
    assert [e["event"] for e in stream.lines()[50:]] == ["before", "trouble"]

    log.info("last")
    flush_logs()
    assert stream.writes == 3
    assert stream.lines()[-1]["event"] == "last"


def test_batching_without_a_running_loop_writes_each_line() -> None:
    stream = CountingStream()
    configure_logging(level="INFO", fmt="json", stream=stream, batch=True)
    get_logger().info("one")
    get_logger().info("two")
    assert stream.writes == 2


async def test_reconfiguring_writes_what_was_held() -> None:
    stream = CountingStream()
    configure_logging(level="INFO", fmt="json", stream=stream, batch=True)
    get_logger().info("held")
    configure_logging(level="INFO", fmt="json", stream=io.StringIO())
    assert [e["event"] for e in stream.lines()] == ["held"]


async def test_a_files_batches_go_out_as_bytes_in_order_with_its_own_text(
    tmp_path: Path,
) -> None:
    """A UTF-8 file is given the batch's bytes; what was written to it as text before
    comes first, and nothing is torn across batches of any size."""
    path = tmp_path / "hotline.log"
    with path.open("w", encoding="utf-8") as stream:
        configure_logging(level="INFO", fmt="json", stream=stream, batch=True)
        log = get_logger()
        stream.write("text written before\n")  # held in the text layer's own buffer
        log.info("grüße", caller="ünïcode ☎")
        padding = "x" * 200
        for n in range(700):  # over two batches' worth
            log.info("step", n=n, padding=padding)
        log.info("huge", text="y" * (BATCH_CHARS + 10))  # longer than a whole batch
        log.info("after_huge")
        flush_logs()
        stream.write("text written after\n")
        configure_logging(level="INFO", fmt="json", stream=io.StringIO())
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "text written before"
    assert lines[-1] == "text written after"
    events = [json.loads(line) for line in lines[1:-1]]
    assert events[0]["event"] == "grüße"
    assert events[0]["caller"] == "ünïcode ☎"
    assert [e["n"] for e in events[1:701]] == list(range(700))
    assert [e["event"] for e in events[701:]] == ["huge", "after_huge"]
    assert len(events[701]["text"]) == BATCH_CHARS + 10


def test_a_stream_of_another_encoding_is_given_text() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="latin-1")
    configure_logging(level="INFO", fmt="json", stream=stream, batch=True)
    get_logger().info("grüße", n=1)  # no running loop: written at once
    configure_logging(level="INFO", fmt="json", stream=io.StringIO())
    stream.flush()
    assert json.loads(raw.getvalue().decode("latin-1"))["event"] == "grüße"


def test_console_lines_for_people(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="INFO", fmt="console")
    get_logger().info("serving", port=4573, secret=SecretStr("s3cret"))
    out = capsys.readouterr().out
    assert "serving" in out
    assert "port=4573" in out
    assert "s3cret" not in out


def _as_before(
    event: str,
    fields: dict[str, Any],
    method: str,
    timestamp: str,
    bound: dict[str, Any] | None = None,
) -> str:
    """A line as the logger built it as one dict before issue 19: the bytes to keep
    (the context in the order it was bound, first bound first)."""
    event_dict = {**(bound or {}), **fields}
    event_dict["event"] = event
    for name, value in log_context().items():
        event_dict.setdefault(name, value)
    event_dict["level"] = method
    event_dict["timestamp"] = timestamp
    for key in SECRET_KEYS.intersection(event_dict):
        if event_dict[key] is not None:
            event_dict[key] = "[redacted]"
    return render_json(event_dict)


_SHAPES: list[dict[str, Any]] = [
    {},
    {"round": 1, "of": 3},
    {"number": "201", "label": None, "ring_time": 5, "seconds": 0.048, "ok": True},
    {"targets": [{"attempt": 1, "outcome": "no_answer"}], "grüße": "ünïcode ☎"},
    {"caller": "own field wins over the context's", "n": 1},
    {"pin": "4711", "secret": None},
    {"level": "a field named level", "timestamp": "and one named timestamp"},
    {"big": 2**70},
    {"odd": {3, 4}, "keys": {1: "one"}, "when": SecretStr("s3cret")},
    {"surrogate": "\udc80 from surrogateescape"},
]


class _State:
    """A bound value whose text changes while it stays bound."""

    def __init__(self) -> None:
        self.value = 0

    def __repr__(self) -> str:
        return f"State({self.value})"


_STATE = _State()
_CONTEXTS: list[dict[str, Any]] = [
    {},
    {"call_id": "1796133368098.0", "route": "hotline/bench", "caller": "5550000"},
    {"call_id": "1796133368098.0", "leg_id": "1796133368106.4", "target": "202"},
    {"call_id": 17, "secret": "bound by mistake", "attempt": 2.5, "flag": False},
    {"call_id": "x", "big": 2**70},
    {"event": "bound as event"},
    {"call_id": "z", "level": "bound as level", "timestamp": "bound as timestamp"},
    {"call_id": "s", "state": _STATE},
    {"call_id": "v", "n": 1},  # equal values of other types: 1 == True == 1.0
    {"call_id": "v", "n": True},
    {"call_id": "v", "n": 1.0},
    {"call_id": "y", "config": SecretStr("s3cret"), "targets": ["201", "202"]},
]


@pytest.mark.parametrize("context", _CONTEXTS)
def test_each_line_is_the_one_built_as_a_whole(
    captured_log: CapturedLog, context: dict[str, Any]
) -> None:
    """Issue 19: a line made of kept parts has the bytes of the line built as one dict."""
    bind_context(unbound="bound, then unbound", **context)
    unbind_context("unbound")
    log = get_logger()
    bound = {"component": "test", "n": 0}
    expected: list[str] = []
    for round_ in range(2):  # the second time from what was kept
        for number, fields in enumerate(_SHAPES):
            for method in ("debug", "info", "warning"):
                for line_bound in (None, bound):
                    event = f"shape_{number}_{method}_{round_}_{line_bound is None}"
                    _STATE.value = len(expected)
                    logger = log.bind(**line_bound) if line_bound else log
                    getattr(logger, method)(event, **fields)
                    line = captured_log.text.splitlines()[len(expected)]
                    timestamp = json.loads(line)["timestamp"]
                    expected.append(_as_before(event, fields, method, timestamp, line_bound))
    assert captured_log.text.splitlines() == expected


def test_timestamps_across_seconds_and_a_clock_set_back(
    captured_log: CapturedLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    second = 1_796_102_825  # 2026-12-01T05:27:05Z
    times = iter(
        [
            second * 10**9 + 999_999,
            second * 10**9 + 999_999_999,
            (second + 1) * 10**9,
            (second + 1) * 10**9 + 47_110_000,
            second * 10**9 + 5_000,  # set back by NTP
            (second + 86_400) * 10**9 + 123_456_789,
        ]
    )
    monkeypatch.setattr(time, "time_ns", lambda: next(times))
    for n in range(6):
        get_logger().info("tick", n=n)
    assert [e["timestamp"] for e in captured_log.events] == [
        "2026-12-01T05:27:05.000999Z",
        "2026-12-01T05:27:05.999999Z",
        "2026-12-01T05:27:06.000000Z",
        "2026-12-01T05:27:06.047110Z",
        "2026-12-01T05:27:05.000005Z",
        "2026-12-02T05:27:05.123456Z",
    ]
