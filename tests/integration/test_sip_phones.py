"""The confirm with SIP phones on a real Asterisk: PJSIP, SIPp phones, RFC 2833 DTMF.

The same two cases as test_confirm.py, with phones instead of Local channels:
the caller is SIPp as softphone account 1000 (digest auth) calling hotline 101,
the agent is SIPp as account 6001, dialled as ``PJSIP/6001/sip:…`` (PJSIP), and
presses 1 as RFC 2833 (RFC 4733) telephone-events (the ``dtmf_2833_1.pcap``
that Debian's sip-tester ships).  Both phones and all media stay on 127.0.0.1
(the lab's ``local_net`` covers it, so Asterisk's SDP names 127.0.0.1).
Skipped where SIPp or chan_pjsip is missing.
"""

# Every wait here has its own bound.

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.integration.conftest import Lab, targets_of
from tests.integration.harness import bridged_agent, hotline_toml, write_config
from tests.integration.test_phones import accounts
from tests.net import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

SCENARIOS = Path(__file__).parent / "sipp"
#: Debian's sip-tester ships the RFC 2833 key presses the agent scenario plays
DTMF_PCAP = Path("/usr/share/sip-tester/dtmf_2833_1.pcap")


def _sipp() -> str:
    sipp = shutil.which("sipp")
    if sipp is None or not DTMF_PCAP.exists():
        pytest.skip("SIPp (Debian's sip-tester) is not installed: SIP phone calls not checked")
    return sipp


def _pjsip(lab: Lab) -> None:
    if "chan_pjsip.so" not in lab.pbx.cli("module show like chan_pjsip.so"):
        pytest.skip("chan_pjsip is not loaded on this Asterisk: SIP phone calls not checked")


def hotline_6001(tmp: Path, phone_port: int, *, announce: bool) -> Path:
    """Hotline 101 ("billing", no PIN) with the SIP phone 6001 as its only target."""
    toml = hotline_toml(
        "billing",
        "101",
        [{"number": "6001", "label": "softphone"}],
        confirm={"timeout": 10.0, "replays": 0, "announce_caller": announce},
        dial=f"PJSIP/{{number}}/sip:{{number}}@127.0.0.1:{phone_port}",
        ring_time=10,
    )
    # an unregistered endpoint's device state is UNAVAILABLE: dial it all the same
    toml += "[hotlines.hunt.skip]\nunavailable = false\n"
    return write_config(tmp / "hotline.toml", toml)


@asynccontextmanager
async def sipp(
    lab: Lab,
    scenario: str,
    service: str,
    user: str,
    *options: str,
    port: int | None = None,
) -> AsyncIterator[asyncio.subprocess.Process]:
    """One SIPp phone on 127.0.0.1 running ``scenario`` once; killed if still running."""
    process = await asyncio.create_subprocess_exec(
        *(_sipp(), f"127.0.0.1:{lab.pbx.sip_port}", "-sf", str(SCENARIOS / scenario)),
        *("-s", service, "-au", user, "-ap", accounts()[user]),
        *("-i", "127.0.0.1", "-p", str(port or free_port()), "-mi", "127.0.0.1"),
        *("-mp", str(free_port()), "-aa", "-nostdin"),
        *("-timeout", "60s", "-timeout_error", "-trace_err"),
        *options,
        cwd=lab.tmp,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@asynccontextmanager
async def agent_phone(lab: Lab, port: int, press_after_ms: int) -> AsyncIterator[None]:
    """Agent 6001's phone on 127.0.0.1:``port``; it presses 1 once answered.

    Not registered: the hotline dials it by URI (``PJSIP/6001/sip:6001@127.0.0.1:port``),
    as Asterisk's rewrite_contact would otherwise bind the registration to the port
    the REGISTER came from, and a SIPp scenario cannot both register and take a call.
    """
    options = ("-d", str(press_after_ms))
    async with sipp(lab, "agent_uas.xml", "6001", "6001", *options, port=port) as phone:
        yield
        assert phone.returncode is None  # the phone was there throughout


async def test_sip_caller_leaving_during_the_confirm_is_never_bridged(lab: Lab) -> None:
    _pjsip(lab)
    port = free_port()
    await lab.start_runtime(hotline_6001(lab.tmp, port, announce=False))
    # the agent would press 1 nine seconds after answering; the caller hangs up ~6 s after
    # the runtime answered (intro and "please hold" take ~3.4 s): during "press 1"
    caller_phone = sipp(lab, "caller_uac.xml", "101", "1000", "-m", "1", "-d", "6000")
    async with agent_phone(lab, port, 9000), caller_phone as caller:
        await lab.log.event("confirm_caller_gone", 40)
        summary = await lab.summary(10)
        assert await asyncio.wait_for(caller.wait(), 30) == 0
    assert not lab.log.named("confirm_accepted")
    assert not [m for m in lab.events.received if bridged_agent("6001")(m)]
    assert (summary["outcome"], summary["step"]) == ("abandoned", "confirm")
    assert targets_of(summary) == [("6001", "caller_gone")]
    assert lab.log.named("caller_hangup_seen")


async def test_sip_agent_pressing_1_during_the_caller_number_is_connected(lab: Lab) -> None:
    _pjsip(lab)
    port = free_port()
    await lab.start_runtime(hotline_6001(lab.tmp, port, announce=True))
    # "1" two seconds after answering, while "a call from 1 0 0 0" is read
    caller_phone = sipp(lab, "caller_uac.xml", "101", "1000", "-m", "1", "-d", "12000")
    async with agent_phone(lab, port, 2000), caller_phone as caller:
        summary = await lab.summary(40)
        assert await asyncio.wait_for(caller.wait(), 30) == 0
    assert summary["outcome"] == "connected"
    assert targets_of(summary) == [("6001", "confirmed")]
    (accepted,) = lab.log.named("confirm_accepted")
    assert "confirm_call" not in accepted["during"], accepted
    assert accepted["during"] != "waiting", accepted
