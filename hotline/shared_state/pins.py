"""Failed PIN calls counted in Redis (a :class:`~hotline.guard.store.FailureStore`) for runtimes.

One sorted set per key (``<prefix>:pin:<hotline>:<caller>``), members scored
by wall-clock time; each write trims what left the window and sets the key to
expire with it, so Redis holds no count longer than the window it matters in.

Every event is also counted in this process (a
:class:`~hotline.guard.store.MemoryFailureStore`): while Redis answers, its
count is the answer (a right PIN on another runtime cleared it there); while
Redis is lost the answers come from the local count (this runtime's own view,
so a caller locked out here just before the outage stays locked out), and the
events of that time are written to Redis when it is back.
"""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any

import redis.asyncio as aioredis

from hotline.guard.store import MemoryFailureStore
from hotline.shared_state.link import RedisLink

#: events recorded while Redis was lost and not yet written there (the oldest are
#: dropped beyond this: the local count still has them)
REPLAY_LIMIT = 10_000


class RedisFailureStore:
    """Sliding-window counts in Redis, with the in-process store as the fallback."""

    def __init__(self, link: RedisLink, *, max_events: int = 1000) -> None:
        self.link = link
        self.local = MemoryFailureStore(max_events=max_events)
        self.max_events = max_events
        self._ids = itertools.count()
        self._replay: deque[tuple[str, float, float, str]] = deque(maxlen=REPLAY_LIMIT)
        link.parts.append(self)

    def _key(self, key: str) -> str:
        return self.link.key(key)

    def _member(self, now: float) -> str:
        return f"{now!r}:{self.link.runtime_id}:{next(self._ids)}"

    def _add(self, pipe: Any, key: str, now: float, window: float, member: str) -> None:
        name = self._key(key)
        pipe.zadd(name, {member: now})
        pipe.zremrangebyscore(name, "-inf", now - window)
        pipe.zremrangebyrank(name, 0, -self.max_events - 1)
        pipe.expire(name, int(window) + 1)

    async def add(self, key: str, now: float, window: float) -> int:
        local = await self.local.add(key, now, window)
        member = self._member(now)

        async def command(client: aioredis.Redis) -> int:
            pipe = client.pipeline(transaction=True)
            self._add(pipe, key, now, window, member)
            pipe.zcount(self._key(key), f"({now - window!r}", "+inf")
            results = await pipe.execute()
            return int(results[-1])

        shared = await self.link.run(command)
        if shared is None:
            self._replay.append((key, now, window, member))
            return local
        return shared

    async def count(self, key: str, now: float, window: float) -> int:
        local = await self.local.count(key, now, window)

        async def command(client: aioredis.Redis) -> int:
            return int(await client.zcount(self._key(key), f"({now - window!r}", "+inf"))

        shared = await self.link.run(command)
        return local if shared is None else shared

    async def clear(self, key: str) -> None:
        await self.local.clear(key)
        self._replay = deque((e for e in self._replay if e[0] != key), maxlen=REPLAY_LIMIT)

        async def command(client: aioredis.Redis) -> int:
            return int(await client.delete(self._key(key)))

        await self.link.run(command)

    # -- Part: catch-up after an outage ----------------------------------------------------

    def writes(self, pipe: Any, now: float, *, beat: bool) -> None:
        while self._replay:
            key, at, window, member = self._replay.popleft()
            if at > now - window:
                self._add(pipe, key, at, window, member)

    def reads(self, pipe: Any, now: float) -> int:
        return 0

    def loaded(self, results: list[Any]) -> None:
        """Nothing is read each round."""

    def lost(self) -> None:
        """The local counts carry on."""

    def catch_up(self) -> None:
        """The replay queue is written in the next round."""
