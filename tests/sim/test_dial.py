"""Dial against every agent behaviour, through the real FastAgiServer and the shipped subroutine.

The stand-in runtime (conftest) dials, the simulator plays Asterisk: each
behaviour must give back what docs/asterisk/dialstatus_matrix.md shows, with the result of
the confirm leg travelling back as GOSUB_RETVAL.
"""

from __future__ import annotations

import socket

import pytest

from hotline.agi.server import FastAgiServer
from hotline.agi.session import AgiSession
from hotline.sim.agents import AgentBehaviour, parse_agents
from hotline.sim.caller import CallerScript
from hotline.sim.pbx import SimulatedPbx
from hotline.sim.records import CallRecord
from tests.sim.conftest import Runtime, make_confirm, make_hunt
from tests.sim.rawagi import PeerConn, RawAgiServer


def _pbx(runtime: Runtime, agents: str, **options: object) -> SimulatedPbx:
    pbx = SimulatedPbx("127.0.0.1", runtime.port, parse_agents(agents), **options)  # type: ignore[arg-type]
    runtime.clock = pbx.clock_for
    return pbx


@pytest.mark.parametrize(
    ("kind", "result", "status", "retval", "cause"),
    [
        ("no-answer", 0, "NOANSWER", None, "0"),
        ("busy", 0, "BUSY", None, "0"),
        ("unavailable", 0, "CHANUNAVAIL", None, "0"),
        ("congestion", 0, "CONGESTION", None, "0"),
        ("voicemail", 0, "ANSWER", "TIMEOUT", "16"),
        ("decline", 0, "ANSWER", "DECLINED", "16"),
        ("wrong-key", 0, "ANSWER", "DECLINED", "16"),
        ("accept", -1, "ANSWER", "ACCEPTED", "16"),
    ],
)
async def test_each_behaviour_reads_back_like_the_matrix(
    runtime: Runtime, kind: str, result: int, status: str, retval: str | None, cause: str
) -> None:
    pbx = _pbx(runtime, f"201={kind}")
    record = await pbx.place_call(CallerScript("sales", args=["201"]))
    (dial,) = runtime.dials[record.uniqueid]
    assert dial.result == result
    assert dial.variables["DIALSTATUS"] == status
    assert dial.variables["GOSUB_RETVAL"] == retval
    assert dial.variables["HANGUPCAUSE"] == cause
    (leg,) = record.agent_legs
    assert leg.status == status
    assert leg.bridged is (kind == "accept")
    assert leg.confirm_opened is (status == "ANSWER")
    if kind == "accept":
        # DIALEDTIME/ANSWEREDTIME are the caller channel's age, not the talk time
        assert dial.variables["DIALEDTIME"] == str(int(record.duration))
        assert dial.variables["ANSWEREDTIME"] == dial.variables["DIALEDTIME"]
        assert record.bridged_to == "201"
        assert record.hung_up_by == "agent"
        assert leg.talk_seconds == 30.0
        assert leg.hotline_confirm == "ACCEPTED"
    else:
        assert dial.variables["DIALEDTIME"] == ""
        assert record.bridged_to is None
        assert record.hung_up_by == "runtime"
    if status == "ANSWER" and kind != "accept":
        assert leg.released
        assert leg.gosub_result == "CONTINUE"


async def test_ring_and_answer_times_are_virtual(runtime: Runtime) -> None:
    pbx = _pbx(runtime, "201=no-answer,202=busy,203=accept:answer=4:press=3")
    record = await pbx.place_call(CallerScript("sales", args=["201", "202", "203"]))
    no_answer, busy, accepted = runtime.dials[record.uniqueid]
    assert no_answer.seconds == 15.0
    assert busy.seconds == pytest.approx(0.002)
    # rings 4 s, whisper 2 s (key pressed at 3 s lands in WAIT FOR DIGIT), talks 30 s
    assert accepted.seconds == pytest.approx(4 + 3 + 30)
    assert record.duration == pytest.approx(15 + 0.002 + 37)


