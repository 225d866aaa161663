"""The license at runtime: refusal opens no port; a demo key expiring stops new calls only."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from hotline.cli import main
from hotline.config import settings_from_mapping
from hotline.licensing.errors import WrongInstallationError
from hotline.licensing.model import InstallationIdentity, LicenseKind
from hotline.licensing.verify import LicenseGuard
from hotline.runtime import Runtime, license_guard, serve
from hotline.sim.agents import parse_agents
from hotline.sim.caller import CallerScript
from hotline.sim.pbx import SimulatedPbx
from tests.conftest import CapturedLog
from tests.licensing.conftest import SERVER_A, SERVER_B, FakeClock, Vendor
from tests.net import free_port, port_open


def _config(tmp_path: Path, port: int, module_key: str, server_key: str) -> Path:
    path = tmp_path / "hotline.toml"
    path.write_text(
        f"""
[asterisk]
enabled = false
[agi]
port = {port}
[license]
module_key = "{module_key}"
server_key = "{server_key}"
[[hotlines]]
name = "support"
[[hotlines.targets]]
number = "201"
""",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("key_for", "module_key", "words"),
    [
        ("another-vendor", None, "signed by someone else"),
        ("damaged", None, "damaged"),
        ("server-key-pasted", SERVER_A, "server license key"),
    ],
)
def test_run_refuses_with_one_line_and_opens_no_port(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    vendor: Vendor,
    key_for: str,
    module_key: str | None,
    words: str,
) -> None:
    port = free_port()
    key = vendor.issue([InstallationIdentity.of(server_key=SERVER_B)])
    if key_for == "damaged":
        key = key[:-3] + ("A" if key[-3] != "A" else "B") + key[-2:]
    config = _config(tmp_path, port, module_key or key, SERVER_A)

    code = main(["run", "--config", str(config)])

    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0
    assert len(err) == 1, err
    assert words in err[0].lower() or words in err[0]
    assert not port_open(port)
    assert key not in err[0]


async def test_serve_refuses_a_key_for_another_server_before_opening_the_port(
    vendor: Vendor,
) -> None:
    port = free_port()
    key = vendor.issue([InstallationIdentity.of(server_key=SERVER_B)])
    settings = settings_from_mapping(
        {
            "asterisk": {"enabled": False},
            "agi": {"port": port},
            "license": {"module_key": key, "server_key": SERVER_A},
            "hotlines": [{"name": "support", "targets": [{"number": "201"}]}],
        }
    )
    with pytest.raises(WrongInstallationError) as info:
        await serve(settings, verifier=vendor.verifier())
    message = str(info.value)
    assert "\n" not in message
    assert "server:" in message  # the installation id it expected, hashed
    assert SERVER_A not in message
    assert not port_open(port)


def test_check_reports_a_key_signed_by_another_vendor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], vendor: Vendor
) -> None:
    # the embedded vendor key did not sign a test key: check refuses it as signed by another
    key = vendor.issue([InstallationIdentity.of(server_key=SERVER_A)])
    config = _config(tmp_path, free_port(), key, SERVER_A)
    assert main(["check", str(config)]) == 2
    captured = capsys.readouterr()
    assert "license: INVALID" in captured.out
    assert "signed" in captured.err


def test_license_guard_accepts_a_key_for_this_server(vendor: Vendor) -> None:
    key = vendor.issue([InstallationIdentity.of(server_key=SERVER_A)], kind=LicenseKind.NFR)
    settings = settings_from_mapping(
        {
            "asterisk": {"enabled": False},
            "license": {"module_key": key, "server_key": SERVER_A},
            "hotlines": [{"name": "support", "targets": [{"number": "201"}]}],
        }
    )
    guard = license_guard(settings, verifier=vendor.verifier())
    assert guard.allows_new_calls()
    assert guard.license.kind is LicenseKind.NFR


async def test_demo_key_expiring_while_running_refuses_new_calls_only(
    vendor: Vendor, captured_log: CapturedLog
) -> None:
    clock = FakeClock(date(2026, 3, 10))
    key = vendor.issue(
        [InstallationIdentity.of(server_key=SERVER_A)],
        kind=LicenseKind.DEMO,
        expires=date(2026, 3, 10),
    )
    lic = vendor.verifier().verify(key, InstallationIdentity.of(server_key=SERVER_A))
    guard = LicenseGuard(lic, clock=clock)
    settings = settings_from_mapping(
        {"hotlines": [{"name": "support", "targets": [{"number": "201"}]}]}
    )
    runtime = Runtime(settings, host="127.0.0.1", port=0, call_gate=guard.allows_new_calls)
    async with runtime:
        pbx = SimulatedPbx("127.0.0.1", runtime.port, parse_agents("201=accept"), confirm_args=4)
        served = await pbx.place_call(CallerScript(hotline="support"))
        clock.today += timedelta(days=1)
        refused = await pbx.place_call(CallerScript(hotline="support"))

    assert served.bridged_to == "201"
    assert refused.commands == []  # not even answered: the dialplan's fallback runs
    assert len(captured_log.named("license_expired")) == 1
    (refusal,) = captured_log.named("call_refused")
    assert refusal["reason"] == "license"
