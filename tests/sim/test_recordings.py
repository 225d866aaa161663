"""Replay real Asterisk 22 recordings against the simulator, byte for byte.

Each recorded run (``recordings/``: tests/sim/recordings/README.md)
is replayed: a test script sends exactly the commands the recorder sent, on
both the caller leg and the confirm leg, to a simulator configured like the
lab (``lab-extensions.conf``: the same agents, prompt lengths and confirm
subroutine).  Every line the simulator sends — replies and the out-of-band
``HANGUP`` line, in the same place — must equal what Asterisk sent.  Only
values that depend on wall-clock history are normalised: Local channel
sequence numbers, uniqueids, and DIALEDTIME/ANSWEREDTIME seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hotline.sim.agents import AgentBehaviour
from hotline.sim.caller import CallerScript
from hotline.sim.pbx import SimulatedPbx
from tests.sim.rawagi import PeerConn, RawAgiServer

HERE = Path(__file__).parent / "recordings"

#: the lab's agents (lab-extensions.conf [sim-agents]), timings from the .log files
LAB_AGENTS = {
    "200": AgentBehaviour("no-answer"),
    "201": AgentBehaviour("accept", answer_after=0.0, press_after=2.2, talk_seconds=30.0),
    "202": AgentBehaviour("voicemail", answer_after=0.0, patience=30.0),
    "203": AgentBehaviour("busy"),
    "204": AgentBehaviour("hangup", answer_after=0.0, hangup_after=1.0),
    "205": AgentBehaviour("decline", answer_after=0.0, press_after=2.2),
}
#: prompt lengths that give the recorded endpos values (samples / 8000)
LAB_PROMPTS = {"demo-congrats": 242214 / 8000, "beep": 3404 / 8000}

Steps = list[tuple[str, list[str]]]


@dataclass(frozen=True)
class RecordedLeg:
    header: bytes
    steps: Steps


def load_leg(raw_path: Path) -> RecordedLeg:
    """The header (from ``.rx``) and each command with the lines Asterisk sent after it."""
    rx = raw_path.with_suffix(".rx").read_bytes()
    header = rx[: rx.index(b"\n\n") + 2]
    steps: Steps = []
    in_header = True
    for marked in raw_path.read_text().splitlines():
        direction, text = marked[:4], marked[4:]
        if in_header:
            in_header = not (direction == "<<< " and text == "")
        elif direction == ">>> ":
            steps.append((text, []))
        else:
            steps[-1][1].append(text)
    return RecordedLeg(header, steps)


def transcript_steps(conn: PeerConn) -> Steps:
    steps: Steps = []
    for entry in conn.transcript:
        if entry.startswith(">>> "):
            steps.append((entry[4:], []))
        else:
            steps[-1][1].append(entry[4:])
    return steps


_SEQUENCE = re.compile(r"-[0-9a-f]{8};")
_UNIQUEID = re.compile(r"\b1795\d{6}\.\d+\b")
_SECONDS = re.compile(r"^200 result=1 \(\d+\)$")


def normalise(steps: Steps) -> Steps:
    out: Steps = []
    for command, lines in steps:
        fixed = [_UNIQUEID.sub("UID", _SEQUENCE.sub("-N;", line)) for line in lines]
        if command in ("GET VARIABLE DIALEDTIME", "GET VARIABLE ANSWEREDTIME"):
            fixed = ["200 result=1 (<seconds>)" if _SECONDS.match(x) else x for x in fixed]
        out.append((_UNIQUEID.sub("UID", command), fixed))
    return out


_THREAD = re.compile(r"^agi_threadid: \d+$", re.MULTILINE)


def normalise_header(header: bytes, port: int) -> bytes:
    """Header with the port, ids and the (per-thread) agi_threadid made comparable."""
    text = header.decode().replace(f":{port}/", ":4573/")
    text = _THREAD.sub("agi_threadid: T", text)
    # run 11's quiet caller is the lab extension "quiet" instead of "s"; same call otherwise
    text = text.replace("Local/quiet@sim-caller", "Local/s@sim-caller")
    return _UNIQUEID.sub("UID", _SEQUENCE.sub("-N;", text)).encode()


@dataclass(frozen=True)
class Run:
    prefix: str
    pin_entries: tuple[str | None, ...] = ("1234#",)
    hangup_during: tuple[str, int] | None = None
    hangup_after: float | None = None
    variables: dict[str, str] = field(default_factory=dict)
    #: how many ${ARGn} the lab's confirm AGI passed at the time of the run
    confirm_args: int = 2


RUNS = [
    Run("01_", confirm_args=1),
    Run("02_"),
    Run("03_", confirm_args=1),
    Run("04_"),
    Run("05_", confirm_args=1),
    Run("06_", confirm_args=1),
    Run("07_", hangup_during=("bridge", 1), hangup_after=8.0),
    Run("08_", hangup_during=("prompt", 1), hangup_after=38560 / 8000),
    Run("09_", hangup_during=("ringing", 1), hangup_after=1.6),
    Run("10_", hangup_during=("confirm", 1), hangup_after=1.0),
    Run("11_", pin_entries=(None,)),
    Run("12_", hangup_during=("pin", 1), hangup_after=1.58),
    Run("13_", hangup_during=("bridge", 1), variables={"AGIEXECFULL": "yes"}),
    Run("14_"),
]


def _legs(prefix: str) -> tuple[RecordedLeg, RecordedLeg | None]:
    caller = confirm = None
    for raw in sorted(HERE.glob(f"{prefix}*.raw")):
        leg = load_leg(raw)
        if b"agi_network_script: confirm\n" in leg.header:
            confirm = leg
        else:
            caller = leg
    assert caller is not None
    return caller, confirm


def _script_for(recorded: RecordedLeg, run: Run) -> CallerScript:
    env = dict(
        line.split(": ", 1) for line in recorded.header.decode().splitlines() if ": " in line
    )
    args = [env[f"agi_arg_{n}"] for n in range(1, 10) if f"agi_arg_{n}" in env]
    return CallerScript(
        "",
        agi_path=env["agi_network_script"],
        callerid=env["agi_callerid"],
        calleridname=env["agi_calleridname"],
        extension=env["agi_extension"],
        args=args,
        pin_entries=run.pin_entries,
        hangup_during=run.hangup_during,
        hangup_after=run.hangup_after,
        variables=run.variables,
    )


async def _replay(run: Run) -> None:
    caller_rec, confirm_rec = _legs(run.prefix)

    async def replay_caller(conn: PeerConn) -> None:
        for command, _ in caller_rec.steps:
            await conn.send(command)
        await conn.finish()

    async def replay_confirm(conn: PeerConn) -> None:
        assert confirm_rec is not None, "the simulator opened a confirm leg the run did not have"
        for command, _ in confirm_rec.steps:
            await conn.send(command)
        await conn.finish()

    async with RawAgiServer({"hotline": replay_caller, "confirm": replay_confirm}) as server:
        pbx = SimulatedPbx(
            "127.0.0.1",
            server.port,
            LAB_AGENTS,
            prompt_seconds=lambda name: LAB_PROMPTS[name],
            hangup_line="next-reply",
            subroutine="lab",
            confirm_args=run.confirm_args,
        )
        record = await pbx.place_call(_script_for(caller_rec, run))
    server.check()
    (caller,) = server.by_path("hotline")
    assert normalise_header(caller.header, server.port) == normalise_header(caller_rec.header, 0)
    assert normalise(transcript_steps(caller)) == normalise(caller_rec.steps)
    confirms = server.by_path("confirm")
    assert len(confirms) == (1 if confirm_rec else 0)
    if confirm_rec is not None:
        (confirm,) = confirms
        assert normalise_header(confirm.header, server.port) == normalise_header(
            confirm_rec.header, 0
        )
        assert normalise(transcript_steps(confirm)) == normalise(confirm_rec.steps)
    assert record.commands == [command for command, _ in caller_rec.steps]


@pytest.mark.parametrize("run", RUNS, ids=lambda run: run.prefix.rstrip("_"))
async def test_replaying_a_recorded_run_gives_the_recorded_bytes(run: Run) -> None:
    await _replay(run)


async def test_first_call_header_is_byte_identical_to_recording_01() -> None:
    caller_rec, _ = _legs("01_")
    seen: list[bytes] = []

    async def hang_up_at_once(conn: PeerConn) -> None:
        seen.append(conn.header)

    async with RawAgiServer({"hotline": hang_up_at_once}) as server:
        pbx = SimulatedPbx("127.0.0.1", server.port)
        await pbx.place_call(_script_for(caller_rec, RUNS[0]))
    server.check()
    expected = caller_rec.header.replace(b":4573/", f":{server.port}/".encode())
    assert seen == [expected]


async def test_agiexecfull_expands_uniqueid_into_the_confirm_arguments() -> None:
    caller_rec, _ = _legs("13_")
    headers: dict[str, dict[str, str]] = {}

    async def caller(conn: PeerConn) -> None:
        headers["caller"] = conn.env
        await conn.send("EXEC Dial Local/201@sim-agents,15,U(hotline-confirm^${UNIQUEID})")

    async def confirm(conn: PeerConn) -> None:
        headers["confirm"] = conn.env

    async with RawAgiServer({"hotline": caller, "confirm": confirm}) as server:
        pbx = SimulatedPbx("127.0.0.1", server.port, LAB_AGENTS, subroutine="lab")
        await pbx.place_call(_script_for(caller_rec, RUNS[12]))
    server.check()
    assert headers["confirm"]["agi_arg_1"] == headers["caller"]["agi_uniqueid"]
