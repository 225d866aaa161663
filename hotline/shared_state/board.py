"""The agent board's own view shared through Redis (:class:`~hotline.agents.board.SharedView`).

Keys (``<p>`` = ``[state] key_prefix``, ``<r>`` = a runtime id):

* ``<p>:activity:<r>`` hash ``agent␟call`` → ``activity␟hotline``: what each
  agent does on runtime ``r``'s calls.  It expires ``[state] ttl`` seconds
  after ``r``'s last round, and ``<p>:runtimes`` (sorted set, score = that
  expiry) only lists runtimes still alive, so a crashed runtime's agents are
  free again ``ttl`` seconds after it died.
* ``<p>:ended`` (agent → when their last connected hotline call ended),
  ``<p>:wrap`` (agent → end of their wrap-up), ``<p>:rotation`` (hotline → whom
  it last offered a call to): ``when␟value``, written by :data:`MERGE` so
  the newest wins whichever runtime writes last (a catch-up after an outage
  never rolls the memory back); they expire a day after their last write.

Times in Redis are wall-clock seconds, converted to the board's clock when
read, so the runtimes' clocks must agree (NTP) to within what wrap-up can
tolerate.  Two runtimes deciding at the same instant can both offer a call
to the same free agent (the window is one Redis round trip); the agent's
phone then rings twice, and the second call's Dial finds them busy or the
confirm leg's claim tells the late agent the call is taken.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from redis.asyncio.client import Pipeline
from redis.typing import EncodableT, FieldT

from hotline.agents.board import Activity, AgentBoard
from hotline.shared_state.link import RedisLink

SEP = "\x1f"
#: how long the shared memory (last call, wrap-up, rotation) outlives its last write
MEMORY_SECONDS = 86400

_RANK = {Activity.RINGING: 1, Activity.CONFIRMING: 2, Activity.CONNECTED: 3}

#: KEYS[1] = hash; ARGV = expiry seconds, then (field, when, value) triples: set each field
#: unless it already holds a later ``when``
MERGE = """
for i = 2, #ARGV, 3 do
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  local when = tonumber(ARGV[i + 1])
  if not old or tonumber(string.match(old, '^[^\\31]*')) < when then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1] .. '\\31' .. ARGV[i + 2])
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 0
"""

#: KEYS[1] = the runtimes' sorted set; ARGV = now, own runtime id, activity key prefix:
#: every other live runtime's activity entries, flattened (field, value, field, value...)
PEERS = """
local out = {}
for _, rt in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')) do
  if rt ~= ARGV[2] then
    local h = redis.call('HGETALL', ARGV[3] .. rt)
    for i = 1, #h do out[#out + 1] = h[i] end
  end
