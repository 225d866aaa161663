"""Redis stopped for 20 s of wall-clock time and restarted (empty) during 200 calls.

Two runtimes (the simulator alternates calls between them, as ``hagi://`` with equal
SRV records does) share a real redis-server (tests/redisd.py).  The calls are paced
over the whole window, one every :data:`PACE` seconds: ~34 before the outage, ~133
while Redis is stopped, ~33 after it is back.  Every call completes, no call waits on
Redis longer than the short timeout, each runtime logs the outage once and the
recovery once, and afterwards Redis holds what really happened: nobody busy, no live
call, the rotation both runtimes continue, the PIN lockouts of all wrong PINs typed on
either runtime before, during and after the outage, minus the ones a right PIN cleared.

The only timed waits are deliberate: the pacing and the 20-s outage itself; everything
else waits on events (the links' rounds, the calls' ends).  It costs ~35 s, so CI runs
it once, on the README's interpreter (``./scripts/test``, CPython 3.11):
``./scripts/test-pythons`` deselects the ``once_per_ci`` marker for 3.12 and 3.13.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from hotline.config import Settings, settings_from_mapping
from hotline.logs import configure_logging
from hotline.shared_state.board import SEP
from hotline.shared_state.link import RedisLink
from hotline.sim.caller import CallerScript
from hotline.sim.records import CallRecord
from tests.conftest import CapturedLog
from tests.redisd import RedisServer
from tests.shared_state.test_parts import settled
from tests.shared_state.test_two_runtimes import AGENTS, config, link, served_by, two_runtimes

pytestmark = [pytest.mark.once_per_ci, pytest.mark.timeout(240)]

CALLS = 200
#: seconds between two calls' starts: 200 calls over ~30 s
PACE = 0.15
#: the call before which Redis is stopped (~5 s in), and for how long (wall clock)
STOP_BEFORE = 34
OUTAGE = 20.0
#: [state] timeout: the longest a call may wait on one Redis round trip
TIMEOUT = 0.5
#: what a wait on Redis may take beyond its bound (sync: the round in flight, then ours,
#: each at most TIMEOUT) on a shared, loaded 2-core machine: scheduling, not Redis
SLACK = 1.0

#: wrong PINs only, on both runtimes: two before the outage, two during it
LOCKED = "0301111"
LOCKED_SLOTS = (10, 21, 60, 91)
#: a wrong PIN on B before the outage; during it, on A, a wrong one and then the right one
CLEARED = "0302222"
CLEARED_SLOTS = (5, 100)
#: the board's name for each agent (the dial string: simulated agents have no device)
KEYS = tuple(f"Local/{n}@sim-agents" for n in AGENTS)


def outage_settings(url: str, runtime_id: str) -> Settings:
    data = config(url, runtime_id, strategy="round_robin", skip={"on_hotline_call": False})
    data["state"]["timeout"] = TIMEOUT
    sales = data["hotlines"][0]
    data["hotlines"].append({**sales, "name": "support", "pin": "1234", "pin_attempts": 2})
    data["pin_guard"] = {"failed_calls": 3, "window": 600, "alarm_failed_calls": 0}
    return settings_from_mapping(data)


def script(slot: int) -> CallerScript:
    if slot in LOCKED_SLOTS:
        return CallerScript(hotline="support", callerid=LOCKED, pin_entries=("0000", "0000"))
    if slot == CLEARED_SLOTS[0]:
        return CallerScript(hotline="support", callerid=CLEARED, pin_entries=("0000", "0000"))
    if slot == CLEARED_SLOTS[1]:
        return CallerScript(hotline="support", callerid=CLEARED, pin_entries=("0000", "1234"))
    return CallerScript(hotline="sales", callerid=f"0309{slot:03d}")


class Waits:
    """How long each call's Redis operation took, and the round trips while Redis was down."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *links: RedisLink) -> None:
        self.seconds: list[float] = []
        for one in links:
            monkeypatch.setattr(one, "sync", self._timed(one.sync))
            monkeypatch.setattr(one, "run", self._timed(one.run))

    def _timed(self, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def timed(*args: Any) -> Any:
            started = time.monotonic()
            try:
                return await method(*args)
            finally:
                self.seconds.append(time.monotonic() - started)

        return timed


async def test_redis_stopped_for_20_seconds_during_200_paced_calls(
    redis_server: RedisServer,
    captured_log: CapturedLog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # every line as the runtimes log it: no squashing of one runtime's warning into another's
    # (in production each runtime is its own process with its own squasher)
    configure_logging(level="INFO", fmt="json", stream=captured_log.stream, squash_window=0)
    loop = asyncio.get_running_loop()

    def make(name: str) -> Settings:
        return outage_settings(redis_server.url, name)

    async with two_runtimes(redis_server.url, make=make) as (a, b, pbx):
        links = link(a), link(b)
        waits = Waits(monkeypatch, *links)
        placed = [asyncio.Event() for _ in range(CALLS)]
        phases: dict[int, str] = {}
        phase = "before"
        trips: dict[str, int] = {}

        async def outage() -> tuple[float, float]:
            nonlocal phase
            await placed[STOP_BEFORE - 1].wait()
            # the PIN failures "before" are counted (in Redis) before Redis goes
            await asyncio.gather(*(calls[s] for s in (*LOCKED_SLOTS[:2], CLEARED_SLOTS[0])))
            trips["before"] = sum(one.round_trips for one in links)
            await asyncio.to_thread(redis_server.stop)
            stopped, phase = time.monotonic(), "during"
            await asyncio.sleep(OUTAGE)  # the deliberate outage
            trips["during"] = sum(one.round_trips for one in links) - trips["before"]
            await asyncio.to_thread(redis_server.start)  # empty: nothing was persisted
            phase = "after"
            return stopped, time.monotonic()

        async def one(slot: int) -> CallRecord:
            phases[slot] = phase
            return await pbx.place_call(script(slot))

        calls: dict[int, asyncio.Task[CallRecord]] = {}
        outage_task = asyncio.create_task(outage())
        start = loop.time()
        for slot in range(CALLS):
            await asyncio.sleep(max(0.0, start + slot * PACE - loop.time()))  # the pacing
            calls[slot] = asyncio.create_task(one(slot))
            placed[slot].set()
        records = [await calls[slot] for slot in range(CALLS)]
        stopped, restarted = await outage_task

        # every call completed, on both runtimes, before, during and after the outage
        assert restarted - stopped >= OUTAGE
        counts = {p: sum(1 for s in phases.values() if s == p) for p in ("before", "during")}
        assert counts["before"] >= 20
        assert counts["during"] >= 100
        assert [r.error for r in records] == [None] * CALLS
        summaries = {e["call_id"]: e for e in captured_log.named("call_summary")}
        assert all(r.uniqueid in summaries for r in records)
        sales = [r for s, r in enumerate(records) if script(s).hotline == "sales"]
        assert [r.outcome for r in sales] == ["connected"] * len(sales)
        assert {served_by(r) for r in records} == {a.port, b.port}
        # nobody waited on Redis longer than its bound; while it was lost, calls did not
        # ask it at all: the round trips of those 20 s are the probes (one a second per
        # runtime) and the few that found it gone, not one or more per call
        assert max(waits.seconds) <= 2 * TIMEOUT + SLACK
        # two runtimes' probes, plus a few that found Redis gone
        probes = sum(OUTAGE / one.probe_interval + 10 for one in links)
        assert trips["during"] <= probes < counts["during"]
        # each runtime logged the outage once and the recovery once
        for runtime_id in ("rt-a", "rt-b"):
            lost = [
                e for e in captured_log.named("shared_state_lost") if e["runtime"] == runtime_id
            ]
            back = [
                e
                for name in ("shared_state_back", "shared_state_rewritten")
                for e in captured_log.named(name)
                if e["runtime"] == runtime_id
            ]
            assert (len(lost), len(back)) == (1, 1), runtime_id

        # converged: Redis and both runtimes agree with what happened
        await settled(*links)
        await a.board.refresh()
        await b.board.refresh()
        client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
        try:
            for runtime_id in ("rt-a", "rt-b"):  # nobody busy, no live call
                assert await client.hlen(f"hotline:activity:{runtime_id}") == 0
                assert await client.hlen(f"hotline:live:{runtime_id}") == 0
            assert sorted(await client.zrange("hotline:runtimes", 0, -1)) == ["rt-a", "rt-b"]
            for runtime in (a, b):
                snapshot = await runtime.state.live.snapshot()
                assert (snapshot.complete, snapshot.calls) == (True, ())
                assert all(v.activity is None for v in runtime.board.view())
            # every agent's last call, the same on both runtimes and in Redis
            ended = await client.hgetall("hotline:ended")
            assert sorted(ended) == sorted(KEYS)
            for agent in KEYS:
                last = a.board.last_ended(agent)
                assert last is not None
                assert b.board.last_ended(agent) == pytest.approx(last, abs=0.01)
            # one rotation: what both runtimes remember is what the next calls continue
            stored = await client.hget("hotline:rotation", "sales")
            rotation = str(stored or "").partition(SEP)[2]
            assert a.board.last_offered("sales") == b.board.last_offered("sales") == rotation
            after = [await pbx.place_call(script(0)) for _ in range(4)]
            assert {served_by(r) for r in after} == {a.port, b.port}
            first = (KEYS.index(rotation) + 1) % len(AGENTS)
            expected = [AGENTS[(first + n) % len(AGENTS)] for n in range(4)]
            assert [r.bridged_to for r in after] == expected

            # PIN lockouts: what was typed on either runtime, whenever, minus what was cleared
            wrong = {
                e["call_id"] for e in captured_log.named("pin_rejected") if e["reason"] == "wrong"
            }
            locked_calls = [r for s, r in enumerate(records) if s in LOCKED_SLOTS]
            assert {served_by(r) for r in locked_calls} == {a.port, b.port}
            assert all(r.uniqueid in wrong for r in locked_calls)
            assert await client.zcard(f"hotline:pin:support:{LOCKED}") == len(LOCKED_SLOTS)
            assert await client.zcard(f"hotline:pin:support:{CLEARED}") == 0
            refused = [await pbx.place_call(script(LOCKED_SLOTS[0])) for _ in range(2)]
            assert {served_by(r) for r in refused} == {a.port, b.port}
            lockouts = {e["call_id"]: e for e in captured_log.named("pin_lockout_refused")}
            assert [lockouts[r.uniqueid]["failed_calls"] for r in refused] == [4, 4]
        finally:
            await client.aclose()
