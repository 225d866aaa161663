"""``hotline call`` against the simulator: Originate -> simulated call -> outcome from events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hotline.sim.agents import parse_agents
from hotline.sim.ami_server import AmiServer
from hotline.sim.events import newchannel
from hotline.sim.originate import OriginateOutcome, OriginateRequest
from tests.ami.stack import Installation, config_data, write_config
from tests.cli.conftest import Background, cli
from tests.net import free_port


def _config(inst: Installation, path: Path, **support: Any) -> str:
    data = inst.extra["data"]
    data["hotlines"][0].update(support)
    return str(write_config(path, data))


def _agents(background: Background, inst: Installation, spec: str) -> None:
    async def change() -> None:
        inst.pbx.agents = parse_agents(spec)

    background.run(change())


def test_connected_call_reports_every_target_and_exits_0(
    installation: Installation, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(installation, config_path)
    code = cli(["call", "support", "--config", config, "--pin", "4711", "--expect", "connected"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == "calling hotline support at 100@hotline-in from Local/s@sim-caller"
    assert lines[1].startswith("call 1795305542.0 on Local/s@sim-caller-")
    assert lines[2].startswith(
        '  1. 201 "Anna" via Local/201@sim-agents: no answer (NOANSWER), after '
    )
    assert "hangup cause 0 (Unknown)" in lines[2]  # recording 02: 0 on both halves
    assert lines[3].startswith(
        "  2. 202 via Local/202@sim-agents: answered, did not confirm (CONTINUE)"
    )
    assert "hangup cause 16 (Normal Clearing)" in lines[3]
    assert lines[4].startswith("  3. 203 via Local/203@sim-agents: answered and confirmed")
    assert lines[-1].startswith("outcome: connected - 203 took the call, talked ")
    assert "4711" not in out
    # the simulator really ran the call the Originate asked for
    (record,) = installation.originator.records
    assert record.bridged_to == "203"
    assert installation.ami.count("Originate") == 1
    (originate,) = [h for _sid, h in installation.ami.received if ("Action", "Originate") in h]
    assert ("Variable", "PIN=4711") in originate
    assert ("Context", "hotline-in") in originate
    assert ("Exten", "100") in originate


def test_wrong_pin_is_pin_failed(
    installation: Installation, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(installation, config_path)
    code = cli(["call", "support", "--config", config, "--pin", "1111", "--expect", "pin_failed"])
    out, _err = capsys.readouterr()
    assert code == 0, out
    assert "  no target was dialled" in out
    assert out.splitlines()[-1].startswith(
        "outcome: pin_failed - the hotline hung up before dialling anyone"
    )


def test_nobody_available(
    background: Background,
    installation: Installation,
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _agents(background, installation, "201=busy,202=no-answer,203=decline")
    config = _config(installation, config_path)
    code = cli(
        ["call", "support", "--config", config, "--pin", "4711", "--expect", "nobody_available"]
    )
    out, _err = capsys.readouterr()
    assert code == 0, out
    assert "(BUSY)" in out
    assert "hangup cause 17 (User busy)" in out
    assert (
        out.splitlines()[-1]
        == "outcome: nobody_available - none of the 3 targets tried took the call"
    )


def test_caller_hanging_up_while_a_target_rings_is_abandoned(
    background: Background,
    installation: Installation,
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _agents(background, installation, "201=no-answer,202=no-answer,203=accept")
    config = _config(installation, config_path)
    args = ["call", "support", "--config", config, "--pin", "4711"]
    code = cli([*args, "--var", "SIM_HANGUP=ringing:2", "--expect", "abandoned"])
    out, _err = capsys.readouterr()
    assert code == 0, out
    assert "(CANCEL)" in out
    assert out.splitlines()[-1] == (
        "outcome: abandoned - the caller hung up while 202 was being tried"
    )


def test_unexpected_outcome_exits_4_with_one_line(
    installation: Installation, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(installation, config_path)
    code = cli(
        ["call", "support", "--config", config, "--pin", "4711", "--expect", "nobody_available"]
    )
    out, err = capsys.readouterr()
    assert code == 4
    assert "outcome: connected" in out  # the outcome is still printed
    assert err.splitlines() == ["hotline: expected outcome nobody_available, got connected"]


def test_originate_the_pbx_refuses_exits_non_zero(
    installation: Installation, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(installation, config_path)
    code = cli(["call", "support", "--config", config, "--channel", "Local/s@no-such-context"])
    _out, err = capsys.readouterr()
    assert code == 1
    assert err.splitlines() == [
        "hotline: test call into 100@hotline-in not placed: call to Local/s@no-such-context not "
        "placed: no such extension or context, or the channel could not be created (reason 0)"
    ]
    assert installation.originator.records == []


def test_hotline_missing_from_the_dialplan_exits_non_zero(
    installation: Installation, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(installation, config_path, context="no-such-context")
    code = cli(["call", "support", "--config", config])
    _out, err = capsys.readouterr()
    assert code == 1
    assert err.splitlines() == [
        "hotline: hotline 'support' is not reachable on the PBX: Did not find context "
        "no-such-context; add 100@no-such-context to the dialplan or fix hotlines.context/extension"
    ]
    assert installation.ami.count("Originate") == 0


def test_wrong_credentials_one_line(
    installation: Installation, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = installation.extra["data"]
    data["asterisk"]["secret"] = "wrong"
    config = str(write_config(config_path, data))
    code = cli(["call", "support", "--config", config])
    _out, err = capsys.readouterr()
    assert code == 3
    (line,) = err.splitlines()
    assert line.startswith("hotline: AMI login as 'hotline' at 127.0.0.1:")
    assert installation.ami.count("Originate") == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "hotline: no hotline named 'nope' in the configuration; configured: support"),
        (["support", "--pin", "12a"], "hotline: --pin: use the digits 0-9 (and *) the caller"),
        (["support", "--caller-id", "Bob"], "hotline: --caller-id: use a plain number"),
        (["support", "--var", "X"], "hotline: --var X: use NAME=VALUE"),
    ],
)
def test_bad_options_are_one_line(
    installation: Installation,
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    config = _config(installation, config_path)
    code = cli(["call", *args, "--config", config])
    err = capsys.readouterr().err
    assert code == 2
    (line,) = err.splitlines()
    assert line.startswith(message)
    assert installation.ami.count("Originate") == 0


def test_no_outcome_in_time_hangs_the_call_up_and_exits_1(
    ami: AmiServer, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def answered_but_never_ends(request: OriginateRequest) -> OriginateOutcome:
        one, two = ami.new_local_pair("s", "sim-caller")
        await ami.emit(newchannel(one))
        await ami.emit(newchannel(two))
        return OriginateOutcome(reason=4, channel=one.name, uniqueid=one.uniqueid)

    ami.originate_handler = answered_but_never_ends
    config = str(write_config(config_path, config_data(ami, free_port())))
    code = cli(["call", "support", "--config", config, "--timeout", "0.3"])
    err = capsys.readouterr().err
    assert code == 1
    (line,) = err.splitlines()
    assert line.startswith("hotline: no outcome within 0.3 s: call ")
    assert "was still up (Local/s@sim-caller-00000000;1, Local/s@sim-caller-00000000;2)" in line
    assert ami.count("Hangup", Channel="Local/s@sim-caller-00000000;1") == 1
