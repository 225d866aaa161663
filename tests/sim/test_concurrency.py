"""Many simultaneous calls: each keeps its own channels, clock, agents and outcome."""

from __future__ import annotations

import asyncio

import pytest

from hotline.agi.server import FastAgiServer
from hotline.agi.session import AgiSession
from hotline.sim.agents import AgentBehaviour, AgentKind
from hotline.sim.caller import CallerScript
from hotline.sim.pbx import SimulatedPbx
from tests.sim.conftest import Runtime, make_confirm, make_hunt

KINDS: list[AgentKind] = ["accept", "voicemail", "busy", "decline", "no-answer"]


async def test_fifty_concurrent_calls_on_two_hotlines_do_not_mix() -> None:
    runtime = Runtime(server=None)  # type: ignore[arg-type]
    hunt, confirm = make_hunt(runtime), make_confirm(runtime)

    async def hunt_any(session: AgiSession) -> None:
        await hunt(session)

    server = FastAgiServer(
        {"hotline/sales": hunt_any, "hotline/support": hunt_any, "confirm": confirm}, port=0
    )
    agents: dict[str, AgentBehaviour] = {}
    scripts: list[CallerScript] = []
    expected: dict[str, tuple[AgentKind, str | None]] = {}
    for i in range(50):
        first, second = f"3{i:02d}", f"4{i:02d}"
        kind = KINDS[i % len(KINDS)]
        agents[first] = AgentBehaviour(kind, answer_after=1.0 + i % 3, talk_seconds=10.0 + i)
        agents[second] = AgentBehaviour("accept", answer_after=2.0, talk_seconds=5.0)
        callerid = f"555{i:04d}"
        hangs_up = i % 10 == 7
        scripts.append(
            CallerScript(
                "sales" if i % 2 else "support",
                callerid=callerid,
                args=[first, second],
                hangup_during=("ringing", 1) if hangs_up else None,
            )
        )
        winner = None if hangs_up else first if kind == "accept" else second
        expected[callerid] = (kind, winner)
    async with server:
        pbx = SimulatedPbx("127.0.0.1", server.port, agents)
        runtime.clock = pbx.clock_for
        records = await asyncio.gather(*(pbx.place_call(s) for s in scripts))

    assert len({r.uniqueid for r in records}) == 50
    assert len({r.channel for r in records}) == 50
    for script, record in zip(scripts, records, strict=True):
        expected_kind, winner = expected[script.callerid]
        assert record.hotline == script.hotline
        assert record.bridged_to == winner
        dials = runtime.dials[record.uniqueid]
        if winner is None:
            assert (record.hung_up_by, record.hangup_step) == ("caller", "ringing")
            assert dials[-1].variables["DIALSTATUS"] == "CANCEL"
            continue
        talk = 10.0 + int(script.callerid[3:])
        if expected_kind == "accept":
            # rings 1-3 s, whisper 2 s, this call's own talk time
            assert dials[0].seconds == pytest.approx(
                agents[script.args[0]].answer_after + 2.0 + talk
            )
        else:
            assert len(dials) == 2
            assert dials[1].seconds == pytest.approx(2.0 + 2.0 + 5.0)
            assert dials[1].variables["DIALEDTIME"] == str(int(record.duration))
        # each confirm leg was this call's: its first argument is this caller's uniqueid
        opened = {leg.uniqueid for leg in record.agent_legs if leg.confirm_opened}
        mine = {
            s.request.uniqueid for s in runtime.confirms if s.request.args[0] == record.uniqueid
        }
        assert opened == mine
        assert all(leg.agent[1:] == script.callerid[-2:] for leg in record.agent_legs)
