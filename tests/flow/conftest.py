"""Scenario fixtures: the real runtime on a loopback port, the PBX simulator calling it."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest

from hotline.config import Settings, settings_from_mapping
from hotline.flow.observers import CallObserver
from hotline.sim.agents import AgentBehaviour, parse_agents
from hotline.sim.caller import CallerScript
from hotline.sim.records import CallRecord
from tests.conftest import CapturedLog
from tests.simrun import sim_runtime

BASE: dict[str, Any] = {
    "asterisk": {"sounds_dir": "/var/lib/hotline/sounds"},
    "hotlines": [
        {
            "name": "support",
            "pin": "4711",
            "pin_attempts": 3,
            "dial": "Local/{number}@sim-agents",
            "ring_time": 15,
            "targets": [{"number": "201", "label": "Anna"}, {"number": "202"}, {"number": "203"}],
        },
        {
            "name": "sales",
            "language": "de",
            "dial": "PJSIP/{number}",
            "ring_time": 10,
            "targets": [{"number": "301"}, {"number": "302"}],
        },
    ],
}


def make_settings(*, sales_hunt: bool = False, **support: Any) -> Settings:
    """The base config with the ``support`` hotline's keys replaced (``sales_hunt``: sales
    gets support's ``hunt`` table too)."""
    data = copy.deepcopy(BASE)
    data["hotlines"][0].update(support)
    if sales_hunt and "hunt" in support:
        data["hotlines"][1]["hunt"] = support["hunt"]
    return settings_from_mapping(data)


Call = Callable[..., Awaitable[CallRecord]]


class Scenario:
    """Runs calls from the simulator into a runtime serving ``settings``."""

    def __init__(self, captured_log: CapturedLog) -> None:
        self.log = captured_log
        #: registered on every runtime this scenario starts
        self.observers: list[CallObserver] = []

    async def call(
        self,
        settings: Settings,
        agents: str | Mapping[str, AgentBehaviour],
        script: CallerScript,
        **runtime_options: Any,
    ) -> CallRecord:
        records = await self.calls(settings, agents, [script], **runtime_options)
        return records[0]

    async def calls(
        self,
        settings: Settings,
        agents: str | Mapping[str, AgentBehaviour],
        scripts: list[CallerScript],
        **runtime_options: Any,
    ) -> list[CallRecord]:
        """``runtime_options`` go to :class:`Runtime` (``now``, ``state``…)."""
        behaviours = parse_agents(agents) if isinstance(agents, str) else agents
        async with sim_runtime(settings, behaviours, **runtime_options) as (runtime, pbx):
            for observer in self.observers:
                runtime.deps.observers.add(observer)
            return list(await asyncio.gather(*(pbx.place_call(s) for s in scripts)))

    def events(self, call_id: str, name: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in self.log.events
            if e.get("call_id") == call_id and (name is None or e["event"] == name)
        ]

    def summary(self, call_id: str) -> dict[str, Any]:
        (summary,) = self.events(call_id, "call_summary")
        return summary


@pytest.fixture
def scenario(captured_log: CapturedLog) -> Scenario:
    return Scenario(captured_log)
