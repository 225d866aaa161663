"""Holding a simulated call at a chosen moment, in real time, until told to go on.

A simulated call runs on its own virtual clock and passes the moment an
agent's phone rings, or the moment the caller is bridged, in microseconds.
A live page (tests, its screenshot, its latency benchmark) needs the runtime to
sit in that state for real: :class:`Hold` is an AMI event sink
(``SimulatedPbx.event_sink``) that, on the event marking the moment, waits
until :meth:`Hold.release`.  The runtime sees nothing of it but a PBX that
takes its time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from hotline.sim.events import Event

#: moments a call can be held at, and the AMI event that marks each
MOMENTS = ("ringing", "connected")


def moment_of(event: Event) -> str | None:
    """``ringing``: Dial reports the target ringing; ``connected``: both legs are bridged."""
    name = event.get("Event")
    if name == "DialState" and event.get("DialStatus") == "RINGING":
        return "ringing"
    if name == "BridgeEnter" and event.get("BridgeNumChannels") == "2":
        return "connected"
    return None


class Hold:
    """Holds calls at the moments in :attr:`at` (each once, unless ``every``)."""

    def __init__(self, at: Iterable[str] = MOMENTS, *, every: bool = False) -> None:
        self.at = set(at)
        self.every = every
        self.reached = {moment: asyncio.Event() for moment in MOMENTS}
        self._go = {moment: asyncio.Event() for moment in MOMENTS}

    def release(self, moment: str | None = None) -> None:
        """Let calls held at ``moment`` (default: every moment) go on."""
        for name in MOMENTS if moment is None else (moment,):
            self._go[name].set()

    def rearm(self, moment: str) -> None:
        """Hold the next call at ``moment`` again."""
        self.at.add(moment)
        self.reached[moment].clear()
        self._go[moment].clear()

    async def sink(self, event: Event) -> None:
        moment = moment_of(event)
        if moment is None or moment not in self.at:
            return
        if not self.every:
            self.at.discard(moment)
        self.reached[moment].set()
        await self._go[moment].wait()
