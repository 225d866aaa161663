"""The runtime's one connection to Redis: bounded waits, "lost" and "back" logged once, catch-up.

Everything shared goes through :class:`RedisLink`:

* **rounds**: one pipeline that carries every change the parts (the board,
  the live calls) made since the last round, this runtime's heartbeat, and
  the board's read of the other runtimes.  A hunt asks for a round before it
  decides whom to dial (:meth:`sync`); calls asking while one is on the wire
  share the next one, so Redis sees at most one round at a time per runtime
  however many calls are in progress.  Changes made outside a hunt go out in
  the next round, which a change asks for at once.
* **direct commands** (PIN counts, the live page's read): :meth:`run`.

Every wait is bounded by ``[state] timeout``.  A timeout or a connection error
marks Redis *lost*: that is logged once (``shared_state_lost``), the parts drop
what they knew of other runtimes and answer from this runtime's own view,
and nobody waits on Redis again until a probe (every ``probe_interval``
seconds) gets a reply; then ``shared_state_back`` is logged once and each part
writes its whole own state again (Redis may have restarted empty).  Nothing a
caller hears waits on Redis longer than one timeout, and only the calls asking
at the moment Redis went away wait that long.

redis-py's asyncio client does the wire protocol, pooling and TLS; its own
retries are switched off because the runtime's answer to a slow Redis is its
local view, not a second wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from hotline.config.state import StateConfig
from hotline.logs import get_logger

log = get_logger()

T = TypeVar("T")

#: how soon a lazy change (a live call's step) is written: one round carries the steps of
#: all calls in the meantime (measured: rounds per call 11.2 -> see benchmarks/RESULTS.md)
LAZY_SECONDS = 0.2
#: what a failed Redis operation raises (a refused or reset connection is an OSError
#: inside redis-py, a wait too long a TimeoutError)
FAILURES = (RedisError, OSError, TimeoutError)
#: how many times :meth:`RedisLink.close` cancels the round loop, waiting two timeouts each
STOP_ATTEMPTS = 3


class Part(Protocol):
    """Something that keeps state in Redis through the link's rounds."""

    def writes(self, pipe: Pipeline, now: float, *, beat: bool) -> None:
        """Queue this part's pending changes on ``pipe`` (with ``beat``: its keys' expiry)."""

    def reads(self, pipe: Pipeline, now: float) -> int:
        """Queue the reads this part needs each round; returns how many commands."""

    def loaded(self, results: list[Any]) -> None:
        """The replies to :meth:`reads`, in order."""

    def lost(self) -> None:
        """Redis is gone: forget other runtimes' entries, keep answering from our own."""

    def catch_up(self) -> None:
        """Redis is back (maybe empty): write the whole own state in the next round."""


