"""A runtime with its journal (and metrics) serving the PBX simulator, for journal tests."""

from __future__ import annotations

import copy
import itertools
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.config import Settings, settings_from_mapping
from hotline.config.journal import JournalConfig
from hotline.journal.schema import attempts, calls
from hotline.runtime import Runtime
from hotline.sim.agents import parse_agents
from hotline.sim.caller import CallerScript
from hotline.sim.env import DEFAULT_EPOCH
from hotline.sim.load import run_load
from hotline.sim.pbx import SimulatedPbx
from hotline.sim.records import CallRecord

PIN = "7319046"
_restarts = itertools.count()

BASE: dict[str, Any] = {
    "asterisk": {"sounds_dir": "/var/lib/hotline/sounds", "enabled": False},
    # a free port: another process on the machine may hold the default 9464
    "http": {"port": 0},
    "hotlines": [
        {
            "name": "support",
            "pin": PIN,
            "dial": "Local/{number}@sim-agents",
            "ring_time": 15,
            # simulated agents take any number of calls at once (load, not agent behaviour)
            "hunt": {"skip": {"on_hotline_call": False}},
            "targets": [{"number": "201", "label": "Anna"}, {"number": "202"}, {"number": "203"}],
        },
        {"name": "sales", "dial": "PJSIP/{number}", "targets": [{"number": "301"}]},
    ],
}


def journal_settings(
    journal: JournalConfig, *, support: dict[str, Any] | None = None, **sections: Any
) -> Settings:
    """BASE with ``journal``; ``support`` replaces keys of the support hotline."""
    data = copy.deepcopy(BASE)
    data["hotlines"][0].update(support or {})
    data["journal"] = journal.model_dump(mode="json", exclude_none=True)
    if journal.url is not None:
        data["journal"]["url"] = journal.url.get_secret_value()
    data.update(sections)
    return settings_from_mapping(data)


def support(*pins: str | None, callerid: str = "5550001", **kw: Any) -> CallerScript:
    return CallerScript(hotline="support", pin_entries=pins, callerid=callerid, **kw)


@dataclass
class Stack:
    runtime: Runtime
    pbx: SimulatedPbx

    async def calls(self, scripts: list[CallerScript], concurrency: int = 50) -> list[CallRecord]:
        return await run_load("127.0.0.1", self.runtime.port, scripts, concurrency, pbx=self.pbx)


@asynccontextmanager
async def serving(
    settings: Settings,
    agents: str | Mapping[str, Any],
    *,
    licensed: bool = True,
    now: Callable[[], datetime] | None = None,
) -> AsyncIterator[Stack]:
    """The runtime on a free loopback port, the simulator's clocks driving its calls."""
    holder: dict[str, SimulatedPbx] = {}
    runtime = Runtime(
        settings,
        call_gate=lambda: licensed,
        now=now,
        host="127.0.0.1",
        port=0,
        clock_factory=lambda call_id: holder["pbx"].clock_for(call_id),
    )
    behaviours = parse_agents(agents) if isinstance(agents, str) else agents
    async with runtime:
        # each runtime meets a PBX started later, as after a real restart: Asterisk's
        # uniqueids (epoch.sequence) never repeat, so no call id is journaled twice
        epoch = DEFAULT_EPOCH + next(_restarts) * 1_000_000
        holder["pbx"] = SimulatedPbx(
            "127.0.0.1", runtime.port, behaviours, confirm_args=4, epoch=epoch
        )
        yield Stack(runtime, holder["pbx"])


async def stored_calls(engine: AsyncEngine) -> dict[str, dict[str, Any]]:
    """Every stored call by call id, each with its attempts (ordered) under "attempts"."""
    async with engine.connect() as conn:
        rows = {r.call_id: dict(r._mapping) for r in await conn.execute(select(calls))}
        for call in rows.values():
            call["attempts"] = []
        ordered = select(attempts).order_by(attempts.c.call_id, attempts.c.attempt)
        for r in await conn.execute(ordered):
            rows[r.call_id]["attempts"].append(dict(r._mapping))
    return rows
