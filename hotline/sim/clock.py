"""A virtual clock: simulated calls take virtual seconds, not real ones.

The simulator keeps one clock per call.  Ringing for 15 s or playing a 30 s
prompt advances that call's clock at once, so a test of a whole hunt runs in
milliseconds while the runtime (given :meth:`VirtualClock.now` as its clock)
still measures ``max_wait`` and talk times in the call's own seconds.
"""

from __future__ import annotations


class VirtualClock:
    """Seconds of one simulated call; only moves forward, only when told to."""

    __slots__ = ("_now",)

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        """The current virtual time in seconds."""
        return self._now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` (never backwards); returns the new time."""
        if seconds < 0:
            raise ValueError(f"a virtual clock cannot go back ({seconds} s)")
        self._now += seconds
        return self._now

    def advance_to(self, moment: float) -> float:
        """Move forward to ``moment``; a moment already past leaves the clock alone."""
        self._now = max(self._now, moment)
        return self._now

    def __repr__(self) -> str:
        return f"VirtualClock(now={self._now:.3f})"
