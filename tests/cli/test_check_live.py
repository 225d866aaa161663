"""``hotline check --live`` and ``hotline run`` against the simulated AMI."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from hotline.check import run_check
from hotline.cli import report
from hotline.config import Settings, load_settings
from hotline.errors import HotlineError
from hotline.licensing.verify import LicenseVerifier
from hotline.sim.ami_server import AmiServer
from tests.ami.stack import ENTITY_ID, Vendor, config_data, write_config
from tests.cli.conftest import cli
from tests.net import free_port, port_open


def _check(
    path: Path,
    settings: Settings,
    *,
    live: bool,
    out: io.StringIO,
    err: io.StringIO,
    verifier: LicenseVerifier,
) -> int:
    """``run_check``, its problems printed to ``err`` as ``hotline.cli.main`` prints them."""
    try:
        return run_check(path, settings, live=live, out=out, verifier=verifier)
    except HotlineError as exc:
        return report(exc, err)


def test_check_live_prints_version_and_entity_id(
    ami: AmiServer, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(config_path, config_data(ami, free_port()))
    code = cli(["check", "--live", "--config", str(config_path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err == ""
    assert f"asterisk: Asterisk 22.10.1 at 127.0.0.1:{ami.port}" in out
    assert f"asterisk: Entity ID {ENTITY_ID}" in out
    assert (
        "asterisk: server license key: not set on the PBX (global variable HOTLINE_SERVER_KEY)"
        in (out)
    )
    assert "asterisk: startup checks passed" in out
    assert "hotline-secret" not in out


def test_check_live_checks_the_license_against_the_pbx_identity(
    ami: AmiServer, config_path: Path
) -> None:
    vendor = Vendor.new()
    data = config_data(ami, free_port(), module_key=vendor.key_for(entity_id=ENTITY_ID))
    settings = load_settings(write_config(config_path, data), environ={})
    out, err = io.StringIO(), io.StringIO()
    code = _check(config_path, settings, live=False, out=out, err=err, verifier=vendor.verifier)
    assert code == 0
    assert "license: not checked offline" in out.getvalue()  # no server_key: needs the PBX

    out, err = io.StringIO(), io.StringIO()
    code = _check(config_path, settings, live=True, out=out, err=err, verifier=vendor.verifier)
    assert code == 0, err.getvalue()
    assert "license: licensed to an unnamed licensee, kind full" in out.getvalue()

    other = Vendor.new().key_for(entity_id="02:fc:00:00:00:99")
    data = config_data(ami, free_port(), module_key=other)
    settings = load_settings(write_config(config_path, data), environ={})
    err = io.StringIO()
    code = _check(
        config_path, settings, live=True, out=io.StringIO(), err=err, verifier=vendor.verifier
    )
    assert code == 2
    assert err.getvalue().startswith("license: module key is")


@pytest.mark.parametrize(
    ("change", "line_start"),
    [
        ("wrong-secret", "asterisk: AMI login as 'hotline' at 127.0.0.1:"),
        ("no-moh", "asterisk: music-on-hold class 'default' (used by hotline 'support')"),
        ("no-agi", "asterisk: Asterisk module res_agi.so is not loaded"),
    ],
)
def test_check_live_problem_is_one_line(
    ami: AmiServer,
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: str,
    line_start: str,
) -> None:
    data = config_data(ami, free_port())
    if change == "wrong-secret":
        data["asterisk"]["secret"] = "nope"
    elif change == "no-moh":
        ami.state.moh_classes = {"jazz": "files"}
    else:
        ami.state.modules.discard("res_agi")
    write_config(config_path, data)
    code = cli(["check", "--live", "--config", str(config_path)])
    _out, err = capsys.readouterr()
    assert code == 2
    (line,) = err.splitlines()
    assert line.startswith(line_start), line


def test_check_live_unreachable(
    ami: AmiServer, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = config_data(ami, free_port())
    data["asterisk"]["port"] = free_port()
    write_config(config_path, data)
    assert cli(["check", "--live", "--config", str(config_path)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("asterisk: Asterisk AMI at 127.0.0.1:")
    assert "is not reachable" in line


def test_run_with_wrong_credentials_prints_one_line_and_opens_no_port(
    ami: AmiServer, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    agi_port = free_port()
    data = config_data(ami, agi_port)
    data["asterisk"]["secret"] = "wrong-secret"
    write_config(config_path, data)
    code = cli(["run", "--config", str(config_path)])
    err = capsys.readouterr().err
    assert code == 3
    (line,) = err.splitlines()
    assert line == (
        f"hotline: AMI login as 'hotline' at 127.0.0.1:{ami.port} refused (Authentication "
        "failed): check the AMI username and secret, and the user's permit= lines in manager.conf"
    )
    assert not port_open(agi_port)


def test_run_with_a_failed_startup_check_prints_its_line_and_opens_no_port(
    ami: AmiServer, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    agi_port = free_port()
    del ami.state.dialplan["hotline-confirm"]
    write_config(config_path, config_data(ami, agi_port))
    code = cli(["run", "--config", str(config_path)])
    err = capsys.readouterr().err
    assert code == 2
    (line,) = err.splitlines()
    assert line.startswith(
        "dialplan context [hotline-confirm] (the agent confirm subroutine) is missing: add to "
        "extensions.conf, then 'dialplan reload': [hotline-confirm] | "
    )
    assert not port_open(agi_port)


def test_run_without_an_ami_secret_is_a_config_error(
    ami: AmiServer, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = config_data(ami, free_port())
    del data["asterisk"]["secret"]
    write_config(config_path, data)
    assert cli(["run", "--config", str(config_path)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("asterisk.secret: is not set")
    assert ami.count("Login") == 0
