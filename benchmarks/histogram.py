"""A fixed-size log histogram: latency quantiles without keeping every sample.

Keeping one float per AGI command would itself grow the measured process by
megabytes over a 20,000-call leak check; this histogram never grows.  Buckets
are 1 % wide from 1 µs to 100 s, so a quantile is exact to about 1 %; the
maximum is kept exactly.
"""

from __future__ import annotations

import math

_LOW = 1e-6
_HIGH = 100.0
_GROWTH = 1.01
_LOG_GROWTH = math.log(_GROWTH)
_BUCKETS = math.ceil(math.log(_HIGH / _LOW) / _LOG_GROWTH) + 2


class LogHistogram:
    """Counts of durations (seconds) in 1 %-wide buckets."""

    __slots__ = ("count", "counts", "max", "total")

    def __init__(self) -> None:
        self.counts = [0] * _BUCKETS
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, seconds: float) -> None:
        if seconds <= _LOW:
            index = 0
        else:
            index = min(_BUCKETS - 1, 1 + int(math.log(seconds / _LOW) / _LOG_GROWTH))
        self.counts[index] += 1
        self.count += 1
        self.total += seconds
        if seconds > self.max:
            self.max = seconds

    def clear(self) -> None:
        for index in range(_BUCKETS):
            self.counts[index] = 0
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    def quantile(self, q: float) -> float:
        """The ``q`` quantile (0..1) in seconds: the upper edge of its bucket, at most the max."""
        if not self.count:
            return 0.0
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for index, bucket in enumerate(self.counts):
            seen += bucket
            if seen >= rank:
                upper = _LOW * _GROWTH**index
                return min(upper, self.max)
        return self.max

    def summary_ms(self) -> dict[str, float | int]:
        """Count, mean, p50, p90, p99, p99.9 and max in milliseconds."""
        return {
            "count": self.count,
            "mean": round(self.total / self.count * 1000, 4) if self.count else 0.0,
            "p50": round(self.quantile(0.50) * 1000, 4),
            "p90": round(self.quantile(0.90) * 1000, 4),
            "p99": round(self.quantile(0.99) * 1000, 4),
            "p999": round(self.quantile(0.999) * 1000, 4),
            "max": round(self.max * 1000, 4),
        }
