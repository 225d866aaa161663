"""benchmarks.host.machine_seconds: busy CPU and the host's steal apart, from /proc/stat."""

from __future__ import annotations

import os

import pytest

from benchmarks.host import machine_seconds

#: /proc/stat's first line as read on the benchmark machine (session 15): user nice system
#: idle iowait irq softirq steal guest guest_nice, in ticks
STAT = "cpu  509606 0 39091 1661721 685 0 12386 18532 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n"


def test_steal_is_counted_apart_from_the_busy_time() -> None:
    tick = os.sysconf("SC_CLK_TCK")
    busy, steal = machine_seconds(STAT)
    assert busy == pytest.approx((509606 + 39091 + 12386) / tick)
    assert steal == pytest.approx(18532 / tick)


def test_a_kernel_without_a_steal_column_reports_none() -> None:
    busy, steal = machine_seconds("cpu  100 0 50 1000 0 0 10\n")
    assert steal == 0.0
    assert busy == pytest.approx(160 / os.sysconf("SC_CLK_TCK"))