async def test_agent_hanging_up_in_the_whisper_ends_the_subroutine_without_return(
    runtime: Runtime,
) -> None:
    pbx = _pbx(runtime, "201=hangup,202=accept")
    record = await pbx.place_call(CallerScript("sales", args=["201", "202"]))
    gone, accepted = runtime.dials[record.uniqueid]
    # the confirm AGI set GOSUB_RESULT=CONTINUE itself: Dial goes on (run 06) ...
    assert (gone.result, gone.variables["DIALSTATUS"]) == (0, "ANSWER")
    # ... but the subroutine stopped at the AGI: no Return, GOSUB_RETVAL untouched
    assert gone.variables["GOSUB_RETVAL"] is None
    leg = record.agent_legs[0]
    assert (leg.agent_hung_up, leg.agi_status, leg.gosub_retval) == (True, "HANGUP", None)
    assert leg.hotline_confirm == "AGENT_HANGUP"
    assert (accepted.result, accepted.variables["GOSUB_RETVAL"]) == (-1, "ACCEPTED")
    assert record.bridged_to == "202"


async def test_hunt_over_no_answer_voicemail_accept(runtime: Runtime) -> None:
    pbx = _pbx(runtime, "201=no-answer,202=voicemail,203=accept")
    record = await pbx.place_call(CallerScript("sales", args=["201", "202", "203"]))
    assert [leg.agent for leg in record.agent_legs] == ["201", "202", "203"]
    assert [leg.status for leg in record.agent_legs] == ["NOANSWER", "ANSWER", "ANSWER"]
    assert record.dialed == [
        f"Local/{n}@sim-agents,15,m(default)U(hotline-confirm^{record.uniqueid}^{n}^sales)"
        for n in ("201", "202", "203")
    ]
    assert record.bridged_to == "203"
    assert [leg.played for leg in record.agent_legs] == [
        [],
        ["hotline-call-press-1", "hotline-call-press-1"],
        ["hotline-call-press-1"],
    ]
    assert record.outcome == "connected"
    assert "caller connected to 203" in record.format_timeline()


async def test_caller_gone_during_confirm_is_not_told_and_never_bridged(
    runtime: Runtime,
) -> None:
    pbx = _pbx(runtime, "201=accept")
    record = await pbx.place_call(CallerScript("sales", args=["201"], hangup_during=("confirm", 1)))
    (dial,) = runtime.dials[record.uniqueid]
    assert (dial.result, dial.variables["DIALSTATUS"]) == (-1, "ANSWER")
    assert dial.variables["GOSUB_RETVAL"] == "CALLER_GONE"
    (confirm,) = runtime.confirms
    assert confirm.hung_up is False  # the agent leg heard nothing of the caller's hang-up
    (leg,) = record.agent_legs
    assert (leg.bridged, leg.released) == (False, True)
    assert leg.played == ["hotline-call-press-1", "caller-gone"]
    assert (record.hung_up_by, record.hangup_step) == ("caller", "confirm")


async def test_a_caller_gone_during_the_confirm_still_exists_but_is_hanging_up(
    runtime: Runtime,
) -> None:
    """Recording 20: after the caller's hang-up, from the agent's leg, CHANNEL_EXISTS of the
    caller stays 1 (its channel lives until Dial returns); CHANNEL(checkhangup) turns 1."""
    seen: list[tuple[str | None, str | None]] = []

    async def polling_confirm(session: AgiSession) -> None:
        caller = session.request.args[0]
        for _ in range(8):
            exists = await session.get_full_variable(f"${{CHANNEL_EXISTS({caller})}}")
            hanging_up = await session.get_full_variable("${CHANNEL(checkhangup)}", caller)
            seen.append((exists, hanging_up))
            if hanging_up == "1":
                break
            await session.wait_for_digit(700)
        await session.set_variable("HOTLINE_CONFIRM", "CALLER_GONE")
        await session.set_variable("GOSUB_RESULT", "CONTINUE")

    server = FastAgiServer(
        {"hotline/sales": make_hunt(runtime), "confirm": polling_confirm}, port=0
    )
    async with server:
        pbx = SimulatedPbx("127.0.0.1", server.port, parse_agents("201=voicemail"))
        await pbx.place_call(
            CallerScript("sales", args=["201"], hangup_during=("confirm", 1), hangup_after=2.0)
        )
    assert seen[0] == ("1", "0")
    assert seen[-1] == ("1", "1")  # hanging up, and still there
    assert all(exists == "1" for exists, _ in seen)


