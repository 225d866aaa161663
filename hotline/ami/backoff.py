"""Reconnect delays: capped exponential backoff with jitter.

Jitter keeps a fleet of runtimes from hammering a restarted Asterisk in
lock-step.  The random source is injectable so tests are deterministic and
fast.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delay before reconnect attempt ``n`` (0-based): ``min(cap, initial*factor**n)``,
    shrunk by up to ``jitter`` (a fraction of the delay) at random."""

    initial: float = 0.5
    factor: float = 2.0
    cap: float = 30.0
    jitter: float = 0.5
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if self.initial < 0 or self.cap < 0 or self.factor < 1 or not 0 <= self.jitter <= 1:
            raise ValueError("backoff needs initial>=0, cap>=0, factor>=1 and 0<=jitter<=1")

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt``."""
        base = min(self.cap, self.initial * self.factor ** min(attempt, 64))
        return base * (1.0 - self.jitter * self.rng.random())
