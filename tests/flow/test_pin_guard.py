"""PIN guessing across calls: the lockout per caller number and the per-hotline alarm.

The guard's wall clock is injected; the calls run through the real runtime
against the simulator over loopback sockets.  Every runtime here gets the same
:class:`RuntimeState`, as a reload does: the lockout outlives the config.
"""

from __future__ import annotations

from typing import Any

import pytest

from hotline.flow.state import RuntimeState
from hotline.guard.pin import PinGuard
from hotline.guard.store import MemoryFailureStore
from hotline.sim.caller import CallerScript
from tests.flow.conftest import Scenario, make_settings

PIN_OK = "4711"


class FakeWall:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def from_(caller: str, *pins: str | None, **kw: Any) -> CallerScript:
    return CallerScript(hotline="support", callerid=caller, pin_entries=pins, **kw)


def last_summary(scenario: Scenario) -> dict[str, Any]:
    """The newest call's summary (each ``scenario.call`` starts a new PBX: call ids repeat)."""
    return scenario.log.named("call_summary")[-1]


def settings(**guard: Any) -> Any:
    settings = make_settings()
    limits = settings.pin_guard.model_copy(update=guard)
    return settings.model_copy(update={"pin_guard": limits})


async def test_a_number_is_locked_out_after_n_failed_calls_and_hears_only_goodbye(
    scenario: Scenario,
) -> None:
    wall = FakeWall()
    state = RuntimeState(pin_guard=PinGuard(clock=wall))
    config = settings(failed_calls=2, window=600.0)
    await scenario.call(config, "201=accept", from_("5550001", "1111", "2222", "3333"), state=state)
    assert last_summary(scenario)["outcome"] == "pin_failed"
    # one wrong try, then the caller hangs up: it counts all the same
    await scenario.call(
        config, "201=accept", from_("5550001", "1111", hangup_during=("wrong_pin", 1)), state=state
    )
    assert last_summary(scenario)["outcome"] == "abandoned"
    # a new config (a reload) with the same runtime state: still locked out
    reloaded = settings(failed_calls=2, window=600.0)
    third = await scenario.call(reloaded, "201=accept", from_("5550001", PIN_OK), state=state)
    assert third.played == ["/var/lib/hotline/sounds/en/goodbye"]
    assert third.dialed == []
    assert third.hung_up_by == "runtime"
    assert last_summary(scenario)["outcome"] == "locked_out"
    (refused,) = scenario.log.named("pin_lockout_refused")
    assert refused["failed_calls"] == 2
    assert len(scenario.log.named("pin_prompted")) == 3 + 1  # none in the third call
    # another number is not affected
    other = await scenario.call(config, "201=accept", from_("5550002", PIN_OK), state=state)
    assert other.bridged_to == "201"
    # once the window has passed, the number may try again
    wall.now += 601
    later = await scenario.call(config, "201=accept", from_("5550001", PIN_OK), state=state)
    assert later.bridged_to == "201"


async def test_the_right_pin_clears_the_count(scenario: Scenario) -> None:
    state = RuntimeState(pin_guard=PinGuard(clock=FakeWall()))
    config = settings(failed_calls=2)
    for _ in range(3):  # each call: a wrong PIN, then the right one
        record = await scenario.call(
            config, "201=accept", from_("5550001", "1111", PIN_OK), state=state
        )
        assert record.bridged_to == "201"


async def test_no_input_is_not_a_guess(scenario: Scenario) -> None:
    state = RuntimeState(pin_guard=PinGuard(clock=FakeWall()))
    config = settings(failed_calls=1)
    await scenario.call(config, "201=accept", from_("5550001", None, None, None), state=state)
    record = await scenario.call(config, "201=accept", from_("5550001", PIN_OK), state=state)
    assert record.bridged_to == "201"


async def test_hidden_numbers_share_one_count(scenario: Scenario) -> None:
    state = RuntimeState(pin_guard=PinGuard(clock=FakeWall()))
    config = settings(failed_calls=1)
    await scenario.call(
        config, "201=accept", from_("anonymous", "1111", "1111", "1111"), state=state
    )
    await scenario.call(config, "201=accept", from_("", PIN_OK), state=state)
    assert last_summary(scenario)["outcome"] == "locked_out"


async def test_the_hotline_alarm_is_raised_once_per_window(scenario: Scenario) -> None:
    wall = FakeWall()
    state = RuntimeState(pin_guard=PinGuard(clock=wall))
    config = settings(failed_calls=0, alarm_failed_calls=3, alarm_window=300.0)
    callers = [f"55501{n:02d}" for n in range(6)]
    scripts = [from_(c, "1111", "2222", "3333") for c in callers]
    await scenario.calls(config, "201=accept", scripts, state=state)
    (alarm,) = scenario.log.named("pin_guess_alarm")
    assert alarm["failed_calls"] == 3
    assert alarm["hotline"] == "support"
    assert alarm["level"] == "error"
    # nobody was locked out: failed_calls = 0 switches the lockout off
    assert not scenario.log.named("pin_lockout_refused")
    wall.now += 301
    await scenario.calls(config, "201=accept", scripts[:3], state=state)
    assert len(scenario.log.named("pin_guess_alarm")) == 2


async def test_memory_store_window_and_bounds() -> None:
    store = MemoryFailureStore(max_events=3, max_keys=2)
    assert await store.add("a", 100.0, 10.0) == 1
    assert await store.add("a", 105.0, 10.0) == 2
    assert await store.count("a", 110.0, 10.0) == 1  # the event at 100 left the window
    assert await store.count("a", 120.0, 10.0) == 0
    for t in range(10):
        await store.add("b", 200.0 + t, 100.0)
    assert await store.count("b", 210.0, 100.0) == 3  # capped
    await store.add("c", 300.0, 10.0)
    await store.add("d", 300.0, 10.0)
    assert len(store) == 2  # the least recently used key went
    await store.clear("d")
    assert await store.count("d", 300.0, 10.0) == 0


def test_pin_guard_config_from_file_and_environment() -> None:
    from hotline.config import settings_from_mapping
    from hotline.errors import ConfigError

    base = {"hotlines": [{"name": "x", "targets": [{"number": "1"}]}]}
    settings = settings_from_mapping(base, {"HOTLINE_PIN_GUARD__FAILED_CALLS": "3"})
    assert settings.pin_guard.failed_calls == 3
    assert settings.pin_guard.window == 900.0
    with pytest.raises(ConfigError) as info:
        settings_from_mapping({**base, "pin_guard": {"alarm_failed_calls": 5000}})
    assert info.value.problems == [
        "<settings>: pin_guard.alarm_failed_calls: Input should be less than or equal to "
        "1000 (got 5000)"
    ]