async def test_accepting_after_the_caller_left_still_never_bridges(runtime: Runtime) -> None:
    async def careless_confirm(session: AgiSession) -> None:
        await make_confirm(runtime, check_caller=False)(session)

    server = FastAgiServer(
        {"hotline/sales": make_hunt(runtime), "confirm": careless_confirm}, port=0
    )
    async with server:
        pbx = SimulatedPbx("127.0.0.1", server.port, parse_agents("201=accept"))
        record = await pbx.place_call(
            CallerScript("sales", args=["201"], hangup_during=("confirm", 1))
        )
    (dial,) = runtime.dials[record.uniqueid]
    assert dial.result == -1
    (leg,) = record.agent_legs
    assert (leg.hotline_confirm, leg.bridged, leg.released) == ("ACCEPTED", False, True)
    assert record.bridged_to is None


async def test_missing_confirm_route_fails_closed(runtime: Runtime) -> None:
    server = FastAgiServer({"hotline/sales": make_hunt(runtime)}, port=0)
    async with server:
        pbx = SimulatedPbx("127.0.0.1", server.port, parse_agents("201=accept"))
        record = await pbx.place_call(CallerScript("sales", args=["201"]))
    (dial,) = runtime.dials[record.uniqueid]
    assert (dial.result, dial.variables["DIALSTATUS"]) == (0, "ANSWER")
    assert dial.variables["GOSUB_RETVAL"] == "ERROR"
    (leg,) = record.agent_legs
    assert leg.confirm_opened
    assert leg.hotline_confirm is None
    assert (leg.bridged, leg.released, leg.agi_status) == (False, True, "SUCCESS")


async def test_unreachable_confirm_fails_closed(runtime: Runtime) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    pbx = _pbx(runtime, "201=accept", confirm_port=closed_port)
    record = await pbx.place_call(CallerScript("sales", args=["201"]))
    (dial,) = runtime.dials[record.uniqueid]
    assert (dial.result, dial.variables["GOSUB_RETVAL"]) == (0, "ERROR")
    (leg,) = record.agent_legs
    assert (leg.confirm_opened, leg.agi_status, leg.bridged) == (False, "FAILURE", False)


async def test_agent_gone_and_nothing_set_bridges_a_dead_peer(runtime: Runtime) -> None:
    async def silent_confirm(session: AgiSession) -> None:
        await session.stream_file("hotline-call-press-1", "")
        await session.wait_for_digit(3000)  # the agent hangs up: AgiHangup ends the handler

    server = FastAgiServer({"hotline/sales": make_hunt(runtime), "confirm": silent_confirm}, port=0)
    async with server:
        pbx = SimulatedPbx("127.0.0.1", server.port, {"201": AgentBehaviour("hangup")})
        record = await pbx.place_call(CallerScript("sales", args=["201"]))
    (dial,) = runtime.dials[record.uniqueid]
    # run 14: Dial "bridges" the dead agent and returns -1 at once; the caller is still up
    assert (dial.result, dial.variables["DIALSTATUS"]) == (-1, "ANSWER")
    assert dial.variables["DIALEDTIME"] == str(int(record.duration))
    assert record.bridged_to is None
    assert record.hung_up_by == "runtime"


async def test_agent_presses_again_when_the_key_fell_on_a_deaf_prompt(runtime: Runtime) -> None:
    # the whisper plays 2 s without escape digits: a key at 1 s is lost
    # (docs/asterisk/facts.md, fact 6),
    # the agent presses again 3 s later, while WAIT FOR DIGIT listens
    pbx = _pbx(runtime, "201=accept:answer=2:press=1:talk=10")
    record = await pbx.place_call(CallerScript("sales", args=["201"]))
    (dial,) = runtime.dials[record.uniqueid]
    assert dial.seconds == pytest.approx(2 + 4 + 10)
    assert record.agent_legs[0].digits == ["1"]


