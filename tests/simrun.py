"""The runtime on a loopback port with the PBX simulator calling it: one helper for all tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from hotline.config import Settings
from hotline.runtime import Runtime
from hotline.sim.agents import AgentBehaviour
from hotline.sim.pbx import SimulatedPbx


@contextlib.asynccontextmanager
async def sim_runtime(
    settings: Settings, agents: Mapping[str, AgentBehaviour], **runtime_options: Any
) -> AsyncIterator[tuple[Runtime, SimulatedPbx]]:
    """Serve ``settings`` (``runtime_options`` go to :class:`Runtime`) on the simulator's
    virtual clocks; yields the runtime and the PBX that places calls to it."""
    holder: dict[str, SimulatedPbx] = {}
    runtime = Runtime(
        settings,
        host="127.0.0.1",
        port=0,
        clock_factory=lambda call_id: holder["pbx"].clock_for(call_id),
        **runtime_options,
    )
    async with runtime:
        pbx = holder["pbx"] = SimulatedPbx("127.0.0.1", runtime.port, agents, confirm_args=4)
        yield runtime, pbx
