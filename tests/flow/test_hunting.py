"""Hunting that knows the agents: skipping, strategies, wrap-up (runtime ⇄ simulator).

One runtime (and so one agent board) serves several calls in a row, as in
production; the board's clock is a test clock the tests move on, the calls
run on the simulator's virtual clocks.  Device states are given to the board
as the AMI feed gives them (tests/agents cover the feed over a real socket).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from hotline.agents.board import Activity, AgentBoard
from hotline.config import Settings, settings_from_mapping
from hotline.flow.state import RuntimeState
from hotline.runtime import Runtime
from hotline.sim.agents import parse_agents
from hotline.sim.caller import CallerScript
from hotline.sim.events import Event
from hotline.sim.pbx import SimulatedPbx
from hotline.sim.records import CallRecord
from tests.conftest import CapturedLog

AGENTS = ("201", "202", "203")


def hotline(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "dial": "Local/{number}@sim-agents",
        "ring_time": 15,
        "targets": [{"number": n, "device": f"Custom:agent{n}"} for n in AGENTS],
        **extra,
    }


def settings(*hotlines: dict[str, Any]) -> Settings:
    return settings_from_mapping(
        {"asterisk": {"sounds_dir": "/var/lib/hotline/sounds"}, "hotlines": list(hotlines)}
    )


class BoardClock:
    """The board's clock: moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Line:
    """One runtime and one simulated PBX, serving calls one after another."""

    def __init__(self, runtime: Runtime, pbx: SimulatedPbx, log: CapturedLog) -> None:
        self.runtime = runtime
        self.pbx = pbx
        self.log = log

    @property
    def board(self) -> AgentBoard:
        return self.runtime.board

    async def call(self, name: str = "support") -> CallRecord:
        return await self.pbx.place_call(CallerScript(hotline=name))

    def outcomes(self, record: CallRecord) -> list[tuple[str, str]]:
        return [
            (e["number"], e["outcome"])
            for e in self.log.named("target_outcome")
            if e["call_id"] == record.uniqueid
        ]

    def skipped(self, record: CallRecord) -> dict[str, str]:
        return {
            e["number"]: e["reason"]
            for e in self.log.named("target_outcome")
            if e["call_id"] == record.uniqueid and e["outcome"] == "skipped"
        }

    def summary(self, record: CallRecord) -> dict[str, Any]:
        (summary,) = [e for e in self.log.named("call_summary") if e["call_id"] == record.uniqueid]
        return summary


@asynccontextmanager
async def line(
    cfg: Settings,
    agents: str | Mapping[str, Any],
    log: CapturedLog,
    *,
    clock: BoardClock | None = None,
    event_sink: Any = None,
) -> AsyncIterator[Line]:
    holder: dict[str, SimulatedPbx] = {}
    board = AgentBoard(clock=clock or BoardClock())
    runtime = Runtime(
        cfg,
        host="127.0.0.1",
        port=0,
        clock_factory=lambda call_id: holder["pbx"].clock_for(call_id),
        state=RuntimeState(board=board),
    )
    async with runtime:
        behaviours = parse_agents(agents) if isinstance(agents, str) else agents
        pbx = SimulatedPbx(
            "127.0.0.1", runtime.port, behaviours, confirm_args=4, event_sink=event_sink
        )
        holder["pbx"] = pbx
        yield Line(runtime, pbx, log)


def dialled(record: CallRecord) -> list[str]:
    return [leg.agent for leg in record.agent_legs]


async def test_busy_and_unavailable_agents_are_skipped_and_never_rung(
    captured_log: CapturedLog,
) -> None:
    async with line(settings(hotline("support")), "*=accept", captured_log) as hl:
        hl.board.pbx_up({"Custom:agent201": "INUSE", "Custom:agent202": "UNAVAILABLE"})
        record = await hl.call()
    assert dialled(record) == ["203"]
    assert record.bridged_to == "203"
    assert hl.outcomes(record) == [("201", "skipped"), ("202", "skipped"), ("203", "confirmed")]
    assert hl.skipped(record) == {
        "201": "device busy (INUSE)",
        "202": "device unavailable (UNAVAILABLE)",
    }
    targets = hl.summary(record)["targets"]
    assert [(t["number"], t["outcome"], t["seconds"]) for t in targets[:2]] == [
        ("201", "skipped", 0.0),
        ("202", "skipped", 0.0),
    ]


async def test_every_target_skipped_gives_the_apology_at_once(
    captured_log: CapturedLog,
) -> None:
    cfg = settings(hotline("support", rounds=3, fallback={"context": "vm", "extension": "5"}))
    async with line(cfg, "*=accept", captured_log) as hl:
        hl.board.pbx_up({f"Custom:agent{n}": "BUSY" for n in AGENTS})
        record = await hl.call()
    assert record.dialed == []
    assert record.fallback == ("vm", "5", "1")
    summary = hl.summary(record)
    assert summary["outcome"] == "fallback"
    assert [t["outcome"] for t in summary["targets"]] == ["skipped"] * 9  # 3 rounds
    # no ring time passed: only the prompts played (2 virtual seconds each)
    hunt = [e for e in captured_log.events if e.get("call_id") == record.uniqueid]
    assert not [e for e in hunt if e["event"] == "target_dialing"]
    assert summary["duration"] < 15


async def test_ringing_device_is_dialled_unless_the_rule_says_so(
    captured_log: CapturedLog,
) -> None:
    states = {"Custom:agent201": "RINGING"}
    async with line(settings(hotline("support")), "*=accept", captured_log) as hl:
        hl.board.pbx_up(states)
        assert (await hl.call()).bridged_to == "201"
    cfg = settings(hotline("support", hunt={"skip": {"ringing": True}}))
    async with line(cfg, "*=accept", captured_log) as hl:
        hl.board.pbx_up(states)
        assert (await hl.call()).bridged_to == "202"


