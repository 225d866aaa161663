"""DeadlineSlots: every session's command deadline on one loop timer, never early."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from hotline.agi.deadlines import EARLY, GRAIN, DeadlineSlots
from tests.conftest import CapturedLog


class _Recorder:
    """Notes when each of its members is told; ``done`` once ``last`` were."""

    def __init__(self, loop: asyncio.AbstractEventLoop, last: int) -> None:
        self.loop = loop
        self.last = last
        self.ran: list[tuple[str, float]] = []
        self.done = asyncio.Event()

    def __call__(self, name: str) -> _Member:
        return _Member(self, name)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.ran]


class _Member:
    def __init__(self, recorder: _Recorder, name: str) -> None:
        self.recorder = recorder
        self.name = name

    def deadline_due(self) -> None:
        recorder = self.recorder
        recorder.ran.append((self.name, recorder.loop.time()))
        if len(recorder.ran) == recorder.last:
            recorder.done.set()


class _Idle:
    def deadline_due(self) -> None:
        raise AssertionError("not due in this test")


async def test_each_is_told_in_deadline_order_and_never_before_its_deadline() -> None:
    loop = asyncio.get_running_loop()
    slots = DeadlineSlots(loop)
    make = _Recorder(loop, 4)
    now = loop.time()
    deadlines = {
        "c": now + 3 * GRAIN,
        "a": now + 0.01,
        "b": now + GRAIN + 0.01,
        "d": now + 5 * GRAIN,
    }
    for name, at in deadlines.items():
        slots.add(make(name), at)
    assert len(slots) == 4
    await make.done.wait()
    assert make.names == ["a", "b", "c", "d"]
    for name, when in make.ran:
        assert when >= deadlines[name] - EARLY
    assert len(slots) == 0


async def test_one_discarded_is_never_told_and_one_moved_later_is_told_once() -> None:
    loop = asyncio.get_running_loop()
    slots = DeadlineSlots(loop)
    make = _Recorder(loop, 2)
    now = loop.time()
    gone, moved = make("gone"), make("moved")
    slots.discard(gone, slots.add(gone, now + 0.01))
    slot = slots.add(moved, now + 0.01)
    slots.discard(moved, slot)
    slots.add(moved, now + 2 * GRAIN)  # moved on: a command's deadline moved later
    slots.add(make("last"), now + 4 * GRAIN)
    await make.done.wait()
    assert make.names == ["moved", "last"]
    assert make.ran[0][1] >= now + 2 * GRAIN - EARLY


async def test_deadlines_share_one_loop_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()
    armed: list[float] = []
    call_at = loop.call_at

    def counting(when: float, callback: Callable[..., Any], *args: Any) -> asyncio.TimerHandle:
        armed.append(when)
        return call_at(when, callback, *args)

    monkeypatch.setattr(loop, "call_at", counting)
    slots = DeadlineSlots(loop)
    now = loop.time()
    for number in range(1_000):  # a thousand sessions' deadlines, 30 s out, over a second
        slots.add(_Idle(), now + 30 + number / 1_000)
    assert len(armed) == 1
    slots.add(_Idle(), now + 10)  # an earlier one moves the one timer
    assert len(armed) == 2
    slots.close()
    assert len(slots) == 0


class _Rearming:
    """Told once, adds itself again to a later slot (a session whose command's deadline was
    moved on since it was armed)."""

    def __init__(self, slots: DeadlineSlots, later: float) -> None:
        self.slots = slots
        self.later = later
        self.told = asyncio.Event()

    def deadline_due(self) -> None:
        if not self.told.is_set():
            self.told.set()
            self.slots.add(self, self.later)


async def test_one_told_that_adds_itself_again_leaves_one_loop_timer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop = asyncio.get_running_loop()
    armed: list[asyncio.TimerHandle] = []
    call_at = loop.call_at

    def recording(when: float, callback: Callable[..., Any], *args: Any) -> asyncio.TimerHandle:
        handle = call_at(when, callback, *args)
        armed.append(handle)
        return handle

    monkeypatch.setattr(loop, "call_at", recording)
    slots = DeadlineSlots(loop)
    now = loop.time()
    rearming = _Rearming(slots, now + 30)
    slots.add(rearming, now + 0.01)
    slots.add(_Idle(), now + 60)  # a slot after it: the timer moves on to a slot either way
    await rearming.told.wait()
    # one timer waits (for the re-added slot, 30 s out), not one per add made while firing
    waiting = [handle for handle in armed if not handle.cancelled() and handle.when() > now + 1]
    assert len(waiting) == 1
    assert waiting[0].when() == pytest.approx(now + 30, abs=GRAIN)
    slots.close()


class _Broken:
    def deadline_due(self) -> None:
        raise RuntimeError("a bug in one session")


async def test_one_that_fails_does_not_keep_the_others(captured_log: CapturedLog) -> None:
    loop = asyncio.get_running_loop()
    slots = DeadlineSlots(loop)
    make = _Recorder(loop, 1)
    at = loop.time() + 0.01
    slots.add(_Broken(), at)
    slots.add(make("other"), at)
    await make.done.wait()
    assert make.names == ["other"]
    (failed,) = captured_log.named("agi_deadline_failed")
    assert "a bug in one session" in failed["exception"]


async def test_closed_slots_tell_nobody() -> None:
    loop = asyncio.get_running_loop()
    slots = DeadlineSlots(loop)
    make = _Recorder(loop, 1)
    slots.add(make("closed"), loop.time() + 0.01)
    slots.close()
    other = DeadlineSlots(loop)
    other.add(make("other"), loop.time() + 2 * GRAIN)
    await make.done.wait()
    assert make.names == ["other"]
