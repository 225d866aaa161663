"""Whole calls, runtime ⇄ PBX simulator over real loopback sockets.

Each test scripts the caller and the agents, lets the simulator play Asterisk
(virtual clock: no real ring time passes) and checks both what the PBX saw
(dialled targets, prompts, bridge, fallback) and what the runtime logged.
"""

from __future__ import annotations

import asyncio

from hotline.sim.caller import CallerScript
from tests.flow.conftest import Scenario, make_settings

PIN_OK = "4711"
WRONG = "1111"


def support(*pins: str | None, **kw: object) -> CallerScript:
    return CallerScript(hotline="support", pin_entries=pins, **kw)  # type: ignore[arg-type]


def numbers(dialed: list[str]) -> list[str]:
    return [d.split(",", 1)[0].split("/", 1)[1].split("@", 1)[0] for d in dialed]


def outcomes(scenario: Scenario, call_id: str) -> list[tuple[str, str]]:
    return [(e["number"], e["outcome"]) for e in scenario.events(call_id, "target_outcome")]


async def test_no_pin_first_target_confirms(scenario: Scenario) -> None:
    settings = make_settings(pin=None)
    record = await scenario.call(settings, "201=accept", support())

    assert record.bridged_to == "201"
    assert numbers(record.dialed) == ["201"]
    summary = scenario.summary(record.uniqueid)
    assert summary["outcome"] == "connected"
    assert summary["connected_to"] == "201"
    assert summary["connected_label"] == "Anna"
    assert outcomes(scenario, record.uniqueid) == [("201", "confirmed")]
    (connected,) = scenario.events(record.uniqueid, "call_connected")
    assert connected["number"] == "201"
    assert connected["wait_seconds"] > 0
    (ended,) = scenario.events(record.uniqueid, "call_ended")
    assert ended["talk_seconds"] > 0
    # the confirm leg logs under the caller's call id too
    assert scenario.events(record.uniqueid, "confirm_accepted")
    assert "enter_pin" not in " ".join(record.played)


async def test_pin_right_first_time(scenario: Scenario) -> None:
    record = await scenario.call(make_settings(), "201=accept", support(PIN_OK))
    assert record.bridged_to == "201"
    events = [e["event"] for e in scenario.events(record.uniqueid)]
    assert events.count("pin_prompted") == 1
    assert "pin_accepted" in events
    assert "pin_rejected" not in events


async def test_pin_right_at_second_attempt(scenario: Scenario) -> None:
    record = await scenario.call(make_settings(), "201=accept", support(WRONG, PIN_OK))
    assert record.bridged_to == "201"
    rejected = scenario.events(record.uniqueid, "pin_rejected")
    assert [(e["attempt"], e["attempts"]) for e in rejected] == [(1, 3)]
    (accepted,) = scenario.events(record.uniqueid, "pin_accepted")
    assert accepted["attempt"] == 2
    assert sum("wrong_pin" in p for p in record.played) == 1


async def test_pin_wrong_every_time_dials_nobody(scenario: Scenario) -> None:
    record = await scenario.call(make_settings(), "201=accept", support("1234", "9999", None))
    assert record.dialed == []
    assert record.played[-1].endswith("/goodbye")
    assert record.hung_up_by == "runtime"
    summary = scenario.summary(record.uniqueid)
    assert summary["outcome"] == "pin_failed"
    rejected = scenario.events(record.uniqueid, "pin_rejected")
    assert [e["reason"] for e in rejected] == ["wrong", "wrong", "no input"]
    for digits in (PIN_OK, "1234", "9999"):  # not in a float: times may hold any digits
        assert not scenario.log.holds_digits(digits)