end
return out
"""


class RedisBoard:
    """The board's :class:`~hotline.agents.board.SharedView` kept in Redis through ``link``."""

    def __init__(
        self, board: AgentBoard, link: RedisLink, wall: Callable[[], float] = time.time
    ) -> None:
        self.board = board
        self.link = link
        self.wall = wall
        self._own = link.key("activity", link.runtime_id)
        self._keys = {name: link.key(name) for name in ("ended", "wrap", "rotation")}
        #: other runtimes' entries as of the last round: agent -> strongest (activity, hotline)
        self._peers: dict[str, tuple[Activity, str]] = {}
        #: newest known (when, value) per field of the three memory hashes, own changes included
        self._memory: dict[str, dict[str, tuple[float, str]]] = {n: {} for n in self._keys}
        self._dirty_activity: set[tuple[str, str]] = set()
        self._dirty_memory: dict[str, set[str]] = {n: set() for n in self._keys}
        self._rewrite = False
        board.shared = self
        link.parts.append(self)

    # -- SharedView: answers ------------------------------------------------------------

    def _board_time(self, when: float) -> float:
        return when - self.wall() + self.board.clock()

    def _wall_time(self, at: float) -> float:
        return at - self.board.clock() + self.wall()

    def peer_activity(self, agent: str) -> tuple[Activity, str] | None:
        return self._peers.get(agent)

    def last_ended(self, agent: str) -> float | None:
        entry = self._memory["ended"].get(agent)
        return None if entry is None else self._board_time(entry[0])

    def wrap_up_until(self, agent: str) -> float | None:
        entry = self._memory["wrap"].get(agent)
        return None if entry is None else self._board_time(entry[0])

    def last_offered(self, hotline: str) -> str | None:
        entry = self._memory["rotation"].get(hotline)
        return None if entry is None else entry[1]

    # -- SharedView: our changes ---------------------------------------------------------

    def activity_changed(self, agent: str, call_id: str) -> None:
        self._dirty_activity.add((agent, call_id))
        self.link.changed()

    def ended(self, agent: str, at: float, wrap_up_until: float | None) -> None:
        self._remember("ended", agent, self._wall_time(at), "")
        if wrap_up_until is not None:
            self._remember("wrap", agent, self._wall_time(wrap_up_until), "")
        self.link.changed()

    def offered(self, hotline: str, agent: str) -> None:
        self._remember("rotation", hotline, self.wall(), agent)
        self.link.changed()

    def _remember(self, name: str, field: str, when: float, value: str) -> None:
        if self._merged(name, field, when, value):
            self._dirty_memory[name].add(field)

    def _merged(self, name: str, field: str, when: float, value: str) -> bool:
        table = self._memory[name]
        old = table.get(field)
        if old is not None and old[0] >= when:
            return False
        table[field] = (when, value)
        return True

    async def refresh(self) -> None:
        await self.link.sync()

    # -- Part: the link's rounds ----------------------------------------------------------

    def writes(self, pipe: Pipeline, now: float, *, beat: bool) -> None:
        board, own = self.board, self._own
        # the key's expiry with every write (a key created now must never outlive us)
        wrote = beat or self._rewrite or bool(self._dirty_activity)
        if self._rewrite:
            self._rewrite = False
            self._dirty_activity.clear()
            pipe.delete(own)
            entries: dict[FieldT, EncodableT] = {
                f"{agent}{SEP}{call_id}": f"{activity.value}{SEP}{hotline}"
                for agent, call_id, activity, hotline in board.own_activities()
            }
            if entries:
                pipe.hset(own, mapping=entries)
        for agent, call_id in self._dirty_activity:
            entry = board.own_activity(agent, call_id)
            field = f"{agent}{SEP}{call_id}"
            if entry is None:
                pipe.hdel(own, field)
            else:
                pipe.hset(own, field, f"{entry[0].value}{SEP}{entry[1]}")
        self._dirty_activity.clear()
        if wrote:
            pipe.expire(own, int(self.link.config.ttl) + 1)
        for name, fields in self._dirty_memory.items():
            if not fields:
                continue
            table = self._memory[name]
            args: list[Any] = [MEMORY_SECONDS]
            for field in fields:
                when, value = table[field]
                args += [field, repr(when), value]
            # EVAL, not EVALSHA: one round trip even right after Redis restarted
            pipe.eval(MERGE, 1, self._keys[name], *args)
            fields.clear()

    def reads(self, pipe: Pipeline, now: float) -> int:
        runtimes, prefix = self.link.key("runtimes"), self.link.key("activity", "")
        pipe.eval(PEERS, 1, runtimes, repr(now), self.link.runtime_id, prefix)
        for key in self._keys.values():
            pipe.hgetall(key)
        return 1 + len(self._keys)

    def loaded(self, results: list[Any]) -> None:
        flat, *memories = results
        peers: dict[str, tuple[Activity, str]] = {}
        for field, value in zip(flat[::2], flat[1::2], strict=True):
            agent = field.partition(SEP)[0]
            word, _, hotline = value.partition(SEP)
            try:
                entry = (Activity(word), hotline)
            except ValueError:
                continue  # written by a newer version: not ours to judge
            old = peers.get(agent)
            if old is None or _RANK[entry[0]] > _RANK[old[0]]:
                peers[agent] = entry
        self._peers = peers
        for name, stored in zip(self._keys, memories, strict=True):
            for field, text in stored.items():
                when, _, value = text.partition(SEP)
                try:
                    self._merged(name, field, float(when), value)
                except ValueError:
                    continue

    def lost(self) -> None:
        self._peers = {}

    def catch_up(self) -> None:
        self._rewrite = True
        for name, table in self._memory.items():
            self._dirty_memory[name].update(table)

    def sizes(self) -> dict[str, int]:
        return {"peers": len(self._peers), **{n: len(t) for n, t in self._memory.items()}}
