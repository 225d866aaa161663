"""PBX simulator: plays Asterisk 22 toward a hotline runtime over real sockets.

The FastAGI side (pbx, env, call, the legs, dial) places scripted calls:
it opens the caller leg's FastAGI connection with the exact header bytes
Asterisk sends, answers every AGI command in Asterisk's reply format, runs
``EXEC Dial`` against scripted agents — opening the agent's ``confirm`` leg as
Dial's ``U()`` Gosub does — and records what happened.  Everything is taken
from the recordings in tests/*/recordings.  Calls run on per-call
*virtual* clocks: ringing 15 s or a 30 s prompt costs no real time.

Tests and ``hotline demo`` (same process as the runtime)::

    from hotline.sim import CallerScript, SimulatedPbx, parse_agents

    pbx = SimulatedPbx("127.0.0.1", runtime_port,
                       parse_agents("201=no-answer,202=voicemail,203=accept"),
                       event_sink=ami_server.emit)          # optional AMI events
    # the runtime measures max_wait etc. on the call's virtual clock:
    #   clock_factory=lambda request: pbx.clock_for(request.uniqueid)
    record = await pbx.place_call(CallerScript("support", pin_entries=["1234#"]))
    record.bridged_to, record.played, record.dialed, record.agent_legs
    print(record.format_timeline())

Benchmarks (simulator in its own process, against a runtime's port)::

    python -m hotline.sim --port 4573 --hotline support --calls 500 \\
        --concurrency 50 --agents "*=accept" --json

or from Python, :func:`hotline.sim.load.run_load` (``host, port, scripts,
concurrency``) → one :class:`CallRecord` per script, with real-time
``wall_seconds`` and per-command runtime ``latencies``.

The AMI side: ``ami_server`` (the server), ``ami_state`` (what the PBX is),
``ami_cli`` (CLI texts), ``originate`` (Originate requests) and ``ami_pbx``
(an Originate becomes a simulated call).  Both sides share one channel model
(``channels``) and one set of event builders (``events``).

Importing this package is cheap: the names below load on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hotline.sim.agents import AgentBehaviour, parse_agents
    from hotline.sim.caller import CallerScript
    from hotline.sim.clock import VirtualClock
    from hotline.sim.errors import SimError
    from hotline.sim.load import run_load
    from hotline.sim.pbx import SimulatedPbx
    from hotline.sim.records import AgentLeg, CallRecord

_EXPORTS = {
    "AgentBehaviour": "hotline.sim.agents",
    "parse_agents": "hotline.sim.agents",
    "CallerScript": "hotline.sim.caller",
    "VirtualClock": "hotline.sim.clock",
    "SimError": "hotline.sim.errors",
    "run_load": "hotline.sim.load",
    "SimulatedPbx": "hotline.sim.pbx",
    "AgentLeg": "hotline.sim.records",
    "CallRecord": "hotline.sim.records",
}

__all__ = [
    "AgentBehaviour",
    "AgentLeg",
    "CallRecord",
    "CallerScript",
    "SimError",
    "SimulatedPbx",
    "VirtualClock",
    "parse_agents",
    "run_load",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hotline.sim' has no attribute {name!r}")
    return getattr(import_module(module), name)
