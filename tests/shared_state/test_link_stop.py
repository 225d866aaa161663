"""Closing the Redis link ends its round loop even when a cancel is lost on the way.

Seen once in CI and once in ~80 loaded runs of the test of a runtime killed during 100
calls: runtime B's ``stop`` hung in ``RedisLink.close``, its loop task "cancelling" yet
waiting for the next round, the cancel request lost inside the Redis client's command.
Here a round swallows the cancel on purpose; Redis is a real redis-server.
"""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from hotline.config.state import StateConfig
from hotline.shared_state import RedisLink
from hotline.shared_state.link import STOP_ATTEMPTS
from tests.conftest import CapturedLog
from tests.redisd import RedisServer


def make_link(url: str, timeout: float = 0.2) -> RedisLink:
    return RedisLink(
        StateConfig.model_validate({"redis_url": url, "runtime_id": "rt-x", "timeout": timeout})
    )


async def test_a_round_that_swallows_its_cancel_still_lets_close_return(
    redis_server: RedisServer,
) -> None:
    link = make_link(redis_server.url)
    await link.start()
    task = link._task
    assert task is not None
    in_round, swallowed = asyncio.Event(), asyncio.Event()

    async def round_swallowing_the_cancel(*, reads: bool) -> None:
        in_round.set()
        try:
            await asyncio.Event().wait()  # a command that has not answered yet
        except asyncio.CancelledError:
            swallowed.set()  # what the Redis client once did with the loop's cancel

    link._round = round_swallowing_the_cancel  # type: ignore[method-assign]
    link.changed()
    await in_round.wait()
    await asyncio.wait_for(link.close(), 5)
    assert swallowed.is_set()
    assert task.done()
    assert not task.cancelled()  # it ended by itself, before another round
    client = aioredis.Redis.from_url(redis_server.url)
    try:  # and close went on to remove this runtime's entries
        assert await client.zrange("hotline:runtimes", 0, -1) == []
        assert await client.exists("hotline:alive:rt-x") == 0
    finally:
        await client.aclose()


async def test_a_loop_that_never_ends_is_left_after_bounded_waits_and_said_so(
    redis_server: RedisServer, captured_log: CapturedLog
) -> None:
    link = make_link(redis_server.url, timeout=0.05)
    await link.start()
    task = link._task
    assert task is not None
    in_round, release = asyncio.Event(), asyncio.Event()
    cancels = 0

    async def round_that_ignores_every_cancel(*, reads: bool) -> None:
        nonlocal cancels
        in_round.set()
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                cancels += 1

    link._round = round_that_ignores_every_cancel  # type: ignore[method-assign]
    link.changed()
    await in_round.wait()
    await asyncio.wait_for(link.close(), 5)
    assert cancels == STOP_ATTEMPTS
    assert not task.done()
    [left] = captured_log.named("shared_state_loop_left")
    assert left["runtime"] == "rt-x"
    release.set()  # the round returns, the loop sees it is closing
    await asyncio.wait_for(task, 5)


async def test_a_loop_that_failed_is_said_so_once_and_close_goes_on(
    redis_server: RedisServer, captured_log: CapturedLog
) -> None:
    link = make_link(redis_server.url)
    await link.start()
    task = link._task
    assert task is not None

    async def round_with_a_bug(*, reads: bool) -> None:
        raise RuntimeError("a bug in a part")

    link._round = round_with_a_bug  # type: ignore[method-assign]
    link.changed()
    await asyncio.wait({task}, timeout=5)
    assert task.done()
    await asyncio.wait_for(link.close(), 5)
    [failed] = captured_log.named("shared_state_loop_failed")
    assert failed["runtime"] == "rt-x"
    assert "a bug in a part" in failed["error"]
    assert captured_log.named("shared_state_loop_left") == []
