"""benchmarks/wake_cost.py measures real wake-ups (a short run)."""

from __future__ import annotations

from benchmarks.wake_cost import measure


def test_each_kind_of_sleep_is_counted_and_costed() -> None:
    results = measure(0.01, 0.2)
    for kind in ("timer-asyncio", "time.sleep"):
        found = results[kind]
        # ~20 wakes in 0.2 s; a starved machine wakes later, never more often
        assert 1 <= found["wakes"] <= 21
        assert found["cpu_s"] >= 0
        # per wake: the CPU over the wakes (cpu_s is rounded to 0.1 ms)
        assert abs(found["cpu_us_per_wake"] * found["wakes"] / 1e6 - found["cpu_s"]) < 1e-4
    uvloop = results["timer-uvloop"]
    assert uvloop is None or 1 <= uvloop["wakes"] <= 21
