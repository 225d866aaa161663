"""The live calls kept in Redis (:class:`~hotline.flow.live.SharedLive`).

``<prefix>:live:<runtime>`` hash call id → the call as JSON, written in the
link's rounds and expiring with the runtime (``[state] ttl`` after its last
round), so the calls of a runtime that died leave the live page by themselves.
"""

from __future__ import annotations

from typing import Any

import orjson
import redis.asyncio as aioredis

from hotline.flow.live import LiveCall, LiveCalls
from hotline.shared_state.link import RedisLink

#: KEYS[1] = the runtimes' sorted set; ARGV = now, live key prefix: every live runtime's calls
EVERYONE = """
local out = {}
for _, rt in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')) do
  for _, v in ipairs(redis.call('HVALS', ARGV[2] .. rt)) do out[#out + 1] = v end
end
return out
"""


class RedisLive:
    """This runtime's live calls into Redis; everybody's out for :meth:`LiveCalls.snapshot`."""

    def __init__(self, live: LiveCalls, link: RedisLink) -> None:
        self.live = live
        self.link = link
        self._own = link.key("live", link.runtime_id)
        self._dirty: set[str] = set()
        self._rewrite = False
        live.shared = self
        link.parts.append(self)

    def changed(self, call_id: str) -> None:
        self._dirty.add(call_id)
        self.link.changed(lazy=True)  # a page may show a step 0.2 s late; a call never waits

    async def everyone(self) -> list[LiveCall] | None:
        now = self.link.clock()

        async def command(client: aioredis.Redis) -> list[Any]:
            runtimes, prefix = self.link.key("runtimes"), self.link.key("live", "")
            return list(await client.eval(EVERYONE, 1, runtimes, repr(now), prefix))

        rows = await self.link.run(command)
        if rows is None:
            return None
        calls = []
        for row in rows:
            try:
                calls.append(LiveCall.from_dict(orjson.loads(row)))
            except (orjson.JSONDecodeError, TypeError, ValueError, KeyError, IndexError):
                continue  # written by another version
        return calls

    # -- Part -----------------------------------------------------------------------

    def writes(self, pipe: Any, now: float, *, beat: bool) -> None:
        # the key's expiry with every write (a key created now must never outlive us)
        wrote = beat or self._rewrite or bool(self._dirty)
        if self._rewrite:
            self._rewrite = False
            self._dirty.clear()
            pipe.delete(self._own)
            rows = {c.call_id: orjson.dumps(c.as_dict()) for c in self.live.own_records()}
            if rows:
                pipe.hset(self._own, mapping=rows)
        for call_id in self._dirty:
            call = self.live.get(call_id)
            if call is None:
                pipe.hdel(self._own, call_id)
            else:
                pipe.hset(self._own, call_id, orjson.dumps(call.as_dict()))
        self._dirty.clear()
        if wrote:
            pipe.expire(self._own, int(self.link.config.ttl) + 1)

    def reads(self, pipe: Any, now: float) -> int:
        return 0

    def loaded(self, results: list[Any]) -> None:
        """Nothing is read each round: the page reads when it shows."""

    def lost(self) -> None:
        """The snapshot says it is this runtime's only."""

    def catch_up(self) -> None:
        self._rewrite = True
