"""Caller hang-ups at every step: the -1 replies, the one HANGUP line and 511s (raw sockets)."""

from __future__ import annotations

import pytest

from hotline.sim.agents import parse_agents
from hotline.sim.caller import CallerScript
from hotline.sim.commands import DEAD_REPLY
from hotline.sim.pbx import SimulatedPbx
from hotline.sim.records import CallRecord
from tests.sim.rawagi import PeerConn, RawAgiServer

FLOW = [
    "ANSWER",
    'STREAM FILE hotline-intro ""',
    "GET DATA enter-pin 5000 4",
    'STREAM FILE please-hold ""',
    "EXEC Dial Local/201@sim-agents,15,m(default)U(hotline-confirm^{uid}^201^sales)",
    "GET VARIABLE DIALSTATUS",
]


def _hung_up(reply: str) -> bool:
    return reply.startswith("200 result=-1")


async def confirm_script(conn: PeerConn) -> None:
    caller = conn.env["agi_arg_1"]
    await conn.send('STREAM FILE whisper ""')
    await conn.send("WAIT FOR DIGIT 5000")
    # the caller's channel exists until Dial returns; checkhangup tells (recording 20)
    hanging_up = await conn.send(f"GET FULL VARIABLE ${{CHANNEL(checkhangup)}} {caller}")
    if hanging_up == "200 result=1 (0)":
        await conn.send("SET VARIABLE HOTLINE_CONFIRM ACCEPTED")
    else:
        await conn.send("SET VARIABLE HOTLINE_CONFIRM CALLER_GONE")
        await conn.send("SET VARIABLE GOSUB_RESULT CONTINUE")


class CallerRun:
    """Plays FLOW until the caller hangs up, then probes or just listens."""

    def __init__(self, probe: list[str] | None) -> None:
        self.probe = probe
        self.hung_up_at: str | None = None
        self.hangup_reply = ""
        self.after_hangup: list[str] = []
        self.replies: dict[str, str] = {}
        self.conn: PeerConn | None = None

    async def __call__(self, conn: PeerConn) -> None:
        self.conn = conn
        for template in FLOW:
            command = template.format(uid=conn.env["agi_uniqueid"])
            reply = await conn.send(command)
            if _hung_up(reply):
                self.hung_up_at, self.hangup_reply = command, reply
                break
        if self.probe is None:
            self.after_hangup = await conn.finish()
            return
        for command in self.probe:
            self.replies[command] = await conn.send(command)
        await conn.finish()


async def _run(
    script: CallerScript, placement: str, probe: list[str] | None, agents: str = "201=accept:4"
) -> tuple[CallerRun, CallRecord, RawAgiServer]:
    caller = CallerRun(probe)
    async with RawAgiServer({"hotline/sales": caller, "confirm": confirm_script}) as server:
        pbx = SimulatedPbx(
            "127.0.0.1",
            server.port,
            parse_agents(agents),
            hangup_line=placement,  # type: ignore[arg-type]
        )
        record = await pbx.place_call(script)
    server.check()
    return caller, record, server


CASES = [
    # step, n, command that returns -1, its reply, hangup_step recorded
    ("pin", 1, "GET DATA enter-pin 5000 4", "200 result=-1", "pin"),
    ("prompt", 1, 'STREAM FILE hotline-intro ""', "200 result=-1 endpos=8000", "prompt"),
    ("prompt", 2, 'STREAM FILE please-hold ""', "200 result=-1 endpos=8000", "prompt"),
    ("intro", 1, 'STREAM FILE hotline-intro ""', "200 result=-1 endpos=8000", "intro"),
    ("ringing", 1, "EXEC Dial", "200 result=-1", "ringing"),
    ("confirm", 1, "EXEC Dial", "200 result=-1", "confirm"),
    ("bridge", 1, "EXEC Dial", "200 result=-1", "bridge"),
]


