"""The benchmarked call: one hotline, PIN, intro, two targets that fail, a third that confirms.

Every server under test gets the same calls from the same simulator command
line (:func:`driver_command`); :func:`check_call` says whether one call, as the
simulator saw it, reached the right end.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from hotline.contract import hotline_route

HOTLINE = "bench"
CALLER_ROUTE = hotline_route(HOTLINE)
PIN = "4711"
#: 201 never answers, 202 is a voicemail box (answers, never confirms), 203 accepts
AGENTS = "201=no-answer,202=voicemail,203=accept"
TARGETS = ("201", "202", "203")
CONFIRMING_TARGET = "203"
#: short simulated timings (virtual seconds: they cost no real time)
PROMPT_SECONDS = 0.5
TALK_SECONDS = 1.0

CONFIG: dict[str, Any] = {
    "asterisk": {"sounds_dir": "/var/lib/hotline/sounds", "enabled": False},
    "agi": {"bind": "127.0.0.1", "drain_timeout": 5.0},
    "logging": {"level": "INFO", "format": "json"},
    "hotlines": [
        {
            "name": HOTLINE,
            "pin": PIN,
            "pin_attempts": 3,
            "dial": "Local/{number}@sim-agents",
            "ring_time": 5,
            "targets": [{"number": number} for number in TARGETS],
            # a simulated agent takes any number of calls at once: measure the runtime,
            # not the agent board's "already on a hotline call" skipping
            "hunt": {"skip": {"on_hotline_call": False}},
        }
    ],
}


#: the leak check's runtime (``benchmarks.server --hostile``): deadlines short enough that
#: the hostile peers of the ``errors`` mix end in fractions of a second (its prompts are
#: 20 ms long, hotline.sim.hostile.write_short_prompts, so media deadlines are short too)
HOSTILE_AGI = {"header_timeout": 0.5, "command_timeout": 1.0}
#: where the hostile peers of the ``errors`` mix connect (mostly the flows, now and then
#: nowhere)
HOSTILE_ROUTES = (CALLER_ROUTE,) * 3 + ("confirm", "nope")
#: where the scripted callers of the ``errors`` mix hang up, in turn
HANGUP_STEPS = (("pin", 1), ("intro", 1), ("ringing", 1), ("ringing", 2), ("confirm", 1))
MIXES = ("calls", "errors")


def driver_command(
    port: int,
    calls: int,
    *,
    caller_commands: int,
    concurrency: int = 0,
    ramp: float = 0.0,
    time_scale: float = 0.0,
    talk: float = 1.0,
    mix: str = "calls",
    loop: str = "asyncio",
) -> list[str]:
    """The load generator process (:mod:`benchmarks.driver`) placing ``calls`` calls."""
    return [
        sys.executable,
        "-m",
        "benchmarks.driver",
        "--port",
        str(port),
        "--calls",
        str(calls),
        "--concurrency",
        str(concurrency),
        "--ramp",
        str(ramp),
        "--time-scale",
        str(time_scale),
        "--talk",
        str(talk),
        "--caller-commands",
        str(caller_commands),
        "--mix",
        mix,
        "--loop",
        loop,
    ]


def check_call(call: Mapping[str, Any], caller_commands: int) -> bool:
    """True when the simulator saw the right end: bridged to 203 after dialling all three."""
    dialed = call.get("dialed") or []
    return (
        call.get("outcome") == "connected"
        and call.get("bridged_to") == CONFIRMING_TARGET
        and call.get("error") is None
        and len(dialed) == len(TARGETS)
        and all(f"/{number}@" in d for number, d in zip(TARGETS, dialed, strict=True))
        and call.get("commands") == caller_commands
    )