async def test_no_answer_then_voicemail_then_confirm(scenario: Scenario) -> None:
    record = await scenario.call(
        make_settings(), "201=no-answer,202=voicemail,203=accept", support(PIN_OK)
    )
    assert numbers(record.dialed) == ["201", "202", "203"]
    assert record.bridged_to == "203"
    assert outcomes(scenario, record.uniqueid) == [
        ("201", "no_answer"),
        ("202", "not_confirmed"),
        ("203", "confirmed"),
    ]
    voicemail = record.agent_legs[1]
    assert voicemail.hotline_confirm == "TIMEOUT"
    assert not voicemail.bridged
    assert voicemail.released
    first = scenario.events(record.uniqueid, "target_outcome")[0]
    assert first["seconds"] == 15  # the whole ring time, on the virtual clock


async def test_busy_and_unavailable_are_skipped_quickly(scenario: Scenario) -> None:
    record = await scenario.call(
        make_settings(), "201=busy,202=unavailable,203=accept", support(PIN_OK)
    )
    assert record.bridged_to == "203"
    found = scenario.events(record.uniqueid, "target_outcome")
    assert [(e["outcome"], e["seconds"] < 1) for e in found] == [
        ("busy", True),
        ("unavailable", True),
        ("confirmed", False),
    ]


async def test_wrong_key_and_decline_digit_are_dropped(scenario: Scenario) -> None:
    record = await scenario.call(
        make_settings(), "201=wrong-key,202=decline,203=accept", support(PIN_OK)
    )
    assert record.bridged_to == "203"
    assert outcomes(scenario, record.uniqueid) == [
        ("201", "declined"),
        ("202", "declined"),
        ("203", "confirmed"),
    ]
    reasons = [e["reason"] for e in scenario.events(record.uniqueid, "confirm_declined")]
    assert reasons == ["other key", "decline digit"]
    assert [leg.bridged for leg in record.agent_legs] == [False, False, True]


async def test_agent_hanging_up_during_confirm_is_dropped(scenario: Scenario) -> None:
    record = await scenario.call(make_settings(), "201=hangup,202=accept", support(PIN_OK))
    assert record.bridged_to == "202"
    assert outcomes(scenario, record.uniqueid)[0] == ("201", "agent_hung_up")


async def test_nobody_confirms_without_fallback_hangs_up(scenario: Scenario) -> None:
    record = await scenario.call(
        make_settings(), "201=no-answer,202=busy,203=voicemail", support(PIN_OK)
    )
    assert record.bridged_to is None
    assert record.played[-1].endswith("/nobody_available")
    assert record.fallback is None
    assert record.hung_up_by == "runtime"
    assert scenario.summary(record.uniqueid)["outcome"] == "nobody_available"
    assert scenario.events(record.uniqueid, "nobody_available")


async def test_nobody_confirms_fallback_taken(scenario: Scenario) -> None:
    settings = make_settings(
        fallback={"context": "voicemail", "extension": "support", "priority": 2}
    )
    record = await scenario.call(settings, "201=no-answer,202=busy,203=decline", support(PIN_OK))
    assert record.fallback == ("voicemail", "support", "2")
    assert record.played[-2:] == [
        "/var/lib/hotline/sounds/en/nobody_available",
        "/var/lib/hotline/sounds/en/fallback",
    ]
    assert record.hung_up_by is None  # the dialplan goes on
    (taken,) = scenario.events(record.uniqueid, "fallback_taken")
    assert (taken["context"], taken["extension"], taken["priority"]) == ("voicemail", "support", 2)
    assert scenario.summary(record.uniqueid)["outcome"] == "fallback"


async def test_two_rounds_dial_the_list_twice(scenario: Scenario) -> None:
    record = await scenario.call(
        make_settings(rounds=2), "201=no-answer,202=busy,203=voicemail", support(PIN_OK)
    )
    assert numbers(record.dialed) == ["201", "202", "203"] * 2
    rounds = [e["round"] for e in scenario.events(record.uniqueid, "target_dialing")]
    assert rounds == [1, 1, 1, 2, 2, 2]