@pytest.mark.parametrize(("step", "n", "where", "reply", "recorded_step"), CASES)
@pytest.mark.parametrize("placement", ["next-reply", "after-reply"])
async def test_caller_hangup_gives_minus_one_and_one_hangup_line(
    step: str, n: int, where: str, reply: str, recorded_step: str, placement: str
) -> None:
    script = CallerScript("sales", pin_entries=["1234#"], hangup_during=(step, n))
    probe = None if placement == "after-reply" else ["GET DATA beep 100 1", "NOOP"]
    caller, record, server = await _run(script, placement, probe)
    assert caller.hung_up_at is not None
    assert caller.hung_up_at.startswith(where)
    assert caller.hangup_reply == reply
    assert (record.hung_up_by, record.hangup_step) == ("caller", recorded_step)
    assert record.variables["AGISTATUS"] == "HANGUP"
    conn = caller.conn
    assert conn is not None
    assert conn.hangups == 1
    if placement == "after-reply":
        # sent right after the -1 reply, without waiting for another command
        assert caller.after_hangup == ["HANGUP"]
    else:
        # sent only once the next command came, just before its reply (recordings 08/12)
        at = conn.transcript.index(">>> GET DATA beep 100 1")
        assert conn.transcript[at : at + 3] == [
            ">>> GET DATA beep 100 1",
            "<<< HANGUP",
            f"<<< {DEAD_REPLY}",
        ]
        assert caller.replies["NOOP"] == "200 result=0"
    if step == "confirm":
        (leg,) = record.agent_legs
        assert (leg.bridged, leg.released, leg.hotline_confirm) == (False, True, "CALLER_GONE")
        assert server.by_path("confirm")[0].hangups == 0  # the confirm leg is not told
    if step == "bridge":
        (leg,) = record.agent_legs
        assert leg.bridged
        assert leg.talk_seconds == 5.0
        assert record.bridged_to == "201"


async def test_after_hangup_only_dead_safe_commands_run() -> None:
    probe = [
        "GET DATA beep 3000 4",
        'STREAM FILE beep ""',
        "WAIT FOR DIGIT 1000",
        "SAY DIGITS 123 #",
        "ANSWER",
        "CHANNEL STATUS",
        "SET CONTEXT somewhere",
        "GET VARIABLE HANGUPCAUSE",
        "SET VARIABLE MARK done",
        "GET VARIABLE MARK",
        "GET FULL VARIABLE ${MARK}-${CHANNEL(language)}",
        "VERBOSE still-here 1",
        "EXEC NoOp anything",
        "EXEC Dial Local/202@sim-agents,15,U(hotline-confirm^x^202^sales)",
        "GET VARIABLE DIALSTATUS",
        "GET VARIABLE DIALEDPEERNAME",
        "HANGUP",
    ]
    script = CallerScript("sales", hangup_during=("prompt", 1))
    caller, record, server = await _run(script, "next-reply", probe)
    replies = caller.replies
    for command in [*probe[:7], "HANGUP"]:
        assert replies[command] == DEAD_REPLY, command
    assert replies["GET VARIABLE HANGUPCAUSE"] == "200 result=1 (16)"
    assert replies["SET VARIABLE MARK done"] == "200 result=1"
    assert replies["GET VARIABLE MARK"] == "200 result=1 (done)"
    assert replies["GET FULL VARIABLE ${MARK}-${CHANNEL(language)}"] == "200 result=1 (done-en)"
    assert replies["VERBOSE still-here 1"] == "200 result=1"
    assert replies["EXEC NoOp anything"] == "200 result=0"
    # EXEC Dial on a dead channel: -1 at once, CANCEL, nobody dialled (recording 08)
    assert replies[probe[13]] == "200 result=-1"
    assert replies["GET VARIABLE DIALSTATUS"] == "200 result=1 (CANCEL)"
    assert replies["GET VARIABLE DIALEDPEERNAME"] == "200 result=1 ()"
    assert record.dialed == [probe[13].removeprefix("EXEC Dial ")]
    assert record.agent_legs == []
    assert server.by_path("confirm") == []
    assert caller.conn is not None
    assert caller.conn.hangups == 1


@pytest.mark.parametrize("placement", ["next-reply", "after-reply"])
async def test_runtime_hangup_is_followed_by_the_hangup_line(placement: str) -> None:
    seen: dict[str, object] = {}

    async def flow(conn: PeerConn) -> None:
        seen["answer"] = await conn.send("ANSWER")
        seen["status"] = await conn.send("CHANNEL STATUS")
        seen["hangup"] = await conn.send("HANGUP")
        # recording 01: HANGUP follows our own HANGUP's reply unasked, whatever the placement
        seen["rest"] = await conn.finish()

    async with RawAgiServer({"hotline/sales": flow}) as server:
        pbx = SimulatedPbx("127.0.0.1", server.port, hangup_line=placement)  # type: ignore[arg-type]
        record = await pbx.place_call(CallerScript("sales"))
    server.check()
    assert seen == {
        "answer": "200 result=0",
        "status": "200 result=6",
        "hangup": "200 result=1",
        "rest": ["HANGUP"],
    }
    assert record.hung_up_by == "runtime"
    assert record.variables["AGISTATUS"] == "HANGUP"
    assert record.fallback is None


