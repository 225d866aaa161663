"""Deadlines the flows derive (issue 12, item 1): Dial gets ring time + the confirm budget,
and an accepted call's Dial outlives it.  The real runtime on a loopback port, both legs
played by FakeAsterisk; prompts are 20 ms (hotline.sim.hostile.write_short_prompts)."""

from __future__ import annotations

import time
from pathlib import Path

from hotline.agi.testing import FakeAsterisk
from hotline.config import Settings, settings_from_mapping
from hotline.flow.deadlines import Deadlines
from hotline.flow.prompting import PromptBook
from hotline.runtime import Runtime
from hotline.sim.hostile import write_short_prompts
from tests.conftest import CapturedLog
from tests.flow.replies import agi_reply

RING_TIME = 1


def _settings(sounds: Path) -> Settings:
    return settings_from_mapping(
        {
            "asterisk": {"sounds_dir": str(sounds), "enabled": False},
            "agi": {"command_timeout": 0.3},
            "hotlines": [
                {
                    "name": "support",
                    "ring_time": RING_TIME,
                    "confirm": {"timeout": 0.1, "replays": 0},
                    "targets": [{"number": "201"}],
                    # the clock call rings the same agent while the first is bridged
                    "hunt": {"skip": {"on_hotline_call": False}},
                }
            ],
        }
    )


async def _answer_until_dial(pbx: FakeAsterisk) -> str:
    """Answer the caller leg's commands as Asterisk would, up to its EXEC Dial."""
    while not (command := await pbx.read_command()).startswith("EXEC Dial"):
        await pbx.reply(agi_reply(command))
    return command


async def _caller_at_dial(port: int, uniqueid: str) -> tuple[FakeAsterisk, float]:
    pbx = FakeAsterisk(port)
    await pbx.connect()
    await pbx.send_header("hotline/support", uniqueid=uniqueid, callerid="5550001")
    await _answer_until_dial(pbx)
    return pbx, time.monotonic()


async def test_a_dial_without_reply_is_closed_after_ring_time_and_confirm_budget(
    tmp_path: Path, captured_log: CapturedLog
) -> None:
    settings = _settings(write_short_prompts(tmp_path))
    deadlines = Deadlines(PromptBook.from_settings(settings), settings.hotlines[0], 0.3)
    expected = deadlines.dial(RING_TIME, "5550001")
    async with Runtime(settings, host="127.0.0.1", port=0) as runtime:
        pbx, dialled = await _caller_at_dial(runtime.port, "1795305542.1")
        assert await pbx.wait_closed(timeout=10) == []
        waited = time.monotonic() - dialled
        await pbx.close()
    # not the quick commands' 0.3 s: the agent may ring for ring_time and be asked
    assert waited >= RING_TIME
    (timeout,) = captured_log.named("agi_command_timeout")
    assert (timeout["command"], timeout["timeout"]) == ("EXEC", expected)
    summary = captured_log.named("call_summary")[0]
    assert summary["outcome"] == "failed"


async def test_an_accepted_call_outlives_its_dial_deadline(
    tmp_path: Path, captured_log: CapturedLog
) -> None:
    async with Runtime(_settings(write_short_prompts(tmp_path)), host="127.0.0.1", port=0) as rt:
        bridged, _ = await _caller_at_dial(rt.port, "1795305542.7")
        async with FakeAsterisk(rt.port) as agent:
            await agent.send_header(
                "confirm", uniqueid="1795305542.8", args=["1795305542.7", "support", "201", ""]
            )
            await agent.answer_until_closed(agi_reply)
        assert captured_log.named("call_connected")
        # a second call, dialled later with the same deadline, times out ...
        clock, _ = await _caller_at_dial(rt.port, "1795305542.9")
        assert await clock.wait_closed(timeout=10) == []
        await clock.close()
        # ... while the accepted one is still bridged: its Dial returns when the call ends
        await bridged.reply("200 result=0")
        await bridged.answer_until_closed(agi_reply)
        await bridged.close()
    outcomes = {e["call_id"]: e["outcome"] for e in captured_log.named("call_summary")}
    assert outcomes == {"1795305542.7": "connected", "1795305542.9": "failed"}
    assert [e["call_id"] for e in captured_log.named("agi_command_timeout")] == ["1795305542.9"]
