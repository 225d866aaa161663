"""Two runtimes, one Redis, the simulator failing over between them like ``hagi://``.

Runtime A is tried first, B next (``agi_servers``); with ``spread_calls`` the
first server alternates per call, as Asterisk spreads calls over SRV records
of equal priority and weight.  Redis is a real redis-server (tests/redisd.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from hotline.config import Settings, settings_from_mapping
from hotline.runtime import Runtime
from hotline.shared_state.link import RedisLink
from hotline.sim.agents import parse_agents
from hotline.sim.caller import CallerScript
from hotline.sim.events import Event
from hotline.sim.pbx import SimulatedPbx
from hotline.sim.records import CallRecord
from tests.conftest import CapturedLog
from tests.redisd import RedisServer
from tests.shared_state.test_parts import HEALTHY_TIMEOUT, settled

ROOT = Path(__file__).resolve().parents[2]
AGENTS = ("201", "202", "203")


def config(url: str, runtime_id: str, **hunt: Any) -> dict[str, Any]:
    return {
        "asterisk": {"sounds_dir": "/var/lib/hotline/sounds", "enabled": False},
        "state": {"redis_url": url, "runtime_id": runtime_id, "timeout": HEALTHY_TIMEOUT},
        "hotlines": [
            {
                "name": "sales",
                "dial": "Local/{number}@sim-agents",
                "ring_time": 15,
                "targets": [{"number": n} for n in AGENTS],
                "hunt": hunt,
            }
        ],
    }


def settings(url: str, runtime_id: str, **hunt: Any) -> Settings:
    return settings_from_mapping(config(url, runtime_id, **hunt))


@contextlib.asynccontextmanager
async def two_runtimes(
    url: str,
    *,
    spread: bool = True,
    event_sink: Any = None,
    make: Callable[[str], Settings] | None = None,
    **hunt: Any,
) -> AsyncIterator[tuple[Runtime, Runtime, SimulatedPbx]]:
    """Runtimes rt-a and rt-b on ``settings(url, name, **hunt)`` (or ``make(name)``)."""
    holder: dict[str, SimulatedPbx] = {}

    def runtime(name: str) -> Runtime:
        return Runtime(
            make(name) if make is not None else settings(url, name, **hunt),
            host="127.0.0.1",
            port=0,
            clock_factory=lambda call_id: holder["pbx"].clock_for(call_id),
        )

    async with runtime("rt-a") as a, runtime("rt-b") as b:
        servers = [("127.0.0.1", a.port), ("127.0.0.1", b.port)]
        pbx = holder["pbx"] = SimulatedPbx(
            "127.0.0.1",
            a.port,
            parse_agents("201=accept,202=accept,203=accept"),
            confirm_args=4,
            agi_servers=servers,
            spread_calls=spread,
            event_sink=event_sink,
        )
        yield a, b, pbx


def link(runtime: Runtime) -> RedisLink:
    assert runtime.shared is not None
    return runtime.shared.link


#: the phases of runtime A in test_runtime_a_killed_during_100_calls
ALIVE, DYING, DEAD = range(3)


def served_by(record: CallRecord) -> int:
    """The port of the runtime that served the caller's leg."""
    return next(port for leg, port in record.agi_servers if leg == "caller")


async def test_round_robin_is_shared_by_both_runtimes(
    redis_server: RedisServer, captured_log: CapturedLog
) -> None:
    async with two_runtimes(redis_server.url, strategy="round_robin") as (a, b, pbx):
        records = [await pbx.place_call(CallerScript(hotline="sales")) for _ in range(6)]
        ports = a.port, b.port
    assert [served_by(r) for r in records] == list(ports) * 3
    assert [r.bridged_to for r in records] == ["201", "202", "203"] * 2
    assert all(r.outcome == "connected" for r in records)


async def test_an_agent_on_a_call_served_by_a_is_skipped_by_b(
    redis_server: RedisServer, captured_log: CapturedLog
) -> None:
    bridged, release = asyncio.Event(), asyncio.Event()
    held: list[Event] = []

    async def hold_first_bridge(event: Event) -> None:
        # the first call's caller stays connected to 201 until the test releases it
        if event.get("Event") == "BridgeEnter" and not held:
            held.append(event)
            bridged.set()
            await release.wait()

    async with two_runtimes(redis_server.url, event_sink=hold_first_bridge) as (a, b, pbx):
        first = asyncio.create_task(pbx.place_call(CallerScript(hotline="sales")))
        await bridged.wait()
        await link(a).sync()  # A's round has carried "201 connected"
        second = await pbx.place_call(CallerScript(hotline="sales"))
        release.set()
        first_record = await first
        ports = a.port, b.port
    assert (served_by(first_record), first_record.bridged_to) == (ports[0], "201")
    assert (served_by(second), second.bridged_to) == (ports[1], "202")
    skipped = [
        (e["number"], e["reason"])
        for e in captured_log.named("target_outcome")
        if e["call_id"] == second.uniqueid and e["outcome"] == "skipped"
    ]
    assert skipped == [("201", "connected on hotline sales")]


