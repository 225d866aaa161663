"""Issue 11 over real sockets: quick agents, callers who leave, Dials that never happened.

The real runtime on a loopback port.  The simulator plays whole calls where
virtual time suffices; FakeAsterisk plays single legs where the test must
hold a command (a Dial) or answer as a recording says (tests/sim/recordings
20: "Caller hung up before dial").
"""

from __future__ import annotations

from pathlib import Path

from hotline.agi.testing import FakeAsterisk
from hotline.config import Settings, settings_from_mapping
from hotline.runtime import Runtime
from hotline.sim.agents import AgentBehaviour
from hotline.sim.caller import CallerScript
from hotline.sim.hostile import write_short_prompts
from tests.conftest import CapturedLog
from tests.flow.conftest import Scenario, make_settings


def support(**kw: object) -> CallerScript:
    return CallerScript(hotline="support", pin_entries=("4711#",), **kw)  # type: ignore[arg-type]


async def test_a_key_during_the_caller_number_is_the_answer(scenario: Scenario) -> None:
    """The agent presses 1 one second in, while "a call from 5 5 5 …" is read: connected,
    and "press 1" never plays (prompts last 2 virtual seconds, digits 0.5)."""
    settings = make_settings(confirm={"announce_caller": True, "timeout": 5, "replays": 0})
    agents = {"201": AgentBehaviour("accept", answer_after=0.0, press_after=2.6, repeat_every=0)}
    record = await scenario.call(settings, agents, support(callerid="5550001"))
    assert record.bridged_to == "201"
    (accepted,) = scenario.events(record.uniqueid, "confirm_accepted")
    assert accepted["during"].startswith("digits/")
    (leg,) = record.agent_legs
    assert not [p for p in leg.played if p.endswith("/confirm_call")]
    assert leg.played[0].endswith("/caller_number_is")


async def test_the_decline_key_during_the_announcement_declines(scenario: Scenario) -> None:
    settings = make_settings(confirm={"announce_caller": True, "timeout": 5, "replays": 0})
    agents = {
        "201": AgentBehaviour("decline", answer_after=0.0, press_after=1.0, repeat_every=0),
        "202": AgentBehaviour("accept", answer_after=0.0, press_after=1.0, repeat_every=0),
    }
    record = await scenario.call(settings, agents, support())
    assert record.bridged_to == "202"
    declined = scenario.events(record.uniqueid, "confirm_declined")
    assert [(e["key"], e["during"].rsplit("/", 1)[-1]) for e in declined] == [
        ("2", "caller_number_is")
    ]


async def test_a_caller_leaving_while_the_agent_waits_is_told_within_a_second(
    scenario: Scenario,
) -> None:
    """ "press 1" has played; the caller leaves 1.5 s into the wait: the next check (at most
    a second later) finds it, long before the 10 s timeout."""
    settings = make_settings(confirm={"timeout": 10, "replays": 0})
    agents = {"201": AgentBehaviour("voicemail", answer_after=0.0, patience=60)}
    record = await scenario.call(
        settings, agents, support(hangup_during=("confirm", 1), hangup_after=3.5)
    )
    (leg,) = record.agent_legs
    assert leg.hotline_confirm == "CALLER_GONE"
    summary = scenario.summary(record.uniqueid)
    assert (summary["outcome"], summary["step"]) == ("abandoned", "confirm")
    assert [(t["number"], t["outcome"]) for t in summary["targets"]] == [("201", "caller_gone")]
    waits = [
        e
        for e in scenario.log.named("agi_command")
        if e["route"] == "confirm" and e["command"] == "WAIT FOR DIGIT"
    ]
    assert len(waits) == 2  # 2 s of prompt + 1 s + 0.5 s of the second slice: told
    # the record is finished when the leg finds out, before the agent hears "caller gone"
    # and long before Dial returns (hotline/flow/leaving.py)
    names = [e["event"] for e in scenario.events(record.uniqueid)]
    assert names.index("call_summary") < names.index("confirm_caller_gone")
    assert names.count("target_outcome") == 1


