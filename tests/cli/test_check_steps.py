"""``hotline check`` shows the hunt (strategy, skip rules, steps); ``--live`` finds its context."""

from __future__ import annotations

import io
from pathlib import Path

from hotline.check import run_check
from hotline.cli import report
from hotline.config import settings_from_mapping
from hotline.errors import HotlineError
from hotline.sim.ami_server import AmiServer
from tests.ami.stack import config_data
from tests.net import free_port

HUNT = {
    "strategy": "round_robin",
    "wrap_up": 20,
    "skip": {"ringing": True},
    "steps": [{"targets": ["201"]}, {"targets": ["202", "203"], "ring_time": 25}],
}


def check(ami: AmiServer, tmp_path: Path, *, live: bool) -> tuple[int, str, str]:
    data = config_data(ami, free_port(), hunt=HUNT)
    data["hotlines"][0]["targets"][2]["delay"] = 5
    settings = settings_from_mapping(data)
    out, err = io.StringIO(), io.StringIO()
    try:
        code = run_check(tmp_path / "hotline.toml", settings, live=live, out=out)
    except HotlineError as exc:
        code = report(exc, err)
    return code, out.getvalue(), err.getvalue()


def test_check_shows_strategy_skip_rules_and_steps(ami: AmiServer, tmp_path: Path) -> None:
    code, out, err = check(ami, tmp_path, live=False)
    assert code == 0, err
    (line,) = [line for line in out.splitlines() if line.startswith("  support ")]
    assert "203 15s after 5s" in line
    assert (
        "strategy round_robin, skip unavailable, busy, ringing, on_hotline_call, wrap_up, "
        "wrap-up 20s, steps 201 | 202+203 25s" in line
    )


def test_check_live_finds_the_step_context(ami: AmiServer, tmp_path: Path) -> None:
    code, out, err = check(ami, tmp_path, live=True)
    assert code == 0, err
    assert "asterisk: startup checks passed" in out


def test_check_live_without_the_step_context_is_one_line(ami: AmiServer, tmp_path: Path) -> None:
    del ami.state.dialplan["hotline-step"]
    code, _out, err = check(ami, tmp_path, live=True)
    assert code == 2
    (line,) = err.splitlines()
    assert line.startswith(
        "asterisk: dialplan context [hotline-step] is missing, and hotline(s) support ring "
        "steps of several targets through it: add to extensions.conf, then 'dialplan reload': "
        "[hotline-step] | exten => _X!,1,Set(LEG=${HOTLINE_LEG_${EXTEN}})"
    ), line


def test_check_live_warns_when_ami_cannot_list_device_states(
    ami: AmiServer, tmp_path: Path
) -> None:
    ami.state.modules.discard("res_manager_devicestate")
    data = config_data(ami, free_port())
    data["hotlines"][0]["targets"][0]["device"] = "PJSIP/201"
    out, err = io.StringIO(), io.StringIO()
    try:
        code = run_check(tmp_path / "hotline.toml", settings_from_mapping(data), live=True, out=out)
    except HotlineError as exc:
        code = report(exc, err)
    assert code == 0, err.getvalue()
    assert (
        "warning: Asterisk module res_manager_devicestate.so is not loaded, so AMI cannot list "
        "device states: hotline(s) support will skip nobody for a busy or unregistered phone"
    ) in out.getvalue()
