"""What the agent's confirm leg costs per call since it watches for a caller who leaves.

``python -m benchmarks.confirm_cost [--calls N]``

The confirm leg now asks Asterisk for the caller's ``CHANNEL(checkhangup)``
(hotline/flow/presence.py) and waits for the agent's key in slices of at most a
second; with AMI watching it asks only before asking and before accepting.
Every extra AGI command costs a round trip and the runtime's CPU for it, so
this reports, per confirm leg, the AGI commands the runtime sent and its CPU
(``time.process_time``: runtime and simulator share this process, so the CPU
is the pair's; compare the rows with each other) for an accepting agent (key
after 2 s), a voicemail-like agent (silent: 3 rounds of "press 1" + 5 s) and an
accepting agent who hears the caller's number first, each without AMI and
"with AMI" (``CallerPresence.ami_watching`` returns True, as it does while the
AMI feed is connected).  Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import time
from collections import Counter
from typing import Any

from hotline.config import settings_from_mapping
from hotline.logs import configure_logging, reset_logging
from hotline.runtime import Runtime
from hotline.sim.agents import parse_agents
from hotline.sim.caller import CallerScript
from hotline.sim.pbx import SimulatedPbx

CASES = {
    "accepting": ("201=accept", False),
    "voicemail": ("201=voicemail,202=accept", False),
    "accepting, caller number read": ("201=accept", True),
}


def _settings(announce: bool) -> Any:
    return settings_from_mapping(
        {
            "asterisk": {"sounds_dir": "/var/lib/hotline/sounds", "enabled": False},
            "hotlines": [
                {
                    "name": "support",
                    "dial": "Local/{number}@sim-agents",
                    "confirm": {"announce_caller": announce},
                    "targets": [{"number": "201"}, {"number": "202"}],
                    "hunt": {"skip": {"on_hotline_call": False}},
                }
            ],
        }
    )


async def _run(agents: str, announce: bool, ami: bool, calls: int) -> dict[str, Any]:
    buffer = io.StringIO()
    configure_logging(level="DEBUG", fmt="json", stream=buffer)
    holder: dict[str, SimulatedPbx] = {}
    runtime = Runtime(
        _settings(announce),
        host="127.0.0.1",
        port=0,
        clock_factory=lambda call_id: holder["pbx"].clock_for(call_id),
    )
    if ami:
        runtime.state.presence.ami_watching = lambda: True
    began = time.process_time()
    async with runtime:
        pbx = SimulatedPbx("127.0.0.1", runtime.port, parse_agents(agents), confirm_args=4)
        holder["pbx"] = pbx
        for _ in range(calls):
            await pbx.place_call(CallerScript("support", pin_entries=(), callerid="5550001"))
    cpu = time.process_time() - began
    reset_logging()
    per_leg: Counter[str] = Counter()
    for line in buffer.getvalue().splitlines():
        event = json.loads(line)
        if event.get("event") == "agi_command" and event.get("route") == "confirm":
            per_leg[event["leg_id"]] += 1
    legs = sorted(per_leg.values())
    return {
        "confirm legs": len(legs),
        "commands per confirm leg (min, max)": [legs[0], legs[-1]],
        "CPU ms per call (runtime + simulator)": round(cpu / calls * 1000, 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args(argv)
    results = {
        f"{name}{', AMI' if ami else ''}": asyncio.run(_run(agents, announce, ami, args.calls))
        for name, (agents, announce) in CASES.items()
        for ami in (False, True)
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