async def test_max_wait_cuts_the_hunt_short(scenario: Scenario) -> None:
    record = await scenario.call(
        make_settings(max_wait=20), "201=no-answer,202=no-answer,203=accept", support(PIN_OK)
    )
    # 201 rings its 15 s, 202 gets only the 5 s left, 203 is never dialled
    assert numbers(record.dialed) == ["201", "202"]
    rings = [e["ring_time"] for e in scenario.events(record.uniqueid, "target_dialing")]
    assert rings == [15, 5]
    assert [d.split(",")[1] for d in record.dialed] == ["15", "5"]
    assert scenario.events(record.uniqueid, "max_wait_reached")
    assert scenario.summary(record.uniqueid)["outcome"] == "nobody_available"


async def test_caller_hangs_up_during_pin(scenario: Scenario) -> None:
    record = await scenario.call(
        make_settings(), "201=accept", support(WRONG, hangup_during=("pin", 2))
    )
    assert record.dialed == []
    (abandoned,) = scenario.events(record.uniqueid, "abandoned")
    assert abandoned["step"] == "pin"
    assert scenario.summary(record.uniqueid)["outcome"] == "abandoned"


async def test_caller_hangs_up_during_intro(scenario: Scenario) -> None:
    record = await scenario.call(
        make_settings(), "201=accept", support(PIN_OK, hangup_during=("intro", 1))
    )
    assert record.dialed == []
    (abandoned,) = scenario.events(record.uniqueid, "abandoned")
    assert abandoned["step"] == "intro"


async def test_caller_hangs_up_while_target_rings(scenario: Scenario) -> None:
    record = await scenario.call(
        make_settings(),
        "201=no-answer,202=no-answer,203=accept",
        support(PIN_OK, hangup_during=("ringing", 2)),
    )
    assert numbers(record.dialed) == ["201", "202"]  # 203 never dialled
    (abandoned,) = scenario.events(record.uniqueid, "abandoned")
    assert abandoned["step"] == "ringing"
    assert outcomes(scenario, record.uniqueid)[-1] == ("202", "caller_gone")


async def test_caller_hangs_up_while_agent_is_asked(scenario: Scenario) -> None:
    record = await scenario.call(
        make_settings(),
        "201=accept,202=accept",
        support(PIN_OK, hangup_during=("confirm", 1)),
    )
    assert numbers(record.dialed) == ["201"]
    leg = record.agent_legs[0]
    assert not leg.bridged
    assert leg.released
    assert leg.hotline_confirm == "CALLER_GONE"
    assert any(p.endswith("/caller_gone") for p in leg.played)
    (abandoned,) = scenario.events(record.uniqueid, "abandoned")
    assert abandoned["step"] == "confirm"


async def test_custom_intro_is_played_instead_of_default(scenario: Scenario) -> None:
    custom = "/srv/sounds/custom/support/intro"
    record = await scenario.call(
        make_settings(pin=None, prompts={"intro": custom + ".wav"}), "201=accept", support()
    )
    assert custom in record.played
    assert "/var/lib/hotline/sounds/en/intro" not in record.played
    (intro,) = scenario.events(record.uniqueid, "intro_played")
    assert intro["prompt"] == custom
    assert intro["custom"] is True


async def test_language_selects_the_prompt_set(scenario: Scenario) -> None:
    record = await scenario.call(
        make_settings(pin=None), "301=accept", CallerScript(hotline="sales")
    )
    assert record.bridged_to == "301"
    assert record.played[0] == "/var/lib/hotline/sounds/de/intro"
    assert record.variables.get("CHANNEL(language)", "de") == "de"


