"""HangupFeed over a real AMI socket: a caller's HangupRequest marks the call's caller gone
and stops the agent's prompt (tests/ami/recordings/20_*.raw, 21_*.raw)."""

from __future__ import annotations

import asyncio

from hotline.ami.client import AmiClient
from hotline.ami.hangups import HANGUP_EVENT_NAMES, HangupFeed
from hotline.ami.messages import AmiMessage, header_value
from hotline.flow.presence import CallerPresence
from hotline.sim.ami_server import AmiServer
from tests.ami.conftest import ClientFactory
from tests.conftest import CapturedLog

CALLER = "1796103567.0"
AGENT = "PJSIP/6001-00000001"


def _request(event: str, uniqueid: str, channel: str) -> dict[str, str]:
    """The headers the feed reads, as Asterisk 22 sends them (recording 20)."""
    return {
        "Event": event,
        "Privilege": "call,all",
        "Channel": channel,
        "Uniqueid": uniqueid,
        "Cause": "16",
    }


def _arrival(client: AmiClient) -> asyncio.Event:
    """Set once the caller's request has reached the client (after the feed saw it)."""
    arrived = asyncio.Event()

    def seen(message: AmiMessage) -> None:
        if header_value(message, "Uniqueid") == CALLER:
            arrived.set()

    client.on_event(HANGUP_EVENT_NAMES, seen)
    return arrived


async def test_a_watched_callers_hangup_request_stops_the_agents_prompt(
    sim: AmiServer, make_client: ClientFactory, captured_log: CapturedLog
) -> None:
    client = make_client()
    await client.start()
    presence = CallerPresence()
    feed = HangupFeed(presence, client)
    feed.attach()
    arrived = _arrival(client)
    try:
        with presence.watching(CALLER), presence.watching(CALLER, AGENT):
            # someone else's channel, and a call with no leg here: nothing happens
            await sim.emit(_request("HangupRequest", "1796103567.9", "Local/x;1"))
            await sim.emit(_request("HangupRequest", CALLER, "Local/s@sim-caller-00000000;1"))
            await asyncio.wait_for(arrived.wait(), 5)
            assert presence.gone(CALLER)
            presence.noticed(CALLER, AGENT)  # the leg found out: no more stops after this one
            await feed.quiet(AGENT)
            assert sim.count("ControlPlayback", Channel=AGENT, Control="stop") == 1
        assert not presence.gone(CALLER)  # forgotten once no leg of the call is here
        assert len(presence) == 0
    finally:
        await feed.close()
    (seen,) = captured_log.named("caller_hangup_seen")
    assert seen["interrupting"] == [AGENT]


async def test_a_soft_hangup_request_counts_too_and_needs_no_agent(
    sim: AmiServer, make_client: ClientFactory
) -> None:
    client = make_client()
    await client.start()
    presence = CallerPresence()
    feed = HangupFeed(presence, client)
    feed.attach()
    arrived = _arrival(client)
    try:
        with presence.watching(CALLER):
            await sim.emit(_request("SoftHangupRequest", CALLER, "Local/s@sim-caller-0;1"))
            await asyncio.wait_for(arrived.wait(), 5)
            assert presence.gone(CALLER)
        assert sim.count("ControlPlayback") == 0
    finally:
        await feed.close()