async def _raw_dial(
    dial: str, agents: str, *, confirm: bool = True, **script: object
) -> tuple[dict[str, str], CallRecord, RawAgiServer]:
    seen: dict[str, str] = {}

    async def caller(conn: PeerConn) -> None:
        seen["dial"] = await conn.send(f"EXEC Dial {dial.format(uid=conn.env['agi_uniqueid'])}")
        for name in ("DIALSTATUS", "DIALEDPEERNAME", "GOSUB_RETVAL"):
            seen[name] = await conn.send(f"GET VARIABLE {name}")

    async def accept(conn: PeerConn) -> None:
        seen["confirm_type"] = conn.env["agi_type"]
        await conn.send("WAIT FOR DIGIT 5000")
        await conn.send("SET VARIABLE HOTLINE_CONFIRM ACCEPTED")

    routes = {"hotline/sales": caller, **({"confirm": accept} if confirm else {})}
    async with RawAgiServer(routes) as server:
        pbx = SimulatedPbx("127.0.0.1", server.port, parse_agents(agents))
        record = await pbx.place_call(CallerScript("sales", **script))  # type: ignore[arg-type]
    server.check()
    return seen, record, server


async def test_dial_without_confirm_gosub_bridges_at_once() -> None:
    seen, record, server = await _raw_dial("Local/201@sim-agents,15", "201=voicemail")
    assert seen["dial"] == "200 result=-1"
    assert seen["GOSUB_RETVAL"] == "200 result=0"
    assert server.by_path("confirm") == []
    assert record.bridged_to == "201"


async def test_dial_to_an_unknown_subroutine_bridges_like_asterisk() -> None:
    seen, record, server = await _raw_dial("Local/201@sim-agents,15,U(other^x)", "201=accept")
    assert seen["dial"] == "200 result=-1"
    assert server.by_path("confirm") == []
    assert "no such subroutine" in record.format_timeline()


async def test_unknown_technology_is_chanunavail() -> None:
    seen, record, _ = await _raw_dial("Foo/201,15,U(hotline-confirm^{uid})", "201=accept")
    assert (seen["dial"], seen["DIALSTATUS"]) == ("200 result=0", "200 result=1 (CHANUNAVAIL)")
    assert record.agent_legs[0].channel is None


async def test_pjsip_targets_get_pjsip_channels() -> None:
    seen, record, _ = await _raw_dial("PJSIP/201,15,U(hotline-confirm^{uid})", "201=accept")
    assert seen["DIALEDPEERNAME"] == "200 result=1 (PJSIP/201-00000000)"
    assert seen["confirm_type"] == "PJSIP"
    assert record.bridged_to == "201"


async def test_parallel_dial_first_to_answer_wins() -> None:
    seen, record, _ = await _raw_dial(
        "Local/201@sim-agents&Local/202@sim-agents,15,U(hotline-confirm^{uid})",
        "201=accept:answer=5,202=accept:answer=1",
    )
    assert seen["DIALEDPEERNAME"].startswith("200 result=1 (Local/202@sim-agents-")
    assert [(leg.agent, leg.status) for leg in record.agent_legs] == [
        ("201", "CANCEL"),
        ("202", "ANSWER"),
    ]
    assert record.bridged_to == "202"


async def test_ringing_without_timeout_ends_when_the_caller_gives_up() -> None:
    seen, record, _ = await _raw_dial(
        "Local/201@sim-agents,,U(hotline-confirm^{uid})", "201=no-answer", patience=90.0
    )
    assert (seen["dial"], seen["DIALSTATUS"]) == ("200 result=-1", "200 result=1 (CANCEL)")
    assert (record.hung_up_by, record.duration) == ("caller", 90.0)
