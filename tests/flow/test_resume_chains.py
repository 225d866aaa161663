"""The coroutines each command of a call resumes through (issue 19: every level cost
~1,600 instructions and ~7 cache misses per command, benchmarks/RESULTS.md session 13).
The real runtime on a loopback port, both legs played by FakeAsterisk."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hotline.agi.testing import FakeAsterisk, awaiting
from hotline.config import Settings, settings_from_mapping
from hotline.runtime import Runtime
from hotline.sim.hostile import write_short_prompts
from tests.flow.replies import agi_reply

CALL = "1795305542.1"
LEG = "1795305542.2"


def _settings(sounds: Path) -> Settings:
    return settings_from_mapping(
        {
            "asterisk": {"sounds_dir": str(sounds), "enabled": False},
            "hotlines": [
                {
                    "name": "support",
                    "ring_time": 5,
                    "confirm": {"timeout": 2, "replays": 0},
                    "targets": [{"number": "201"}],
                }
            ],
        }
    )


def _chain_of(flow: str) -> list[str]:
    """The chain of the one task whose coroutines include ``flow``."""
    (chain,) = [c for t in asyncio.all_tasks() if flow in (c := awaiting(t))]
    return chain


def _reply(command: str) -> str:
    return agi_reply(command, key="")  # the agent presses no key in any wait slice


async def test_each_command_of_a_call_resumes_through_few_coroutines(tmp_path: Path) -> None:
    async with Runtime(_settings(write_short_prompts(tmp_path)), host="127.0.0.1", port=0) as rt:
        caller = FakeAsterisk(rt.port)
        await caller.connect()
        await caller.send_header("hotline/support", uniqueid=CALL, callerid="5550001")
        while not (command := await caller.read_command()).startswith("EXEC Dial"):
            await caller.reply(_reply(command))
        # the caller leg waits in Dial: the call, its hunt, the dial (the connection's
        # coroutine awaits the flow's task, hotline/agi/server.py)
        assert _chain_of("CallerFlow.run") == [
            "CallerFlow.run",
            "CallerFlow._hunt",
            "CallerFlow._dial",
            "AgiSession._send",
        ]
        async with FakeAsterisk(rt.port) as agent:
            await agent.send_header("confirm", uniqueid=LEG, args=[CALL, "support", "201", ""])
            waits = 0
            while not (command := await agent.read_command()).startswith("SET VARIABLE GOSUB"):
                if command.startswith("WAIT FOR DIGIT"):
                    waits += 1
                    # the press-1 wait's slices and the caller checks between them: no
                    # coroutine between the leg's loop and the session's one per command
                    assert _chain_of("ConfirmFlow.run") == [
                        "ConfirmFlow.run",
                        "ConfirmFlow._ask_agent",
                        "AgiSession._send",
                    ]
                await agent.reply(_reply(command))
            assert waits == 2  # two one-second slices of the two-second timeout
            await agent.reply(_reply(command))
            await agent.answer_until_closed(_reply)
        await caller.close()
