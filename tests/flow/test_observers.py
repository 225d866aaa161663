"""The flows' event interface: what observers hear, and that they cannot hurt a call."""

from __future__ import annotations

import dataclasses
import itertools
import time

from hotline.flow.observers import (
    CallConnected,
    CallEnded,
    CallEvent,
    CallObservers,
    CallStarted,
    StepChanged,
    TargetDialing,
    TargetEnded,
)
from hotline.sim.caller import CallerScript
from tests.conftest import CapturedLog
from tests.flow.conftest import Scenario, make_settings


class Recorder:
    def __init__(self) -> None:
        self.events: list[CallEvent] = []

    def on_call_event(self, event: CallEvent) -> None:
        self.events.append(event)


class Raising:
    def on_call_event(self, event: CallEvent) -> None:
        raise RuntimeError("observer bug")


class Slow:
    def on_call_event(self, event: CallEvent) -> None:
        time.sleep(0.006)  # a misbehaving observer blocking the loop (not a test wait)


async def test_observer_hears_a_connected_call_in_order(scenario: Scenario) -> None:
    recorder = Recorder()
    scenario.observers.append(recorder)
    record = await scenario.call(
        make_settings(), "201=no-answer,202=accept", CallerScript("support", pin_entries=["4711"])
    )
    events = [e for e in recorder.events if e.call_id == record.uniqueid]
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "CallStarted"
    assert kinds[-1] == "CallEnded"
    assert kinds.count("TargetDialing") == 2
    assert kinds.count("TargetEnded") == 2
    assert kinds.count("CallConnected") == 1
    # StepChanged only on real changes, in call order
    steps = [e.step for e in events if isinstance(e, StepChanged)]
    assert steps[:4] == ["pin", "intro", "please_hold", "ringing"]
    assert "connected" in steps
    assert all(a != b for a, b in itertools.pairwise(steps))

    started = next(e for e in events if isinstance(e, CallStarted))
    assert started.hotline == "support"
    assert started.caller == "5550001"  # the script's caller id
    dialing = [e for e in events if isinstance(e, TargetDialing)]
    assert [(d.attempt, d.hunt_step, d.number) for d in dialing] == [(1, 1, "201"), (2, 2, "202")]
    ended_targets = [e.record for e in events if isinstance(e, TargetEnded)]
    assert [(r.number, r.outcome) for r in ended_targets] == [
        ("201", "no_answer"),
        ("202", "confirmed"),
    ]
    connected = next(e for e in events if isinstance(e, CallConnected))
    assert connected.number == "202"
    ended = events[-1]
    assert isinstance(ended, CallEnded)
    assert ended.outcome == "connected"
    assert ended.attempts == tuple(ended_targets)
    assert ended.wait_seconds == connected.wait_seconds
    # the log line and the event are one fact
    summary = scenario.summary(record.uniqueid)
    assert {k: summary[k] for k in ended.summary()} == ended.summary()
    # no event carries the PIN (in any text: the floats are times, whose digits may hold it)
    assert not [text for event in recorder.events for text in _texts(event) if "4711" in text]


async def test_raising_and_slow_observers_never_touch_the_call(
    scenario: Scenario, captured_log: CapturedLog
) -> None:
    recorder = Recorder()
    scenario.observers.extend([Raising(), Slow(), recorder])
    record = await scenario.call(
        make_settings(pin=None), "201=accept", CallerScript("support", pin_entries=[])
    )
    assert record.bridged_to == "201"
    assert scenario.summary(record.uniqueid)["outcome"] == "connected"
    # the observer after the broken ones heard everything
    assert isinstance(recorder.events[-1], CallEnded)
    failures = captured_log.named("call_observer_failed")
    assert len(failures) == 1  # logged once per observer and exception type, not per event
    assert failures[0]["observer"] == "Raising"
    assert captured_log.named("call_observer_slow")


def test_fan_out_counts_failures() -> None:
    observers = CallObservers([Raising()])
    event = StepChanged("1.1", "support", "intro")
    observers.emit(event)
    observers.emit(event)
    assert observers.failures == 2
    assert len(observers) == 1


def _texts(value: object) -> list[str]:
    """Every string inside an event (its fields, and the fields of what it holds)."""
    if isinstance(value, str):
        return [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [t for f in dataclasses.fields(value) for t in _texts(getattr(value, f.name))]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _texts(item)]
    if isinstance(value, dict):
        return [t for item in value.items() for t in _texts(item)]
    return []
