"""State shared by several runtimes through Redis (``[state] redis_url``).

:class:`SharedState` puts the three shared parts behind their seams, all
through one :class:`~hotline.shared_state.link.RedisLink`:

* the agent board's own view and rotation memory (:mod:`hotline.shared_state.board`,
  ``AgentBoard.shared``),
* the PIN guard's failure counts (:mod:`hotline.shared_state.pins`, ``PinGuard.store``),
* the live calls (:mod:`hotline.shared_state.live`, ``LiveCalls.shared``).

The logic (skip rules, strategies, lockouts) stays where it is; only where
the facts are kept changes.  Without ``redis_url`` none of this is imported.
"""

from __future__ import annotations

from hotline.agents.board import AgentBoard
from hotline.config.state import StateConfig
from hotline.flow.state import RuntimeState
from hotline.shared_state.board import RedisBoard
from hotline.shared_state.link import RedisLink
from hotline.shared_state.live import RedisLive
from hotline.shared_state.pins import RedisFailureStore

__all__ = ["RedisLink", "SharedState"]


class SharedState:
    """The runtime's shared parts; :meth:`start` before serving, :meth:`close` after."""

    def __init__(
        self,
        config: StateConfig,
        state: RuntimeState,
        board: AgentBoard,
        *,
        probe_interval: float = 1.0,
    ) -> None:
        self.link = RedisLink(config, probe_interval=probe_interval)
        self.board = RedisBoard(board, self.link)
        self.pins = RedisFailureStore(self.link)
        state.pin_guard.store = self.pins
        self.live = RedisLive(state.live, self.link)

    async def start(self) -> None:
        await self.link.start()

    async def close(self) -> None:
        await self.link.close()