async def test_fifty_simultaneous_callers_on_two_hotlines(scenario: Scenario) -> None:
    # a simulated agent takes any number of calls at once; the board would skip them
    settings = make_settings(hunt={"skip": {"on_hotline_call": False}}, sales_hunt=True)
    agents = "201=no-answer,202=accept,203=accept,301=busy,302=accept"
    scripts = []
    for n in range(50):
        if n % 2:
            scripts.append(CallerScript(hotline="sales", callerid=f"555{n:04d}"))
        elif n % 10 == 0:
            scripts.append(support(WRONG, WRONG, WRONG, callerid=f"555{n:04d}"))
        else:
            scripts.append(support(PIN_OK, callerid=f"555{n:04d}"))
    records = await scenario.calls(settings, agents, scripts)

    assert len({r.uniqueid for r in records}) == 50
    for script, record in zip(scripts, records, strict=True):
        summary = scenario.summary(record.uniqueid)
        assert summary["caller"] == script.callerid
        assert summary["hotline"] == script.hotline
        if script.hotline == "sales":
            assert (record.bridged_to, summary["connected_to"]) == ("302", "302")
        elif script.pin_entries[0] == WRONG:
            assert (record.dialed, summary["outcome"]) == ([], "pin_failed")
        else:
            assert (record.bridged_to, summary["connected_to"]) == ("202", "202")
        # every line of this call carries its own caller and hotline
        for event in scenario.events(record.uniqueid):
            assert event.get("hotline", script.hotline) == script.hotline


async def test_runtime_refusing_calls_leaves_them_to_the_dialplan(
    scenario: Scenario,
) -> None:
    from hotline.runtime import Runtime
    from hotline.sim.agents import parse_agents
    from hotline.sim.pbx import SimulatedPbx

    runtime = Runtime(make_settings(), host="127.0.0.1", port=0, call_gate=lambda: False)
    async with runtime:
        pbx = SimulatedPbx("127.0.0.1", runtime.port, parse_agents("201=accept"))
        record = await asyncio.wait_for(pbx.place_call(support(PIN_OK)), 5)
    assert record.commands == []
    assert record.dialed == []
    assert scenario.log.named("call_refused")


async def test_caller_hanging_up_in_the_bridge_is_a_connected_call(scenario: Scenario) -> None:
    record = await scenario.call(
        make_settings(pin=None), "201=accept", support(hangup_during=("bridge", 1))
    )
    assert record.bridged_to == "201"
    summary = scenario.summary(record.uniqueid)
    assert (summary["outcome"], summary["hung_up_by"]) == ("connected", "caller")
    assert outcomes(scenario, record.uniqueid) == [("201", "confirmed")]
    # the verdict reached the caller: no "subroutine gave no verdict" warning
    assert not scenario.events(record.uniqueid, "confirm_subroutine_gave_no_verdict")
    assert record.agent_legs[0].gosub_result == "ACCEPTED"


async def test_a_pin_equal_to_a_number_rewrites_no_field(scenario: Scenario) -> None:
    """Issue 12 item 6: PIN 201, target 201, caller 201: every field as it is, typed.

    The digits the caller typed are the one secret, and no line shows them: the
    DEBUG protocol trace of GET DATA says ``[redacted]``.
    """
    settings = make_settings(pin="201")
    record = await scenario.call(settings, "201=accept", support("201", callerid="201"))
    assert record.bridged_to == "201"
    summary = scenario.summary(record.uniqueid)
    assert summary["caller"] == "201"
    assert summary["connected_to"] == "201"
    assert isinstance(summary["targets"], list)
    assert summary["targets"][0]["number"] == "201"
    (connected,) = scenario.events(record.uniqueid, "call_connected")
    assert connected["number"] == "201"
    gets = [e for e in scenario.log.named("agi_command") if e["command"] == "GET DATA"]
    pin_reads = [e for e in gets if e["route"] == "hotline/support"]
    assert len(pin_reads) == 1
    assert pin_reads[0]["result"] == pin_reads[0]["data"] == "[redacted]"
    confirm_keys = [
        e
        for e in scenario.log.named("agi_command")
        if e["route"] == "confirm" and e["command"] in ("STREAM FILE", "WAIT FOR DIGIT")
    ]
    # the agent's key is no secret: traced as read (WAIT FOR DIGIT 200 result=49, "1")
    assert [e["result"] for e in confirm_keys if e["command"] == "WAIT FOR DIGIT"] == ["49"]
    redacted = [e["event"] for e in scenario.log.events if "[redacted]" in e.values()]
    assert redacted == ["agi_command"]