async def run_calls(
    pbx: SimulatedPbx,
    count: int,
    concurrency: int,
    on_done: Callable[[int], Awaitable[None]] | None = None,
    phase: Callable[[], int] | None = None,
) -> list[tuple[int, CallRecord]]:
    """Place ``count`` calls, ``concurrency`` at a time; ``on_done(n)`` after the n-th ends.
    Returns (``phase()`` when the call started, default how many had ended; its record)."""
    gate = asyncio.Semaphore(concurrency)
    done = 0

    async def one() -> tuple[int, CallRecord]:
        nonlocal done
        async with gate:
            started_after = done if phase is None else phase()
            record = await pbx.place_call(CallerScript(hotline="sales"))
            done += 1
            if on_done is not None:
                await on_done(done)
            return started_after, record

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def test_runtime_a_killed_during_100_calls(
    redis_server: RedisServer, captured_log: CapturedLog, tmp_path: Path
) -> None:
    """SIGKILL: A's calls in progress end in the dialplan's fallback (or stay connected, the
    bridge being Asterisk's); every later call is served by B; every call has log lines."""
    config_file, a_log = tmp_path / "a.json", tmp_path / "a.log"
    # simulated agents take any number of calls at once: no skipping for "on a hotline call"
    hunt = {"skip": {"on_hotline_call": False}}
    config_file.write_text(json.dumps(config(redis_server.url, "rt-a", **hunt)))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.shared_state.runtime_proc",
        str(config_file),
        str(a_log),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        a_port = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))["port"]
        b = Runtime(settings(redis_server.url, "rt-b", **hunt), host="127.0.0.1", port=0)
        async with b:
            pbx = SimulatedPbx(
                "127.0.0.1",
                a_port,
                parse_agents("201=accept,202=accept,203=accept"),
                confirm_args=4,
                agi_servers=[("127.0.0.1", a_port), ("127.0.0.1", b.port)],
            )
            state = ALIVE

            async def kill_a(done: int) -> None:
                nonlocal state
                if done == 30:
                    state = DYING
                    proc.kill()
                    await proc.wait()  # dead and reaped: its port refuses from now on
                    state = DEAD

            results = await run_calls(pbx, 100, 10, kill_a, phase=lambda: state)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == -9
    a_lines = [json.loads(line) for line in a_log.read_text().splitlines()]
    a_started = {e["call_id"] for e in a_lines if e["event"] == "call_started"}
    a_summaries = {e["call_id"] for e in a_lines if e["event"] == "call_summary"}
    b_summaries = {e["call_id"] for e in captured_log.named("call_summary")}

    # calls placed while A was alive, while it died (some still reached it) and after
    before = [r for phase, r in results if phase == ALIVE]
    dying = [r for phase, r in results if phase == DYING]
    after = [r for phase, r in results if phase == DEAD]
    on_a = [r for r in before + dying if served_by(r) == a_port]
    cut = [r for r in on_a if r.uniqueid not in a_summaries]  # in progress when A died
    assert state == DEAD
    assert after
    assert len(dying + after) >= 60  # the 70 calls to come when A was killed, but those in flight
    assert cut, "no call was in progress on A when it was killed"
    for record in cut:
        # the AGI ended with the caller still up: the dialplan's next priority runs
        assert record.dialplan_continued
        if record.uniqueid not in a_started:
            # accepted by A's kernel (its listen backlog) but never read by A: no runtime can
            # log it; Asterisk's own "AGI Script ... completed" line and the fallback are all
            assert record.commands == []
        assert record.hung_up_by != "runtime"
        assert record.outcome in ("ended", "connected")
    # A refuses: every later call goes to B and completes there, and so does every call
    # placed while A was dying that did not reach it
    for record in after + [r for r in dying if served_by(r) != a_port]:
        assert served_by(record) != a_port
        assert record.outcome == "connected"
        assert record.uniqueid in b_summaries
    unseen = [r for r in cut if r.uniqueid not in a_started]
    for _n, record in results:
        assert record.uniqueid in a_started | b_summaries or record in unseen
    # at most the calls in flight when the kill was sent; calls placed while A was dying
    # (each such call ends at once and frees its place for the next) may all have reached
    # A's backlog: measured 11 of them once under load on 3.13
    assert len([r for r in unseen if r in before]) <= 10


async def test_redis_stopped_and_restarted_during_200_calls(
    redis_server: RedisServer, captured_log: CapturedLog
) -> None:
    """Redis goes away after the 50th call and comes back (empty) after the 150th: every
    call completes, then both runtimes agree again and Redis holds only live entries."""
    hunt: dict[str, Any] = {"strategy": "round_robin", "skip": {"on_hotline_call": False}}

    async def outage(done: int) -> None:
        if done == 50:
            redis_server.stop()
        elif done == 150:
            redis_server.start()

    async with two_runtimes(redis_server.url, **hunt) as (a, b, pbx):
        results = await run_calls(pbx, 200, 10, outage)
        assert [r.outcome for _n, r in results] == ["connected"] * 200
        assert {served_by(r) for _n, r in results} == {a.port, b.port}
        await settled(link(a), link(b))
        await a.board.refresh()
        await b.board.refresh()
        # converged: the same rotation memory, nobody busy, no live call anywhere
        assert a.board.last_offered("sales") == b.board.last_offered("sales") is not None
        for agent in (v.agent for v in a.board.view()):
            ended = a.board.last_ended(agent)
            assert ended is not None
            assert b.board.last_ended(agent) == pytest.approx(ended, abs=0.01)
            assert a.board.activity(agent) is b.board.activity(agent) is None
        assert all(v.activity is None for v in a.board.view())
        for runtime in (a, b):
            snapshot = await runtime.state.live.snapshot()
            assert snapshot.complete
            assert snapshot.calls == ()
        client = aioredis.Redis.from_url(redis_server.url)
        try:
            assert await client.hlen("hotline:activity:rt-a") == 0
            assert await client.hlen("hotline:live:rt-b") == 0
            assert sorted(await client.zrange("hotline:runtimes", 0, -1)) == [b"rt-a", b"rt-b"]
        finally:
            await client.aclose()
    lost = captured_log.named("shared_state_lost")
    recovered = captured_log.named("shared_state_back") + captured_log.named(
        "shared_state_rewritten"
    )
    assert 1 <= len(lost) <= 2  # once per runtime (one process: the squasher may fold B's)
    assert len(recovered) == 2
