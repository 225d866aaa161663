"""The shipped softphone accounts (pjsip.conf) on a real Asterisk: a phone can register."""

from __future__ import annotations

import re

import pytest

from hotline.ami.messages import header_value
from tests.integration.conftest import Lab, phone_side, targets_of
from tests.integration.harness import bridged_agent, hotline_toml, write_config
from tests.integration.pbx import EXTERNAL_ADDRESS, SHIPPED_ETC
from tests.integration.sip import register

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def accounts() -> dict[str, str]:
    """user -> password of every ``[N](login)`` auth section in the shipped pjsip.conf."""
    text = (SHIPPED_ETC / "pjsip.conf").read_text(encoding="utf-8")
    found = re.findall(
        r"^\[(\w+)\]\(login\)\s*\nusername = (\w+)\s*\npassword = (\S+)", text, re.MULTILINE
    )
    assert found, "no softphone accounts in pjsip.conf"
    return {user: password for _section, user, password in found}


async def test_every_softphone_account_registers(lab: Lab) -> None:
    if "res_pjsip.so" not in lab.pbx.cli("module show like res_pjsip.so"):
        pytest.skip("res_pjsip is not loaded on this Asterisk: softphone accounts not checked")
    users = accounts()
    assert set(users) == {"1000", "6001", "6002"}
    for user, password in users.items():
        assert await register(lab.pbx.sip_port, user, password) == 200, user
        assert user in lab.pbx.cli(f"pjsip show contacts like {user}")
        # sign off again: a contact left behind would make later calls ring a dead port
        assert await register(lab.pbx.sip_port, user, password, expires=0) == 200, user
    assert await register(lab.pbx.sip_port, "1000", "not-the-password") in (401, 403)


async def test_unregistered_agent_phone_is_skipped_at_once(lab: Lab) -> None:
    """A phone target (reached through [sim-agents] -> [agents]) that is not registered."""
    if "chan_pjsip.so" not in lab.pbx.cli("module show like chan_pjsip.so"):
        pytest.skip("chan_pjsip is not loaded on this Asterisk: phone targets not checked")
    targets = [{"number": "6001", "label": "softphone"}, {"number": "201", "label": "Ben"}]
    config = write_config(
        lab.tmp / "hotline.toml",
        hotline_toml("billing", "101", targets, dial="Local/{number}@sim-agents", ring_time=10),
    )
    await lab.start_runtime(config)
    call = await lab.hotline_call(config, "billing", "--expect", "connected")
    bridged = await lab.events.wait_for(bridged_agent("201"), 40, "bridge with 201")
    await lab.hang_up(phone_side(header_value(bridged, "Channel")))

    assert await call.finished(20) == (0, "connected"), call.output
    summary = await lab.summary(5)
    assert targets_of(summary) == [("6001", "congestion"), ("201", "confirmed")]
    assert summary["targets"][0]["seconds"] < 2


def test_transports_announce_the_external_address(lab: Lab) -> None:
    """SIP_EXTERNAL_ADDRESS (via the container's sip-external.sh) reaches both transports."""
    if "res_pjsip.so" not in lab.pbx.cli("module show like res_pjsip.so"):
        pytest.skip("res_pjsip is not loaded on this Asterisk: SIP transports not checked")
    for transport in ("transport-udp", "transport-tcp"):
        shown = lab.pbx.cli(f"pjsip show transport {transport}")
        settings = dict(line.split(":", 1) for line in shown.splitlines() if line.count(":") >= 1)
        values = {k.strip(): v.strip() for k, v in settings.items()}
        assert values["external_media_address"] == EXTERNAL_ADDRESS, shown
        assert values["external_signaling_address"] == EXTERNAL_ADDRESS, shown
