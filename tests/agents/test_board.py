"""The agent board on its own: trust in device states, activity, wrap-up, bounded memory."""

from __future__ import annotations

import pytest

from hotline.agents.board import Activity, AgentBoard
from hotline.agents.devices import DeviceState, device_key, device_of_dial_string, valid_device
from hotline.config.hunt import SkipRules

RULES = SkipRules()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def board(clock: Clock | None = None) -> AgentBoard:
    b = AgentBoard(clock=clock or Clock())
    b.watch({"PJSIP/201": "PJSIP/201", "PJSIP/202": "PJSIP/202", "Local/9@x": None})
    return b


def test_device_states_are_trusted_only_between_a_list_and_a_lost_connection() -> None:
    b = board()
    b.device_changed("PJSIP/201", "INUSE")
    assert b.device_state("PJSIP/201") is None  # no list since the connection: not trusted
    assert b.skip_reason("PJSIP/201", RULES) is None
    b.pbx_up({"PJSIP/201": "INUSE", "PJSIP/202": "NOT_INUSE", "PJSIP/999": "INUSE"})
    assert b.device_state("pjsip/201") is DeviceState.INUSE
    assert b.skip_reason("PJSIP/201", RULES) == "device busy (INUSE)"
    assert b.skip_reason("PJSIP/202", RULES) is None
    b.device_changed("PJSIP/201", "NOT_INUSE")
    assert b.skip_reason("PJSIP/201", RULES) is None
    b.pbx_down()
    assert b.device_state("PJSIP/202") is None
    assert b.sizes()["devices"] == 0
    b.pbx_up({})
    assert b.device_state("PJSIP/201") is None  # not listed: unknown, dialled


def test_unwatched_devices_are_not_kept() -> None:
    b = board()
    b.pbx_up({f"PJSIP/{n}": "INUSE" for n in range(1000)})
    b.device_changed("PJSIP/5000", "BUSY")
    assert b.sizes()["devices"] == 2


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ("UNAVAILABLE", "device unavailable (UNAVAILABLE)"),
        ("INVALID", "device unavailable (INVALID)"),
        ("BUSY", "device busy (BUSY)"),
        ("ONHOLD", "device busy (ONHOLD)"),
        ("RINGINUSE", "device busy (RINGINUSE)"),
        ("RINGING", None),  # not skipped by default
        ("NOT_INUSE", None),
        ("UNKNOWN", None),
        ("SOMETHING_NEW", None),
    ],
)
def test_device_states_map_to_skip_rules(state: str, reason: str | None) -> None:
    b = board()
    b.pbx_up({"PJSIP/201": state})
    assert b.skip_reason("PJSIP/201", RULES) == reason


def test_activity_is_per_call_and_the_strongest_wins() -> None:
    b = board()
    b.ringing("PJSIP/201", "c1", "support")
    b.confirming("PJSIP/201", "c2", "sales")
    assert b.activity("PJSIP/201") == (Activity.CONFIRMING, "sales")
    assert b.skip_reason("PJSIP/201", RULES) == "confirming on hotline sales"
    assert b.skip_reason("PJSIP/201", SkipRules(on_hotline_call=False)) is None
    b.released("PJSIP/201", "c2")
    assert b.activity("PJSIP/201") == (Activity.RINGING, "support")
    b.forget_call("c1")
    assert b.activity("PJSIP/201") is None
    b.ringing("PJSIP/unknown", "c3", "support")  # not an agent of any hotline
    assert b.sizes()["active_legs"] == 0


def test_wrap_up_and_last_call() -> None:
    clock = Clock()
    b = board(clock)
    b.connected("PJSIP/201", "c1", "support")
    clock.now = 50.0
    b.call_ended("PJSIP/201", "c1", wrap_up=20)
    assert b.last_ended("PJSIP/201") == 50.0
    assert b.activity("PJSIP/201") is None
    clock.now = 60.0
    assert b.skip_reason("PJSIP/201", RULES) == "wrap-up (10 s left)"
    assert b.skip_reason("PJSIP/201", SkipRules(wrap_up=False)) is None
    clock.now = 70.0
    assert b.skip_reason("PJSIP/201", RULES) is None
    assert b.sizes()["wrap_up"] == 0


def test_memory_is_bounded_by_the_agents_not_the_calls() -> None:
    clock = Clock()
    b = board(clock)
    for n in range(20_000):
        call = f"call-{n}"
        agent = "PJSIP/201" if n % 2 else "PJSIP/202"
        b.ringing(agent, call, "support")
        b.confirming(agent, call, "support")
        if n % 3:
            b.connected(agent, call, "support")
            clock.now += 1
            b.call_ended(agent, call, wrap_up=5)
        b.offered("support", agent)
        b.forget_call(call)
    sizes = b.sizes()
    assert sizes["active_legs"] == sizes["active_calls"] == sizes["active_agents"] == 0
    assert sizes["last_ended"] <= 2
    assert sizes["rotation"] == 1


def test_view_for_a_status_page() -> None:
    clock = Clock()
    b = board(clock)
    b.pbx_up({"PJSIP/201": "INUSE"})
    b.ringing("PJSIP/202", "c1", "support")
    views = {v.agent: v for v in b.view()}
    assert views["PJSIP/201"].device_state is DeviceState.INUSE
    assert views["PJSIP/202"].activity is Activity.RINGING
    assert views["Local/9@x"].device is None


@pytest.mark.parametrize(
    ("dial", "device"),
    [
        ("PJSIP/201", "PJSIP/201"),
        ("pjsip/201", "PJSIP/201"),
        ("SIP/alice", "SIP/alice"),
        ("PJSIP/0301234@trunk", None),
        ("Local/201@from-internal", None),
        ("PJSIP/201/sip:201@host", None),
    ],
)
def test_device_derived_from_the_dial_string(dial: str, device: str | None) -> None:
    assert device_of_dial_string(dial) == device


def test_device_names() -> None:
    assert device_key("custom:agent201") == "Custom:agent201"
    assert valid_device("Custom:agent201") == "Custom:agent201"
    for bad in ("Local/201@x", "PJSIP/201@trunk", "201", "PJSIP/"):
        with pytest.raises(ValueError, match="device"):
            valid_device(bad)
