"""Stopping the runtime (SIGTERM) while calls are in progress (issue 11, item 4).

The real runtime on a loopback port; Asterisk's side of every leg is played
by FakeAsterisk, command by command, so each call is held exactly where the
test wants it when the drain starts: one caller still hears the intro, one
is ringing an agent (its Dial is running), one agent is being asked.  During
the drain the agents' confirm legs of those calls are served and every agent
who presses 1 is connected; a new call is refused (the connection closes
without a command, so the dialplan's fallback runs); the runtime stops as
soon as the last call has ended.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from hotline.agi.testing import FakeAsterisk
from hotline.config import Settings, settings_from_mapping
from hotline.runtime import Runtime
from hotline.sim.hostile import write_short_prompts
from tests.conftest import CapturedLog

CALLER_GONE_NO = "200 result=1 (0)"  # ${CHANNEL(checkhangup)} of a caller still there


def _settings(sounds: Path) -> Settings:
    return settings_from_mapping(
        {
            "asterisk": {"sounds_dir": str(sounds), "enabled": False},
            "agi": {"drain_timeout": 30},
            "hotlines": [
                {
                    "name": "support",
                    "dial": "Local/{number}@sim-agents",
                    "ring_time": 20,
                    "confirm": {"timeout": 5, "replays": 0},
                    "targets": [{"number": "201"}],
                    "hunt": {"skip": {"on_hotline_call": False}},
                }
            ],
        }
    )


def _reply(command: str) -> str:
    if command.startswith("STREAM FILE"):
        return "200 result=0 endpos=160"
    if command.startswith("GET FULL VARIABLE ${CHANNEL(checkhangup)}"):
        return CALLER_GONE_NO
    if command.startswith("WAIT FOR DIGIT"):
        return "200 result=49"  # the agent presses 1
    return "200 result=1"


async def _caller(port: int, uniqueid: str) -> FakeAsterisk:
    pbx = FakeAsterisk(port)
    await pbx.connect()
    await pbx.send_header("hotline/support", uniqueid=uniqueid, callerid="5550001")
    return pbx


async def _until(pbx: FakeAsterisk, prefix: str) -> str:
    """Answer the runtime's commands as Asterisk would, up to one starting with ``prefix``."""
    while not (command := await pbx.read_command()).startswith(prefix):
        await pbx.reply(_reply(command))
    return command


async def _agent_accepts(port: int, call_id: str, uniqueid: str) -> None:
    """The confirm leg of ``call_id``'s agent: it presses 1 and is told "accepted"."""
    async with FakeAsterisk(port) as agent:
        await agent.send_header("confirm", uniqueid=uniqueid, args=[call_id, "support", "201", ""])
        await _until_closed(agent)


async def _bridged_and_ended(pbx: FakeAsterisk) -> None:
    """Dial returns after the bridge (agent confirmed), the caller leg reads and hangs up."""
    await pbx.reply("200 result=-1")
    await pbx.expect("GET FULL VARIABLE ${DIALSTATUS}|${GOSUB_RETVAL}|${HANGUPCAUSE}")
    await pbx.reply("200 result=1 (ANSWER|ACCEPTED|16)")
    await _until_closed(pbx)


async def _until_closed(pbx: FakeAsterisk) -> None:
    """Answer the runtime's commands (its HANGUP of the caller) until it closes the leg."""
    await pbx.answer_until_closed(_reply)


async def test_drain_serves_the_agents_of_calls_in_progress_and_refuses_new_calls(
    tmp_path: Path, captured_log: CapturedLog
) -> None:
    runtime = Runtime(_settings(write_short_prompts(tmp_path)), host="127.0.0.1", port=0)
    await runtime.start()
    port = runtime.port
    intro = await _caller(port, "1795305542.1")  # hears the intro when the drain starts
    await _until(intro, "STREAM FILE")
    ringing = await _caller(port, "1795305542.2")  # its agent rings
    await _until(ringing, "EXEC Dial")
    asked = await _caller(port, "1795305542.3")  # its agent is being asked
    await _until(asked, "EXEC Dial")
    asked_agent = FakeAsterisk(port)
    await asked_agent.connect()
    await asked_agent.send_header(
        "confirm", uniqueid="1795305542.30", args=["1795305542.3", "support", "201", ""]
    )
    await _until(asked_agent, "STREAM FILE")  # "press 1" plays

    stopping = asyncio.create_task(runtime.stop())  # what SIGTERM does in `hotline run`
    await asyncio.sleep(0)  # one turn of the loop: stop() starts draining before it waits
    assert runtime.server.draining
    assert captured_log.named("agi_draining")

    # a new call is refused: closed before any command, so the dialplan's fallback runs
    async with FakeAsterisk(port) as late:
        await late.send_header("hotline/support", uniqueid="1795305542.9", callerid="5550002")
        assert await late.wait_closed() == []
    # the agent being asked presses 1 and is connected
    await asked_agent.reply(_reply("STREAM FILE"))
    await _until_closed(asked_agent)
    await asked_agent.close()
    await _bridged_and_ended(asked)
    # the ringing agent answers now: its confirm leg is still served
    await _agent_accepts(port, "1795305542.2", "1795305542.20")
    await _bridged_and_ended(ringing)
    # the caller in the intro goes on to dial; that agent is asked and accepts too
    await intro.reply(_reply("STREAM FILE"))
    await _until(intro, "EXEC Dial")
    await _agent_accepts(port, "1795305542.1", "1795305542.10")
    assert not stopping.done()  # that call is still bridged: the runtime waits for it
    await _bridged_and_ended(intro)

    await asyncio.wait_for(stopping, 5)  # stopped as soon as the last call ended
    for leg in (intro, ringing, asked):
        await leg.close()
    summaries = {e["call_id"]: e for e in captured_log.named("call_summary")}
    assert {k: v["outcome"] for k, v in summaries.items()} == {
        "1795305542.1": "connected",
        "1795305542.2": "connected",
        "1795305542.3": "connected",
    }
    (refused,) = captured_log.named("call_refused")
    assert refused["route"] == "hotline/support"
    assert "draining" in refused["reason"]
    assert not captured_log.named("agi_drain_timeout")
    assert not captured_log.named("target_failed")


async def test_a_forged_confirm_leg_cannot_accept_a_call_in_progress(
    tmp_path: Path, captured_log: CapturedLog
) -> None:
    """Issue 12 item 7: a /confirm for a target the call is not dialling is refused, and a
    caller leg whose agi_uniqueid would smuggle Dial options is not served."""
    runtime = Runtime(_settings(write_short_prompts(tmp_path)), host="127.0.0.1", port=0)
    async with runtime:
        caller = await _caller(runtime.port, "1795305542.4")
        await _until(caller, "EXEC Dial")  # dialling 201 now
        async with FakeAsterisk(runtime.port) as forged:
            await forged.send_header(
                "confirm", uniqueid="9.9", args=["1795305542.4", "support", "200", ""]
            )
            await _until_closed(forged)
        assert not captured_log.named("confirm_accepted")
        assert not captured_log.named("call_connected")
        (refused,) = captured_log.named("confirm_unexpected_target")
        assert refused["call_id"] == "1795305542.4"
        await caller.close()
        async with FakeAsterisk(runtime.port) as smuggler:
            await smuggler.send_header("hotline/support", uniqueid="1.0,60,G(x)", callerid="5")
            assert await smuggler.wait_closed() == []
        (bad,) = [e for e in captured_log.named("call_refused") if "malformed" in e["reason"]]
        assert bad["hotline"] == "support"