async def test_after_our_hangup_the_channel_is_dead() -> None:
    async def flow(conn: PeerConn) -> None:
        assert await conn.send("HANGUP") == "200 result=1"
        assert await conn.send("HANGUP") == DEAD_REPLY
        assert await conn.send("EXEC Hangup") == "200 result=-1"
        assert await conn.send("SET VARIABLE X 1") == "200 result=1"
        assert conn.hangups == 1

    async with RawAgiServer({"hotline/sales": flow}) as server:
        record = await SimulatedPbx("127.0.0.1", server.port).place_call(CallerScript("sales"))
    server.check()
    assert record.hung_up_by == "runtime"


async def test_fallback_is_where_the_dialplan_goes_on() -> None:
    async def flow(conn: PeerConn) -> None:
        await conn.send("ANSWER")
        await conn.send('STREAM FILE sorry-nobody ""')
        await conn.send("SET CONTEXT voicemail")
        await conn.send("SET EXTENSION 500")
        await conn.send("SET PRIORITY 1")

    async with RawAgiServer({"hotline/sales": flow}) as server:
        record = await SimulatedPbx("127.0.0.1", server.port).place_call(CallerScript("sales"))
    server.check()
    assert record.fallback == ("voicemail", "500", "1")
    assert record.outcome == "fallback"
    assert record.hung_up_by is None
    assert record.variables["AGISTATUS"] == "SUCCESS"
    assert record.played == ["sorry-nobody"]


async def test_reply_formats_for_odd_commands() -> None:
    replies: dict[str, str] = {}
    commands = [
        "FROBNICATE now",
        "ANSWER\r",
        "WAIT FOR DIGIT",
        "EXEC NoSuchApp x",
        "GET VARIABLE NOT_SET",
        "SET VARIABLE CHANNEL(language) de",
        "GET VARIABLE CHANNEL(language)",
        "GET FULL VARIABLE ${CHANNEL_EXISTS(nobody)}",
        "GET FULL VARIABLE x nonexistent-channel",
        "CHANNEL STATUS",
        "ANSWER",
        "CHANNEL STATUS",
        "WAIT FOR DIGIT 2500",
        "GET DATA beep 3000 4",
        "GET DATA beep 3000 4",
        "GET DATA beep 3000 4",
        "SAY DIGITS 5550001 #",
    ]

    async def flow(conn: PeerConn) -> None:
        for command in commands:
            replies[command + str(len(replies))] = await conn.send(command)

    async with RawAgiServer({"hotline/sales": flow}) as server:
        pbx = SimulatedPbx("127.0.0.1", server.port)
        script = CallerScript("sales", pin_entries=["12", None, "98765"])
        record = await pbx.place_call(script)
    server.check()
    got = list(replies.values())
    assert got[0] == "510 Invalid or unknown command"
    assert got[1] == "510 Invalid or unknown command"  # a CRLF line: Asterisk keeps the \r
    assert got[2].startswith("520-Invalid command syntax.  Proper usage follows:\n")
    assert got[2].endswith("\n520 End of proper usage.")
    assert got[3] == "200 result=-2"
    assert got[4] == "200 result=0"
    assert got[5] == "200 result=1"
    assert got[6] == "200 result=1 (de)"
    assert got[7] == "200 result=1 (0)"
    assert got[8] == "200 result=0"
    assert (got[9], got[11]) == ("200 result=4", "200 result=6")  # ring, then up
    assert got[12] == "200 result=0"  # the caller presses nothing
    assert got[13] == "200 result=12 (timeout)"  # no '#', fewer than max digits
    assert got[14] == "200 result= (timeout)"
    assert got[15] == "200 result=9876"  # max digits reached; the 5 is lost
    assert got[16] == "200 result=0"
    assert record.played == ["beep", "beep", "beep"]
    assert "98765" not in record.format_timeline()  # what the caller typed never shows


async def test_endless_wait_makes_the_caller_give_up() -> None:
    async def flow(conn: PeerConn) -> None:
        await conn.send("ANSWER")
        assert await conn.send("WAIT FOR DIGIT -1") == "200 result=-1"
        await conn.finish()

    async with RawAgiServer({"hotline/sales": flow}) as server:
        pbx = SimulatedPbx("127.0.0.1", server.port)
        record = await pbx.place_call(CallerScript("sales", patience=120.0))
    server.check()
    assert (record.hung_up_by, record.hangup_step) == ("caller", "wait")
    assert record.duration == 120.0