def _settings(sounds: Path) -> Settings:
    return settings_from_mapping(
        {
            "asterisk": {"sounds_dir": str(sounds), "enabled": False},
            "hotlines": [
                {
                    "name": "support",
                    "dial": "Local/{number}@sim-agents",
                    "targets": [{"number": "201"}, {"number": "202"}],
                    "hunt": {"skip": {"on_hotline_call": False}},
                }
            ],
        }
    )


async def _until(pbx: FakeAsterisk, prefix: str) -> str:
    while not (command := await pbx.read_command()).startswith(prefix):
        await pbx.reply("200 result=0 endpos=160" if "STREAM" in command else "200 result=1")
    return command


async def test_a_dial_refused_as_caller_hung_up_before_dial_is_no_attempt(
    tmp_path: Path, captured_log: CapturedLog
) -> None:
    """Recording 20, second Dial: sent just after the caller hung up, app_dial refuses it at
    once (-1, CANCEL); nobody rang, so the summary lists no attempt."""
    rt = Runtime(_settings(write_short_prompts(tmp_path)), host="127.0.0.1", port=0)
    async with rt, FakeAsterisk(rt.port) as pbx:
        await pbx.send_header("hotline/support", uniqueid="1796103567.0", callerid="5550001")
        await _until(pbx, "EXEC Dial")
        await pbx.reply("200 result=-1")
        await pbx.expect("GET FULL VARIABLE ${DIALSTATUS}|${GOSUB_RETVAL}|${HANGUPCAUSE}")
        await pbx.send_hangup()
        await pbx.reply("200 result=1 (CANCEL||16)")
        await pbx.wait_closed()
    (summary,) = captured_log.named("call_summary")
    assert summary["outcome"] == "abandoned"
    assert summary["targets"] == []
    (not_dialled,) = captured_log.named("target_not_dialled")
    assert not_dialled["number"] == "201"


async def test_no_dial_once_ami_saw_the_caller_leave(
    tmp_path: Path, captured_log: CapturedLog
) -> None:
    """AMI's HangupRequest for the caller (here: what HangupFeed calls) arrives while the
    first agent is asked; when that Dial returns, the next target is not dialled."""
    rt = Runtime(_settings(write_short_prompts(tmp_path)), host="127.0.0.1", port=0)
    async with rt, FakeAsterisk(rt.port) as pbx:
        await pbx.send_header("hotline/support", uniqueid="1796103567.5", callerid="5550001")
        await _until(pbx, "EXEC Dial")
        rt.state.presence.hung_up("1796103567.5")  # AMI: HangupRequest, Uniqueid of the caller
        await pbx.reply("200 result=0")  # the agent declined meanwhile
        await pbx.expect(
            "GET FULL VARIABLE ${DIALSTATUS}|${GOSUB_RETVAL}|${HANGUPCAUSE}",
            "200 result=1 (ANSWER|DECLINED|16)",
        )
        commands = await pbx.answer_until_closed(lambda _command: "200 result=1")
    assert not [c for c in commands if c.startswith("EXEC Dial")]
    (summary,) = captured_log.named("call_summary")
    assert summary["outcome"] == "abandoned"
    assert [t["number"] for t in summary["targets"]] == ["201"]


