"""The live-calls registry in one runtime: what a page sees of each call, and nothing kept after."""

from __future__ import annotations

import asyncio

from hotline.flow.live import LiveCall, LiveCalls
from hotline.flow.observers import (
    AttemptRecord,
    CallConnected,
    CallEnded,
    CallStarted,
    ConfirmEnded,
    ConfirmStarted,
    StepChanged,
    TargetDialing,
    TargetEnded,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ended(call_id: str) -> CallEnded:
    return CallEnded(call_id, "sales", "0301234", 1000.0, "connected", None, "202", None,
                     1.0, 2.0, None, 3.0)  # fmt: skip


async def test_a_call_from_arrival_to_its_end() -> None:
    clock = Clock()
    live = LiveCalls("rt-a", clock)
    live.on_call_event(CallStarted("c1", "sales", "0301234", "PJSIP/t-1", 999.0))
    clock.now = 1002.0
    live.on_call_event(StepChanged("c1", "sales", "ringing"))
    live.on_call_event(TargetDialing("c1", "sales", 1, 1, 1, "201", "Anna", 20))
    live.on_call_event(TargetDialing("c1", "sales", 2, 1, 1, "202", "Ben", 20))
    (call,) = live.calls()
    assert (call.step, call.step_since, call.runtime) == ("ringing", 1002.0, "rt-a")
    assert sorted(call.ringing) == ["201", "202"]

    clock.now = 1005.0
    live.on_call_event(ConfirmStarted("c1", "sales", "202"))
    record = AttemptRecord(1, 1, "201", "Anna", "answered_elsewhere", 3.0)
    live.on_call_event(TargetEnded("c1", "sales", record))
    assert list(call.ringing) == []
    assert [(a.number, a.label, a.since) for a in call.confirming.values()] == [
        ("202", "Ben", 1005.0)
    ]
    live.on_call_event(ConfirmEnded("c1", "sales", "202", "ACCEPTED"))
    live.on_call_event(CallConnected("c1", "sales", 2, "202", "Ben", 6.0))
    assert call.connected is not None
    assert (call.connected.number, call.confirming) == ("202", {})
    assert LiveCall.from_dict(call.as_dict()) == call
    assert "0301234" not in str(call.as_dict())

    live.on_call_event(ended("c1"))
    assert live.calls() == []
    assert len(live) == 0


async def test_events_of_calls_served_elsewhere_are_not_kept_without_redis() -> None:
    live = LiveCalls()
    live.on_call_event(ConfirmStarted("other-runtime-call", "sales", "201"))
    live.on_call_event(StepChanged("unknown", "sales", "ringing"))
    assert live.own_records() == []


async def test_a_page_waits_on_changes_and_times_out_without_any() -> None:
    live = LiveCalls()
    seen = live.changes.version
    assert not await live.changes.wait(seen, 0.01)
    waiter = asyncio.create_task(live.changes.wait(seen, 5))
    await asyncio.sleep(0)  # let the waiter start waiting
    live.on_call_event(CallStarted("c1", "sales", "0301234", "PJSIP/t-1", 999.0))
    assert await waiter
    assert live.changes.version == seen + 1
