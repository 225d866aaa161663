"""Failed PIN calls counted in Redis (a :class:`~hotline.guard.store.FailureStore`) for runtimes.

One sorted set per key (``<prefix>:pin:<hotline>:<caller>``), members scored
by wall-clock time and named by the runtime that saw them; each write trims
what left the window and sets the key to expire with it, so Redis holds no
count longer than the window it matters in.  A right PIN does not delete the
set but writes when it cleared it (``<prefix>:pin-cleared:<key>``): members
up to then are removed, and none at or before it is ever added again.

Every event is also counted in this process (a
:class:`~hotline.guard.store.MemoryFailureStore`): while Redis answers, its
count is the answer (a right PIN on another runtime cleared it there); while
Redis is lost the answers come from the local count (this runtime's own view,
so a caller locked out here just before the outage stays locked out).  When
Redis is back, each runtime writes again every event it saw and every clear it
made that still matter, under their old names: nothing is counted twice, a
Redis that restarted empty gets the failures from before the outage back
(measured: tests/shared_state/test_redis_outage.py, 2 of 4 failures were lost
with the events of the outage alone), and a clear made on one runtime while
Redis was gone still wins over the older failures another runtime writes.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from typing import Any

import redis.asyncio as aioredis

from hotline.guard.store import MemoryFailureStore
from hotline.shared_state.link import RedisLink

#: keys whose own events (and clears) are kept for the catch-up, least recently used
#: dropped beyond this (the local count keeps the same bound: hotline/guard/store.py)
MAX_KEYS = 100_000

#: KEYS = the set, its "cleared at"; ARGV = the window's start, max events, expiry
#: seconds, then (member, when) pairs: add each unless cleared since; the count after
ADD = """
local cleared = tonumber(redis.call('GET', KEYS[2]) or '0')
for i = 4, #ARGV, 2 do
  if tonumber(ARGV[i + 1]) > cleared then
    redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i])
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[2]) - 1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return redis.call('ZCARD', KEYS[1])
"""

#: KEYS = the set, its "cleared at"; ARGV = when, expiry seconds: the newest clear wins
CLEAR = """
if tonumber(ARGV[1]) > tonumber(redis.call('GET', KEYS[2]) or '0') then
  redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return 0
"""


class RedisFailureStore:
    """Sliding-window counts in Redis, with the in-process store as the fallback."""

    def __init__(
        self,
        link: RedisLink,
        *,
        max_events: int = 1000,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.link = link
        self.local = MemoryFailureStore(max_events=max_events, max_keys=max_keys)
        self.max_events = max_events
        self.max_keys = max_keys
        self._ids = itertools.count()
        #: key -> (window, [(when, member)]): this runtime's events, for the catch-up
        self._mine: OrderedDict[str, tuple[float, list[tuple[float, str]]]] = OrderedDict()
        #: key -> (when, window): this runtime's clears, for the catch-up
        self._cleared: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._rewrite = False
        link.parts.append(self)

    def _names(self, key: str) -> tuple[str, str]:
        return self.link.key(key), self.link.key("pin-cleared", key)

    def _add_args(
        self, key: str, now: float, window: float, events: list[tuple[float, str]]
    ) -> tuple[Any, ...]:
        """The :data:`ADD` call (script, key count, keys, arguments) for ``events``."""
        args: list[Any] = [repr(now - window), self.max_events, int(window) + 1]
        for when, member in events:
            args += [member, repr(when)]
        return (ADD, 2, *self._names(key), *args)

    def _remember(self, table: OrderedDict[str, Any], key: str, value: Any) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > self.max_keys:
            table.popitem(last=False)

    async def add(self, key: str, now: float, window: float) -> int:
        local = await self.local.add(key, now, window)
        member = f"{now!r}:{self.link.runtime_id}:{next(self._ids)}"
        _, events = self._mine.get(key, (window, []))
        events = [e for e in events if e[0] > now - window]
        events.append((now, member))
        del events[: -self.max_events]
        self._remember(self._mine, key, (window, events))
        script = self._add_args(key, now, window, [(now, member)])

        async def command(client: aioredis.Redis) -> int:
            return int(await client.eval(*script))

        shared = await self.link.run(command)
        return local if shared is None else shared

    async def count(self, key: str, now: float, window: float) -> int:
        local = await self.local.count(key, now, window)

        async def command(client: aioredis.Redis) -> int:
            return int(await client.zcount(self._names(key)[0], f"({now - window!r}", "+inf"))

        shared = await self.link.run(command)
        return local if shared is None else shared

    async def clear(self, key: str) -> None:
        await self.local.clear(key)
        now = self.link.clock()
        # the clearing call counted its own failure first, so the window is known here
        window = self._mine.pop(key, (900.0, []))[0]
        self._remember(self._cleared, key, (now, window))

        async def command(client: aioredis.Redis) -> int:
            return int(await client.eval(CLEAR, 2, *self._names(key), repr(now), int(window) + 1))

        await self.link.run(command)

    # -- Part: catch-up after an outage ----------------------------------------------------

    def writes(self, pipe: Any, now: float, *, beat: bool) -> None:
        if not self._rewrite:
            return
        self._rewrite = False
        for key, (when, window) in list(self._cleared.items()):
            if when <= now - window:
                del self._cleared[key]
                continue
            pipe.eval(CLEAR, 2, *self._names(key), repr(when), int(window) + 1)
        for key, (window, events) in list(self._mine.items()):
            alive = [e for e in events if e[0] > now - window]
            if not alive:
                del self._mine[key]
                continue
            self._mine[key] = (window, alive)
            pipe.eval(*self._add_args(key, now, window, alive))

    def reads(self, pipe: Any, now: float) -> int:
        return 0

    def loaded(self, results: list[Any]) -> None:
        """Nothing is read each round."""

    def lost(self) -> None:
        """The local counts carry on."""

    def catch_up(self) -> None:
        """Every own event and clear still in its window is written in the next round."""
        self._rewrite = True