async def test_a_forged_acceptance_for_the_target_being_dialled_connects_nothing(
    tmp_path: Path, captured_log: CapturedLog
) -> None:
    """Issue 12 item 7: a /confirm that guessed the call id and the very target being
    dialled says ACCEPTED, but Asterisk's Dial did not bridge (the real agent declined):
    what the channel says wins, and the summary names nobody as connected."""
    rt = Runtime(_settings(write_short_prompts(tmp_path)), host="127.0.0.1", port=0)
    async with rt, FakeAsterisk(rt.port) as pbx:
        await pbx.send_header("hotline/support", uniqueid="1796103567.7", callerid="5550001")
        dial = await _until(pbx, "EXEC Dial")
        assert dial.startswith("EXEC Dial Local/201@sim-agents")
        async with FakeAsterisk(rt.port) as forged:
            await forged.send_header(
                "confirm", uniqueid="6.6", args=["1796103567.7", "support", "201", ""]
            )
            await forged.answer_until_closed(
                lambda command: (
                    "200 result=49"
                    if command.startswith("WAIT FOR DIGIT")
                    else "200 result=1 (0)"
                    if command.startswith("GET FULL")
                    else "200 result=0 endpos=1"
                    if command.startswith("STREAM")
                    else "200 result=1"
                )
            )
        await pbx.reply("200 result=0")  # Dial: the real agent declined
        await pbx.expect(
            "GET FULL VARIABLE ${DIALSTATUS}|${GOSUB_RETVAL}|${HANGUPCAUSE}",
            "200 result=1 (ANSWER|DECLINED|16)",
        )
        # the hunt goes on: 202 does not answer, nobody is available
        await pbx.answer_until_closed(
            lambda command: (
                "200 result=1 (NOANSWER||19)"
                if command.startswith("GET FULL VARIABLE ${DIALSTATUS}")
                else "200 result=0 endpos=1"
                if "STREAM" in command
                else "200 result=0"
            )
        )
    (warning,) = captured_log.named("acceptance_not_bridged")
    assert warning["number"] == "201"
    (summary,) = captured_log.named("call_summary")
    assert summary["outcome"] == "nobody_available"
    assert summary["connected_to"] is None
    assert [(t["number"], t["outcome"]) for t in summary["targets"]] == [
        ("201", "declined"),
        ("202", "no_answer"),
    ]


async def test_the_summary_is_written_when_ami_says_the_caller_left_not_when_dial_returns(
    tmp_path: Path, captured_log: CapturedLog
) -> None:
    """Issue 11 item 2: AMI's HangupRequest for the caller arrives while the agent is asked
    (the leg is in "press 1"): the attempt is ``caller_gone`` at step ``confirm`` and the
    summary is out at once, while Dial still runs (on Asterisk it returns only after the
    agent heard the caller-gone prompt); Dial's late return records nothing twice."""
    uniqueid = "1796103567.9"
    rt = Runtime(_settings(write_short_prompts(tmp_path)), host="127.0.0.1", port=0)
    async with rt, FakeAsterisk(rt.port) as pbx:
        await pbx.send_header("hotline/support", uniqueid=uniqueid, callerid="5550001")
        await _until(pbx, "EXEC Dial")
        async with FakeAsterisk(rt.port) as agent:
            await agent.send_header(
                "confirm", uniqueid="7.1", args=[uniqueid, "support", "201", "5550001"]
            )
            while not (command := await agent.read_command()).startswith("STREAM FILE"):
                await agent.reply("200 result=1 (0)" if "GET FULL" in command else "200 result=1")
            assert not captured_log.named("call_summary")
            rt.state.presence.hung_up(uniqueid)  # AMI: HangupRequest, Uniqueid of the caller
            (summary,) = captured_log.named("call_summary")
            assert (summary["outcome"], summary["step"]) == ("abandoned", "confirm")
            assert [(t["number"], t["outcome"]) for t in summary["targets"]] == [
                ("201", "caller_gone")
            ]
            await agent.reply("200 result=0 endpos=1")  # stopped (AMI ControlPlayback)
            # the leg tells the agent and leaves its verdict
            await agent.answer_until_closed(
                lambda command: "200 result=0 endpos=1" if "STREAM" in command else "200 result=1"
            )
        await pbx.reply("200 result=0")  # Dial returns after the agent's leg
        commands = await pbx.answer_until_closed(lambda _command: "200 result=1")
    assert not [c for c in commands if c.startswith("EXEC Dial")]
    assert len(captured_log.named("call_summary")) == 1
    assert len(captured_log.named("target_outcome")) == 1
    (result,) = captured_log.named("confirm_result")
    assert result["result"] == "CALLER_GONE"