class RedisLink:
    """One runtime's Redis client with the rules above; :meth:`start` it, :meth:`close` it."""

    def __init__(
        self,
        config: StateConfig,
        *,
        probe_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        assert config.redis_url is not None
        self.config = config
        self.prefix = config.key_prefix
        self.runtime_id = config.runtime_id
        self.timeout = config.timeout
        self.probe_interval = probe_interval
        self.clock = clock
        password = config.redis_password.get_secret_value() if config.redis_password else None
        self.client: aioredis.Redis = aioredis.Redis.from_url(
            config.redis_url.get_secret_value(),
            password=password,
            decode_responses=True,
            socket_timeout=config.timeout,
            socket_connect_timeout=config.timeout,
            retry=Retry(NoBackoff(), 0),
            max_connections=16,
            client_name=f"hotline-{config.runtime_id}",
        )
        self.parts: list[Part] = []
        #: True while Redis answers; False from the first failure until a probe succeeds
        self.up = True
        self.lost_at: float | None = None
        #: Redis round trips so far (rounds, direct commands, probes): the benchmarks' figure
        self.round_trips = 0
        #: rounds that carried at least one caller's question
        self.rounds = 0
        self._wanted = asyncio.Event()
        self._waiters: list[asyncio.Future[None]] = []
        self._task: asyncio.Task[None] | None = None
        #: set by :meth:`close`: the loop ends before its next round (see :meth:`_stop_loop`)
        self._closing = False
        #: set when a round or probe finished (tests and the benchmarks wait on it)
        self.round_done = asyncio.Event()
        #: True from "back" until the whole own state has been written again
        self.catching_up = True
        #: wall-clock time of the next heartbeat (marker, runtime list, keys' expiry)
        self._next_beat = 0.0
        self._lazy: asyncio.TimerHandle | None = None

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        """Start the round loop; Redis unreachable now is the same as lost later (logged once)."""
        self._catch_up()
        self._task = asyncio.create_task(self._loop(), name="shared-state")
        log.info(
            "shared_state",
            redis=self.config.where(),
            runtime=self.runtime_id,
            ttl=self.config.ttl,
            timeout=self.timeout,
        )
        await self.sync()

    async def close(self) -> None:
        """Stop the loop and remove this runtime's entries (they would expire anyway)."""
        task, self._task = self._task, None
        if self._lazy is not None:
            self._lazy.cancel()
            self._lazy = None
        if task is not None:
            await self._stop_loop(task)
        if self.up:
            with contextlib.suppress(*FAILURES):
                async with asyncio.timeout(self.timeout):
                    await self.client.zrem(self.key("runtimes"), self.runtime_id)
                    await self.client.delete(
                        self.key("activity", self.runtime_id),
                        self.key("live", self.runtime_id),
                        self.key("alive", self.runtime_id),
                    )
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        await self.client.aclose()

    async def _stop_loop(self, task: asyncio.Task[None]) -> None:
        """Cancel the round loop and wait for its end, which a swallowed cancel cannot stop.

        Seen once in CI and once in ~80 loaded runs here (the test of a runtime killed
        during 100 calls): the loop's task sat at its next wait, "cancelling", its cancel
        request lost inside the Redis client's command, and ``close`` awaited it for
        ever.  So the loop also ends on :attr:`_closing`, checked before every round, and
        each wait is bounded (tests/shared_state/test_link_stop.py swallows a cancel).
        """
        self._closing = True
        for _ in range(STOP_ATTEMPTS):
            self._wanted.set()
            task.cancel()
            done, _pending = await asyncio.wait({task}, timeout=self.timeout * 2)
            if done:
                break
        else:
            log.warning(
                "shared_state_loop_left",
                runtime=self.runtime_id,
                seconds=round(self.timeout * 2 * STOP_ATTEMPTS, 3),
                reason="the round loop did not end when cancelled",
            )
            return
        if not task.cancelled() and task.exception() is not None:
            log.warning(
                "shared_state_loop_failed", runtime=self.runtime_id, error=repr(task.exception())
            )

    # -- what the parts and the flows call --------------------------------------------

    def changed(self, *, lazy: bool = False) -> None:
        """A part has something to write: a round at once (``lazy``: within
        :data:`LAZY_SECONDS`, sharing it with other changes), nobody waits for it."""
        if not lazy:
            self._wanted.set()
        elif self._lazy is None:
            self._lazy = asyncio.get_running_loop().call_later(LAZY_SECONDS, self._lazy_due)

    def _lazy_due(self) -> None:
        self._lazy = None
        self._wanted.set()

    async def sync(self) -> None:
        """Write what changed and read the others' state, in the next round; returns after
        at most one timeout, at once while Redis is lost."""
        if not self.up or self._task is None:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._wanted.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(waiter), self.timeout * 2)

    async def run(self, command: Callable[[aioredis.Redis], Awaitable[T]]) -> T | None:
        """One direct operation, bounded; None (and Redis marked lost) when it failed."""
        if not self.up:
            return None
        try:
            async with asyncio.timeout(self.timeout):
                self.round_trips += 1
                return await command(self.client)
        except FAILURES as exc:
            self._lost(exc)
            return None

    # -- the loop ----------------------------------------------------------------

    async def _loop(self) -> None:
        beat = self.config.ttl / 3
        while not self._closing:
            if not self.up:
                await self._probe()
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(beat):
                    await self._wanted.wait()
            self._wanted.clear()
            waiters, self._waiters = self._waiters, []
            try:
                await self._round(reads=bool(waiters))
            except FAILURES as exc:
                self._lost(exc)
            finally:
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)
                if waiters:
                    self.rounds += 1
                self.round_done.set()
                self.round_done.clear()

    async def _round(self, *, reads: bool) -> None:
        """One pipeline: the heartbeat when due, the parts' writes, and their reads when a
        caller asked (a round that only carries changes reads nothing)."""
        now = self.clock()
        beat = self.catching_up or now >= self._next_beat
        async with asyncio.timeout(self.timeout):
            pipe = self.client.pipeline(transaction=False)
            if beat:
                # our marker gone (Redis restarted, flushed, failed over): write all again
                marker = self.key("alive", self.runtime_id)
                pipe.set(marker, "1", px=int(self.config.ttl * 1000), get=True)
                pipe.zadd(self.key("runtimes"), {self.runtime_id: now + self.config.ttl})
                pipe.zremrangebyscore(self.key("runtimes"), "-inf", now)
            for part in self.parts:
                part.writes(pipe, now, beat=beat)
            spans = []
            for part in self.parts if reads else ():
                start = len(pipe.command_stack)
                count = part.reads(pipe, now)
                spans.append((part, start, count))
            if not pipe.command_stack:
                return
            self.round_trips += 1
            results = await pipe.execute()
        for part, start, count in spans:
            if count:
                part.loaded(results[start : start + count])
        if not beat:
            return
        self._next_beat = now + self.config.ttl / 3
        rewritten, self.catching_up = self.catching_up, False
        if results[0] is None and not rewritten:
            log.info(
                "shared_state_rewritten",
                redis=self.config.where(),
                runtime=self.runtime_id,
                reason="keys gone",
            )
            self._catch_up()

    def _catch_up(self) -> None:
        self.catching_up = True
        for part in self.parts:
            part.catch_up()
        self._wanted.set()

    @property
    def current(self) -> bool:
        """Redis answers and holds this runtime's whole state (tests wait for this)."""
        return self.up and not self.catching_up

    async def _probe(self) -> None:
        await asyncio.sleep(self.probe_interval)
        try:
            async with asyncio.timeout(self.timeout):
                self.round_trips += 1
                await self.client.ping()
        except FAILURES:
            self.round_done.set()
            self.round_done.clear()
            return
        down = None if self.lost_at is None else round(time.monotonic() - self.lost_at, 3)
        self.up, self.lost_at = True, None
        log.info(
            "shared_state_back",
            redis=self.config.where(),
            runtime=self.runtime_id,
            down_seconds=down,
        )
        self._catch_up()

    def _lost(self, exc: BaseException) -> None:
        if not self.up:
            return
        self.up, self.lost_at = False, time.monotonic()
        reason = type(exc).__name__ if isinstance(exc, TimeoutError) else str(exc)
        log.warning(
            "shared_state_lost",
            redis=self.config.where(),
            runtime=self.runtime_id,
            reason=reason[:200],
            hint="calls go on with this runtime's own view until Redis answers again",
        )
        for part in self.parts:
            part.lost()
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters = []
