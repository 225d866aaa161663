"""In-process meeting point of a call's two legs.

The confirm verdict travels to the caller leg on the channel (``GOSUB_RETVAL``),
so any runtime instance can serve either leg.  When both legs run in this
process, the confirm leg also tells the caller leg the moment the agent
accepts, so ``call_connected`` is logged when it happens rather than when the
bridged call ends.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


@dataclass(frozen=True)
class Acceptance:
    call_id: str
    target: str


class CallRegistry:
    """Caller legs waiting for an agent's acceptance, by call id."""

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[Acceptance]] = {}

    def expect(self, call_id: str) -> asyncio.Future[Acceptance]:
        """Called by the caller leg before it dials; resolved by :meth:`accepted`."""
        future: asyncio.Future[Acceptance] = asyncio.get_running_loop().create_future()
        self._waiting[call_id] = future
        return future

    def accepted(self, call_id: str, target: str) -> bool:
        """The agent took the call; returns False when the caller leg is not in this process."""
        future = self._waiting.get(call_id)
        if future is None or future.done():
            return False
        future.set_result(Acceptance(call_id, target))
        return True

    def forget(self, call_id: str) -> None:
        future = self._waiting.pop(call_id, None)
        if future is not None and not future.done():
            future.cancel()

    def __len__(self) -> int:
        return len(self._waiting)
