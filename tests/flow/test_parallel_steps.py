"""Parallel steps: several agents rung at once, each confirming on their own Local leg.

Runtime ⇄ simulator over real sockets; the simulator plays the shipped
``[hotline-step]`` context (one Local channel per agent, hotline/sim/step.py)
and runs the agents' confirm legs at the same time, in virtual-time order.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from hotline.sim.agents import AgentBehaviour
from hotline.sim.caller import CallerScript
from hotline.sim.records import CallRecord
from tests.conftest import CapturedLog
from tests.flow.test_hunting import hotline, line, settings

#: 201 rings alone first, then 202 and 203 ring together
TWO_STEPS = {"steps": [{"targets": ["201"]}, {"targets": ["202", "203"]}]}
#: only the parallel step
ONE_STEP = {"steps": [{"targets": ["201", "202", "203"]}]}


def step_legs(record: CallRecord) -> dict[str, Any]:
    return {leg.agent: leg for leg in record.agent_legs}


async def test_voicemail_and_a_confirming_agent_bridge_the_confirming_one(
    captured_log: CapturedLog,
) -> None:
    cfg = settings(hotline("support", hunt=TWO_STEPS))
    async with line(cfg, "201=no-answer,202=voicemail,203=accept", captured_log) as hl:
        record = await hl.call()
        board_after = hl.board.sizes()
    legs = step_legs(record)
    assert record.bridged_to == "203"
    assert [leg.bridged for leg in record.agent_legs] == [False, False, True]
    # the voicemail box was still in its confirm leg: told "taken", then dropped
    assert legs["202"].hotline_confirm == "TAKEN"
    assert legs["202"].played[-1].endswith("/taken")
    assert legs["202"].released
    assert hl.outcomes(record) == [("201", "no_answer"), ("202", "taken"), ("203", "confirmed")]
    dialing = [e for e in captured_log.named("target_dialing") if e.get("parallel")]
    assert [(e["number"], e["step"]) for e in dialing] == [("202", 2), ("203", 2)]
    summary = hl.summary(record)
    assert summary["connected_to"] == "203"
    # 4 s of prompts, 15 s for 201, then 203 answered after 2 s, pressed 1 at 2 s and
    # heard "accepted" (2 s); the voicemail box still being told "taken" holds nothing up
    assert summary["wait_seconds"] == 4 + 15 + 2 + 2 + 2
    assert summary["talk_seconds"] == 30
    assert board_after["active_legs"] == 0


async def test_legs_still_ringing_are_ended_as_answered_elsewhere(
    captured_log: CapturedLog,
) -> None:
    cfg = settings(hotline("support", hunt=ONE_STEP))
    async with line(cfg, "201=no-answer,202=accept,203=busy", captured_log) as hl:
        record = await hl.call()
    legs = step_legs(record)
    assert record.bridged_to == "202"
    assert legs["201"].answered_elsewhere
    assert not legs["201"].answered
    assert not legs["203"].answered_elsewhere  # it was busy: its leg ended at once
    # the caller leg cannot see a busy phone behind its Local leg (AMI's DialEnd can):
    # for FastAGI every leg without a verdict was still "ringing" when 202 took the call
    assert dict(hl.outcomes(record)) == {
        "201": "answered_elsewhere",
        "202": "confirmed",
        "203": "answered_elsewhere",
    }


async def test_nobody_in_the_step_confirms(captured_log: CapturedLog) -> None:
    cfg = settings(hotline("support", hunt=ONE_STEP))
    async with line(cfg, "201=decline,202=voicemail,203=no-answer", captured_log) as hl:
        record = await hl.call()
    assert record.bridged_to is None
    assert record.played[-1].endswith("/nobody_available")
    assert dict(hl.outcomes(record)) == {
        "201": "declined",
        "202": "not_confirmed",
        "203": "no_answer",
    }


@pytest.mark.timeout(240)  # 200 calls: ~10 s alone, 88 s seen on a machine at load 13
async def test_two_agents_pressing_1_together_exactly_one_is_bridged_200_times(
    captured_log: CapturedLog,
) -> None:
    """The race: varied answer and press moments a few ms apart (and equal), 200 calls."""
    rng = random.Random(13)
    cfg = settings(hotline("support", hunt=ONE_STEP))
    winners: dict[str, int] = {}
    async with line(cfg, "201=no-answer", captured_log) as hl:
        for n in range(200):
            offsets = [0.0, rng.choice([-0.005, -0.002, -0.001, 0.0, 0.0, 0.001, 0.003])]
            rng.shuffle(offsets)
            hl.pbx.env.agents.update(
                {
                    number: AgentBehaviour(
                        "accept", answer_after=1.0 + offset / 2, press_after=2.0 + offset / 2
                    )
                    for number, offset in zip(("202", "203"), offsets, strict=True)
                }
            )
            record = await hl.pbx.place_call(CallerScript(hotline="support", label=str(n)))
            legs = step_legs(record)
            bridged = [leg.agent for leg in record.agent_legs if leg.bridged]
            assert len(bridged) == 1, (n, offsets, record.format_timeline())
            (winner,) = bridged
            loser = "203" if winner == "202" else "202"
            assert legs[winner].hotline_confirm == "ACCEPTED"
            assert legs[loser].hotline_confirm == "TAKEN", (n, offsets)
            assert legs[loser].played[-1].endswith("/taken")
            assert not legs[loser].bridged
            # in virtual time the earlier key wins; a tie is the runtime's to settle
            first = min(zip(offsets, ("202", "203"), strict=True))
            if offsets[0] != offsets[1]:
                assert winner == first[1], (n, offsets)
            winners[winner] = winners.get(winner, 0) + 1
            summary = hl.summary(record)
            assert summary["connected_to"] == winner
            assert sorted(t["outcome"] for t in summary["targets"]) == [
                "answered_elsewhere",
                "confirmed",
                "taken",
            ]
        assert hl.board.sizes()["active_legs"] == 0
    assert set(winners) == {"202", "203"}
    assert sum(winners.values()) == 200


async def test_caller_hanging_up_while_the_step_rings_ends_every_leg(
    captured_log: CapturedLog,
) -> None:
    cfg = settings(hotline("support", hunt=ONE_STEP))
    agents = {n: AgentBehaviour("accept", answer_after=10.0) for n in ("201", "202", "203")}
    async with line(cfg, agents, captured_log) as hl:
        record = await hl.pbx.place_call(
            CallerScript(hotline="support", hangup_during=("ringing", 1), hangup_after=3.0)
        )
    assert record.bridged_to is None
    assert record.hung_up_by == "caller"
    assert all(leg.released and not leg.confirm_opened for leg in record.agent_legs)
    assert dict(hl.outcomes(record)) == dict.fromkeys(("201", "202", "203"), "caller_gone")
    assert hl.summary(record)["outcome"] == "abandoned"


async def test_caller_hanging_up_while_agents_confirm_bridges_nobody(
    captured_log: CapturedLog,
) -> None:
    cfg = settings(hotline("support", hunt=ONE_STEP))
    async with line(cfg, "201=accept,202=accept,203=voicemail", captured_log) as hl:
        record = await hl.pbx.place_call(
            CallerScript(hotline="support", hangup_during=("confirm", 1), hangup_after=0.5)
        )
    assert record.bridged_to is None
    assert not any(leg.bridged for leg in record.agent_legs)
    assert {leg.hotline_confirm for leg in record.agent_legs} == {"CALLER_GONE"}
    assert hl.summary(record)["outcome"] == "abandoned"
    assert hl.board.sizes()["active_legs"] == 0


async def test_delay_starts_a_target_later(captured_log: CapturedLog) -> None:
    """201 at once, 202 five seconds later (progressive ringing): 201 answers at 2 s, too
    late for nothing; 202 would answer at 5 + 1 s but 201 accepted at 4 s."""
    data = hotline("support", hunt={"steps": [{"targets": ["201", "202"]}, {"targets": ["203"]}]})
    data["targets"][1]["delay"] = 5
    agents = {
        "201": AgentBehaviour("accept", answer_after=2.0, press_after=2.0),
        "202": AgentBehaviour("accept", answer_after=1.0, press_after=0.5),
    }
    async with line(settings(data), agents, captured_log) as hl:
        record = await hl.call()
        agents["201"] = AgentBehaviour("voicemail", answer_after=1.0)
        hl.pbx.env.agents.update(agents)
        second = await hl.call()
    legs = step_legs(record)
    assert record.bridged_to == "201"
    assert not legs["202"].answered
    assert legs["202"].answered_elsewhere
    # second call: 201 is a voicemail box; 202 answers at 5 + 1 s and accepts
    assert second.bridged_to == "202"
    assert hl.summary(second)["wait_seconds"] == 4 + 5 + 1 + 0.5 + 2


async def test_parallel_step_agents_are_on_the_board_while_they_ring(
    captured_log: CapturedLog,
) -> None:
    cfg = settings(hotline("support", hunt=ONE_STEP))
    seen: list[Any] = []
    async with line(cfg, "201=accept,202=voicemail,203=no-answer", captured_log) as hl:

        async def sink(event: dict[str, str]) -> None:
            if event["Event"] == "DialBegin" and not seen:
                seen.append(None)
            if event["Event"] == "BridgeEnter" and len(seen) == 1:
                seen.append({v.agent: v.activity for v in hl.board.view()})

        hl.pbx.env.event_sink = sink
        await hl.call()
    activity = seen[1]
    assert activity["Custom:agent201"] == "connected"
    # the others' legs are over once the step is settled, or still being told
    assert all(activity[a] in (None, "ringing", "confirming") for a in ("Custom:agent202",))
