"""The shared parts against a real redis-server: two runtimes' boards, PIN counts, live calls."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from hotline.agents.board import Activity, AgentBoard
from hotline.config.hunt import SkipRules
from hotline.config.pin_guard import PinGuardConfig
from hotline.config.state import StateConfig
from hotline.flow.observers import (
    CallEnded,
    CallStarted,
    ConfirmEnded,
    ConfirmStarted,
    StepChanged,
    TargetDialing,
)
from hotline.flow.state import RuntimeState
from hotline.guard.pin import PinGuard
from hotline.shared_state import RedisLink, SharedState
from tests.conftest import CapturedLog
from tests.redisd import RedisServer, redis_available

AGENTS = {"PJSIP/201": "PJSIP/201", "PJSIP/202": "PJSIP/202", "PJSIP/203": "PJSIP/203"}

#: [state] timeout of a runtime whose Redis is meant to stay up.  CI ran 0.2 s here and a
#: loaded machine once took longer for one round: B's link went down, its refresh kept the
#: local view and the assertion on A's agent failed (tests/shared_state, CI of session 13).
HEALTHY_TIMEOUT = 5.0
#: the timeout of the tests that freeze Redis on purpose and measure what a call waits
FROZEN_TIMEOUT = 0.2


class Runtime:
    """What one runtime holds of the shared state (board, PIN guard, live calls)."""

    def __init__(
        self, url: str, name: str, timeout: float = HEALTHY_TIMEOUT, **config: object
    ) -> None:
        self.board = AgentBoard()
        self.board.watch(AGENTS)
        self.state = RuntimeState()
        self.state.live.runtime = name
        settings = StateConfig.model_validate(
            {"redis_url": url, "runtime_id": name, "timeout": timeout, **config}
        )
        self.shared = SharedState(settings, self.state, self.board, probe_interval=0.05)
        self.link = self.shared.link


async def settled(*links: RedisLink) -> None:
    """Wait (on the links' rounds, never a sleep) until every link is up and caught up."""
    for link in links:
        await link.sync()  # a link that saw no outage finds out now
        while not link.current:
            if link.up:
                await link.sync()
            else:
                await link.round_done.wait()


@contextlib.asynccontextmanager
async def two_runtimes(url: str, link_timeout: float) -> AsyncIterator[tuple[Runtime, Runtime]]:
    a, b = Runtime(url, "rt-a", link_timeout), Runtime(url, "rt-b", link_timeout)
    await a.shared.start()
    await b.shared.start()
    try:
        yield a, b
    finally:
        await a.shared.close()
        await b.shared.close()


@pytest.fixture
async def pair(redis_server: RedisServer) -> AsyncIterator[tuple[Runtime, Runtime]]:
    """Two runtimes on one Redis that stays up."""
    async with two_runtimes(redis_server.url, HEALTHY_TIMEOUT) as runtimes:
        yield runtimes


@pytest.fixture
async def frozen_pair(redis_server: RedisServer) -> AsyncIterator[tuple[Runtime, Runtime]]:
    """Two runtimes quick to give up on a Redis the test freezes."""
    async with two_runtimes(redis_server.url, FROZEN_TIMEOUT) as runtimes:
        yield runtimes


async def test_an_agent_busy_on_one_runtime_is_skipped_by_the_other(
    pair: tuple[Runtime, Runtime],
) -> None:
    a, b = pair
    rules = SkipRules()
    a.board.connected("PJSIP/201", "call-1", "sales")
    await a.board.refresh()  # A's round carries the change
    await b.board.refresh()
    assert b.board.skip_reason("PJSIP/201", rules) == "connected on hotline sales"
    assert b.board.activity("PJSIP/202") is None

    a.board.call_ended("PJSIP/201", "call-1", wrap_up=30)
    await a.board.refresh()
    await b.board.refresh()
    assert b.board.activity("PJSIP/201") is None
    reason = b.board.skip_reason("PJSIP/201", rules)
    assert reason is not None
    assert reason.startswith("wrap-up")
    assert 29 < b.board.wrap_up_left("PJSIP/201") <= 30
    assert b.board.last_ended("PJSIP/201") == pytest.approx(
        a.board.last_ended("PJSIP/201"), abs=0.05
    )


async def test_rotation_memory_is_one_per_hotline_for_all_runtimes(
    pair: tuple[Runtime, Runtime],
) -> None:
    a, b = pair
    a.board.offered("sales", "PJSIP/202")
    await a.board.refresh()
    await b.board.refresh()
    assert b.board.last_offered("sales") == "PJSIP/202"
    b.board.offered("sales", "PJSIP/203")
    await b.board.refresh()
    await a.board.refresh()
    assert a.board.last_offered("sales") == "PJSIP/203"
    assert a.board.last_offered("support") is None


async def test_a_dead_runtimes_entries_go_away(pair: tuple[Runtime, Runtime]) -> None:
    a, b = pair
    a.board.ringing("PJSIP/203", "call-9", "sales")
    await a.board.refresh()
    await b.board.refresh()
    assert b.board.activity("PJSIP/203") == (Activity.RINGING, "sales")
    client = aioredis.Redis.from_url(a.link.config.redis_url.get_secret_value())  # type: ignore[union-attr]
    try:
        # the keys expire by themselves: ttl (+1 s) after the runtime's last round
        assert 0 < await client.ttl("hotline:activity:rt-a") <= a.link.config.ttl + 1
        # and a runtime is listed only until then: seen from a clock past it, A is gone
        b.link.clock = lambda: 1e12
        await b.board.refresh()
        assert b.board.activity("PJSIP/203") is None
    finally:
        await client.aclose()


async def test_pin_failures_count_across_runtimes_and_a_right_pin_clears_them(
    pair: tuple[Runtime, Runtime],
) -> None:
    a, b = pair
    limits = PinGuardConfig(failed_calls=3, window=60)
    guard_a, guard_b = a.state.pin_guard, b.state.pin_guard
    await guard_a.failed("sales", "0301234", limits)
    await guard_b.failed("sales", "0301234", limits)
    assert await guard_a.locked_out("sales", "0301234", limits) == 0
    await guard_a.failed("sales", "0301234", limits)
    assert await guard_b.locked_out("sales", "0301234", limits) == 3
    await guard_b.succeeded("sales", "0301234")
    assert await guard_a.locked_out("sales", "0301234", limits) == 0


async def test_live_calls_of_every_runtime(pair: tuple[Runtime, Runtime]) -> None:
    a, b = pair
    a.state.live.on_call_event(CallStarted("c1", "sales", "0301234", "PJSIP/t-1", 100.0))
    b.state.live.on_call_event(CallStarted("c2", "sales", "0405678", "PJSIP/t-2", 101.0))
    b.state.live.on_call_event(StepChanged("c2", "sales", "ringing"))
    b.state.live.on_call_event(TargetDialing("c2", "sales", 1, 1, 1, "201", "Anna", 20))
    b.state.live.on_call_event(TargetDialing("c2", "sales", 2, 1, 1, "202", "Ben", 20))
    # 201's confirm leg is served by runtime A: A keeps a partial record, merged on read
    a.state.live.on_call_event(ConfirmStarted("c2", "sales", "201"))
    await a.board.refresh()
    await b.board.refresh()
    snapshot = await a.state.live.snapshot()
    assert snapshot.complete
    assert [(c.call_id, c.runtime, c.step) for c in snapshot.calls] == [
        ("c1", "rt-a", "answer"),
        ("c2", "rt-b", "ringing"),
    ]
    c2 = snapshot.calls[1]
    assert list(c2.ringing) == ["202"]
    assert [(x.number, x.label) for x in c2.confirming.values()] == [("201", "Anna")]
    assert "0405678" not in str(c2.as_dict())  # no caller number on a live page

    ended = CallEnded("c2", "sales", "0405678", 101.0, "abandoned", "ringing", None, None,
                      None, None, None, 3.0)  # fmt: skip
    b.state.live.on_call_event(ended)
    a.state.live.on_call_event(ConfirmEnded("c2", "sales", "201", "CALLER_GONE"))
    await a.board.refresh()
    await b.board.refresh()
    assert [c.call_id for c in (await b.state.live.snapshot()).calls] == ["c1"]
    assert len(a.state.live) == 1


async def test_redis_gone_is_logged_once_calls_use_the_local_view_and_catch_up(
    redis_server: RedisServer, captured_log: CapturedLog
) -> None:
    a, b = Runtime(redis_server.url, "rt-a"), Runtime(redis_server.url, "rt-b")
    await a.shared.start()
    await b.shared.start()
    try:
        b.board.connected("PJSIP/202", "call-b", "sales")
        await b.board.refresh()
        await a.board.refresh()
        assert a.board.activity("PJSIP/202") is not None
        limits = PinGuardConfig(failed_calls=2, window=60)
        await a.state.pin_guard.failed("sales", "0301234", limits)

        redis_server.stop()
        loop = asyncio.get_running_loop()
        for _ in range(20):  # many questions while it is gone: none waits, one log line
            started = loop.time()
            await a.board.refresh()
            a.board.offered("sales", "PJSIP/203")
            await a.state.pin_guard.failed("sales", "0301234", limits)
            assert loop.time() - started < 0.5
        assert not a.link.up
        # the local view: B's agent is no longer known busy, the local PIN count goes on
        assert a.board.activity("PJSIP/202") is None
        assert await a.state.pin_guard.locked_out("sales", "0301234", limits) == 21
        assert len(captured_log.named("shared_state_lost")) == 1

        redis_server.start()  # empty: nothing survived
        await settled(a.link, b.link)  # each writes its whole own view again
        await a.board.refresh()
        await b.board.refresh()
        assert a.board.activity("PJSIP/202") == (Activity.CONNECTED, "sales")
        assert b.board.last_offered("sales") == "PJSIP/203"
        # Redis came back empty: A wrote every failure it saw again (the one before the
        # outage too), so B counts all 21
        assert await b.state.pin_guard.locked_out("sales", "0301234", limits) == 21
        # one line per runtime and transition.  B, idle during the outage, finds out on its
        # next round: its connection is gone (lost, then back) or its marker key is (rewritten);
        # in this one process B's "lost" is counted into A's line by hotline/logsquash.py
        assert len(captured_log.named("shared_state_lost")) == 1
        recovered = captured_log.named("shared_state_back") + captured_log.named(
            "shared_state_rewritten"
        )
        assert len(recovered) == 2
        assert "redis://" in captured_log.named("shared_state_lost")[0]["redis"]
    finally:
        await a.shared.close()
        await b.shared.close()


async def test_a_frozen_redis_costs_a_call_at_most_one_timeout(
    frozen_pair: tuple[Runtime, Runtime], redis_server: RedisServer, captured_log: CapturedLog
) -> None:
    a, _b = frozen_pair
    redis_server.pause()
    try:
        loop = asyncio.get_running_loop()
        waits = []
        for _ in range(10):
            started = loop.time()
            await a.board.refresh()
            waits.append(loop.time() - started)
        guard = PinGuard(store=a.shared.pins)
        started = loop.time()
        assert await guard.locked_out("sales", "1", PinGuardConfig()) == 0
        waits.append(loop.time() - started)
    finally:
        redis_server.resume()
    assert max(waits) < 2 * a.link.timeout + 0.1
    assert sum(1 for w in waits if w > 0.05) == 1  # only the first waited: then it was lost
    assert len(captured_log.named("shared_state_lost")) >= 1


async def test_a_runtime_started_before_redis_works_alone_then_joins(
    tmp_path: Path, captured_log: CapturedLog
) -> None:
    reason = redis_available()
    if reason is not None:
        pytest.skip(reason)
    server = RedisServer(tmp_path / "redis")  # its port is chosen, nothing listens yet
    a = Runtime(server.url, "rt-a")
    b = Runtime(server.url, "rt-b")
    await a.shared.start()  # does not fail: Redis lost from the start, logged once
    try:
        assert not a.link.up
        assert len(captured_log.named("shared_state_lost")) == 1
        a.board.connected("PJSIP/201", "call-1", "sales")
        a.board.offered("sales", "PJSIP/201")
        assert a.board.last_offered("sales") == "PJSIP/201"  # the local view
        server.start()
        await b.shared.start()
        await settled(a.link, b.link)  # A's probe finds Redis and writes its own view
        await b.board.refresh()
        assert b.board.activity("PJSIP/201") == (Activity.CONNECTED, "sales")
        assert b.board.last_offered("sales") == "PJSIP/201"
        assert len(captured_log.named("shared_state_back")) == 1
    finally:
        await a.shared.close()
        await b.shared.close()
        server.stop()


async def test_a_right_pin_while_redis_is_gone_clears_the_failures_of_both_runtimes(
    frozen_pair: tuple[Runtime, Runtime], redis_server: RedisServer
) -> None:
    """Redis frozen, not restarted: B's failure stays in it; A's failure and A's clear of the
    same caller (a right PIN later in the call) are written when it answers again, and the
    clear wins over every failure before it, whoever counted it."""
    a, b = frozen_pair
    limits = PinGuardConfig(failed_calls=2, window=60)
    await b.state.pin_guard.failed("sales", "0301234", limits)
    redis_server.pause()
    try:
        await a.state.pin_guard.failed("sales", "0301234", limits)  # finds Redis gone
        assert not a.link.up
        await a.state.pin_guard.succeeded("sales", "0301234")
    finally:
        redis_server.resume()
    await settled(a.link, b.link)
    for runtime in (a, b):
        assert await runtime.shared.pins.count("pin:sales:0301234", time.time(), 60) == 0
    await b.state.pin_guard.failed("sales", "0301234", limits)  # a new failure counts again
    assert await a.shared.pins.count("pin:sales:0301234", time.time(), 60) == 1
