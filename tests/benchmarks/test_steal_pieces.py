"""The host's steal in pieces, set beside the server's late beats (benchmarks/host.py)."""

from __future__ import annotations

import asyncio

import pytest

from benchmarks.host import StealWatch, stolen_near
from benchmarks.record import late_beats

# the host took 0.02 s between 10.00 and 10.01, and 0.05 s between 12.30 and 12.31
PIECES = [(10.0, 10.01, 0.02), (12.3, 12.31, 0.05)]


def test_steal_counts_when_it_overlaps_the_beat_or_the_margin_before_it() -> None:
    assert stolen_near(PIECES, 10.005, 10.03) == pytest.approx(0.02)  # during the beat
    assert stolen_near(PIECES, 10.09, 10.12) == pytest.approx(0.02)  # 80 ms before it was due
    assert stolen_near(PIECES, 10.2, 10.25) == 0.0  # 190 ms after: not its doing
    assert stolen_near(PIECES, 9.0, 9.9) == 0.0  # after the beat
    assert stolen_near(PIECES, 10.0, 12.4) == pytest.approx(0.07)


def test_a_late_beat_away_from_steal_is_the_servers() -> None:
    beats = [
        (10.03, 0.030, 0.022),  # woke at 10.03, due at 10.00: the host took CPU then
        (11.5, 0.015, 0.012),  # nothing near it
        (12.32, 0.040, 0.035),  # due at 12.28, steal at 12.30
    ]
    found = late_beats(beats, PIECES)
    assert found == {
        "late_beats": 3,
        "late_beats_stolen": 2,
        "loop_cpu_lag_unstolen_ms": 12.0,
    }
    assert late_beats(beats[:1], PIECES)["loop_cpu_lag_unstolen_ms"] is None
    assert late_beats(beats, None)["late_beats_stolen"] is None


async def test_the_watch_keeps_only_where_the_counter_grew() -> None:
    counter = iter([1.0, 1.0, 1.04, 1.04, 1.04, 1.1, 1.1])
    read_all = asyncio.Event()

    def read() -> float:
        value = next(counter, None)
        if value is None:
            read_all.set()
            return 1.1
        return value

    watch = StealWatch(interval=0.001, read=read)
    task = asyncio.get_running_loop().create_task(watch.watch())
    await asyncio.wait_for(read_all.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [round(seconds, 3) for _start, _end, seconds in watch.pieces] == [0.04, 0.06]
    assert all(start < end for start, end, _seconds in watch.pieces)