async def test_skip_rules_can_be_switched_off(captured_log: CapturedLog) -> None:
    cfg = settings(hotline("support", hunt={"skip": {"busy": False}}))
    async with line(cfg, "*=accept", captured_log) as hl:
        hl.board.pbx_up({"Custom:agent201": "INUSE", "Custom:agent202": "UNAVAILABLE"})
        record = await hl.call()
    assert dialled(record) == ["201"]


async def test_ami_down_nothing_is_skipped_for_device_state(captured_log: CapturedLog) -> None:
    async with line(settings(hotline("support")), "201=busy,*=accept", captured_log) as hl:
        hl.board.pbx_up({f"Custom:agent{n}": "INUSE" for n in AGENTS})
        hl.board.pbx_down()  # AMI lost: the states may be stale
        record = await hl.call()
    # 201 really is busy (the PBX says so when dialled), 202 takes the call
    assert dialled(record) == ["201", "202"]
    assert hl.outcomes(record) == [("201", "busy"), ("202", "confirmed")]


async def test_agent_connected_on_hotline_a_is_not_offered_a_hotline_b_call(
    captured_log: CapturedLog,
) -> None:
    cfg = settings(hotline("a"), hotline("b"))
    bridged = asyncio.Event()
    release = asyncio.Event()

    async def hold_first_bridge(event: Event) -> None:
        # call A's bridge (the first) stays up, in real time, until call B is done
        if event["Event"] == "BridgeEnter" and not bridged.is_set():
            bridged.set()
            await release.wait()

    async with line(cfg, "*=accept", captured_log, event_sink=hold_first_bridge) as hl:
        task_a = asyncio.create_task(hl.call("a"))
        await bridged.wait()
        assert hl.board.activity("Custom:agent201") == (Activity.CONNECTED, "a")
        record_b = await hl.call("b")
        release.set()
        record_a = await task_a
    assert record_a.bridged_to == "201"
    assert record_b.bridged_to == "202"
    assert hl.skipped(record_b) == {"201": "connected on hotline a"}
    # the call is over: nobody is left on the board
    assert hl.board.sizes()["active_legs"] == 0


async def test_wrap_up_is_honoured(captured_log: CapturedLog) -> None:
    clock = BoardClock()
    cfg = settings(hotline("support", hunt={"wrap_up": 30}))
    async with line(cfg, "*=accept", captured_log, clock=clock) as hl:
        first = await hl.call()
        clock.now += 10
        second = await hl.call()
        clock.now += 21  # 201's wrap-up is over, 202's is not
        third = await hl.call()
    assert (first.bridged_to, second.bridged_to, third.bridged_to) == ("201", "202", "201")
    assert hl.skipped(second) == {"201": "wrap-up (20 s left)"}
    assert hl.skipped(third) == {}


async def test_round_robin_offers_agents_in_rotation(captured_log: CapturedLog) -> None:
    cfg = settings(hotline("support", hunt={"strategy": "round_robin"}))
    async with line(cfg, "*=accept", captured_log) as hl:
        records = [await hl.call() for _ in range(6)]
    assert [r.bridged_to for r in records] == ["201", "202", "203", "201", "202", "203"]
    assert [dialled(r) for r in records] == [[a] for a in ["201", "202", "203"] * 2]


async def test_round_robin_moves_on_past_an_agent_who_did_not_answer(
    captured_log: CapturedLog,
) -> None:
    cfg = settings(hotline("support", hunt={"strategy": "round_robin"}))
    async with line(cfg, "202=no-answer,*=accept", captured_log) as hl:
        records = [await hl.call() for _ in range(3)]
    assert [dialled(r) for r in records] == [["201"], ["202", "203"], ["201"]]


async def test_least_recent_order_across_two_hotlines(captured_log: CapturedLog) -> None:
    clock = BoardClock()
    lr = {"strategy": "least_recent"}
    cfg = settings(hotline("support", hunt=lr), hotline("sales", hunt=lr))
    async with line(cfg, "*=accept", captured_log, clock=clock) as hl:
        order = []
        for name in ("support", "sales", "support", "sales", "support"):
            record = await hl.call(name)
            order.append(record.bridged_to)
            clock.now += 5
    # never-called agents first (in list order), then whoever finished longest ago,
    # whichever hotline that call was on
    assert order == ["201", "202", "203", "201", "202"]


async def test_random_offers_every_target_in_varying_orders(captured_log: CapturedLog) -> None:
    cfg = settings(hotline("support", hunt={"strategy": "random"}))
    async with line(cfg, "*=no-answer", captured_log) as hl:
        orders = {tuple(dialled(await hl.call())) for _ in range(12)}
    assert all(sorted(order) == list(AGENTS) for order in orders)
    assert len(orders) > 1


def test_target_without_device_is_never_skipped_for_device_state() -> None:
    data = copy.deepcopy(hotline("support"))
    for target in data["targets"]:
        del target["device"]
    cfg = settings(data)
    board = AgentBoard()
    runtime = Runtime(cfg, host="127.0.0.1", port=0, state=RuntimeState(board=board))
    assert runtime.board.devices == set()
    board.pbx_up({"Local/201@sim-agents": "INUSE"})
    rules = cfg.hotlines[0].hunt.skip
    assert board.skip_reason("Local/201@sim-agents", rules) is None
