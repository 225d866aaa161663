"""Typed AMI events and the call event log: recorded events, and calls over sockets."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence

from hotline.ami.calllog import CallEventLog
from hotline.ami.events import DialEnd, Hangup, OriginateResponse, parse_event
from hotline.ami.wire import Headers, MessageReader
from hotline.sim.ami_server import AmiServer
from hotline.sim.channels import Channel
from hotline.sim.events import (
    Event,
    bridge_end,
    dial_begin,
    dial_end,
    dial_leg_answered,
    dial_leg_end,
    dial_leg_ringing,
    dial_leg_start,
    dtmf_end,
    hangup,
    newchannel,
)
from tests.ami.conftest import ClientFactory
from tests.ami.recorded import RECORDINGS, recorded_chunks


def recorded_events(name: str) -> list[Headers]:
    reader = MessageReader(banner=True)
    messages: list[Headers] = []
    for direction, chunk in recorded_chunks(RECORDINGS / name):
        if direction == "<<<":
            messages += reader.feed(chunk)
    return [m for m in messages if m and m[0][0] == "Event"]


def stamped(event: Event, at: float) -> Headers:
    """The event as Asterisk sends it with timestampevents=yes (Timestamp after Privilege)."""
    headers = list(event.items())
    return [*headers[:2], ("Timestamp", f"{at:.6f}"), *headers[2:]]


def ami_up(log: CallEventLog) -> bool:
    return log.ami_up


def caller_channel(sim: AmiServer) -> tuple[Channel, Channel]:
    one, two = sim.new_local_pair("s", "sim-caller")
    one.context, one.exten, one.priority, one.state = "hotline-in", "100", "2", 6
    one.callerid_num, one.callerid_name = "5550001", "Lab Caller"
    return one, two


async def emit_stamped(sim: AmiServer, events: Sequence[Event], at: float) -> None:
    for event in events:
        await sim.emit(stamped(event, at))


def test_recorded_events_parse() -> None:
    events = recorded_events("16_ami_edge_cases.log")
    parsed = [parse_event(dict(e), at=1.0) for e in events]
    responses = [p for p in parsed if isinstance(p, OriginateResponse)]
    assert [(r.success, r.reason, r.uniqueid) for r in responses] == [
        (False, 0, None),  # no such context: Uniqueid <unknown>
        (False, 3, None),  # no answer within Timeout
    ]
    busy = [p for p in parsed if isinstance(p, Hangup) and p.cause == 17]
    assert busy[0].cause_txt == "User busy"
    assert busy[0].channel.channel == "Local/203@sim-agents-0000001c;2"
    ends = [p for p in parsed if isinstance(p, DialEnd)]
    # an Originate's own dial has no caller (docs/asterisk/facts.md, fact 20)
    assert ends[0].caller is None
    assert ends[0].status == "BUSY"


def test_recorded_call_correlates() -> None:
    """Run 01 replayed into the log: agent 201 answered, bridged, cause 16 at the end."""
    log = CallEventLog(clock=iter(range(10_000)).__next__)
    for event in recorded_events("01_probe_and_hotline100_agent201_pin1234.log"):
        log.feed(dict(event))
    leg = log.leg("1795305542.0", "Local/201@sim-agents")
    assert leg is not None
    assert leg.dial_status == "ANSWER"
    assert leg.dest_channel == "Local/201@sim-agents-00000001;1"
    assert leg.settled
    assert leg.hangup_cause == 16
    assert leg.hangup_cause_txt == "Normal Clearing"
    assert leg.agent_digits == "1"  # the confirm key; the caller's PIN is never kept
    assert leg.talk_time is not None
    assert len(log.legs("1795305542.0")) == 1
    assert log.hangup_of("1795305542.0") is not None
    assert log.legs("1795305542.1") == []  # the Originate's own dial is not a hunt leg


async def test_hunt_legs_over_sockets(sim: AmiServer, make_client: ClientFactory) -> None:
    client = make_client()
    log = CallEventLog()
    log.attach(client)
    await client.start()
    caller, _ = caller_channel(sim)

    a1, a2 = sim.new_local_pair("200", "sim-agents", linkedid=caller.linkedid)
    await emit_stamped(sim, dial_leg_start(caller, a1, a2, "200@sim-agents"), 100.0)
    await emit_stamped(sim, dial_leg_ringing(caller, a1), 100.001)
    await emit_stamped(sim, dial_leg_end(caller, a1, a2, "NOANSWER"), 115.0)

    b1, b2 = sim.new_local_pair("203", "sim-agents", linkedid=caller.linkedid)
    await emit_stamped(sim, dial_leg_start(caller, b1, b2, "203@sim-agents"), 115.1)
    await emit_stamped(sim, dial_leg_end(caller, b1, b2, "BUSY"), 115.102)

    c1, c2 = sim.new_local_pair("201", "sim-agents", linkedid=caller.linkedid)
    await emit_stamped(sim, dial_leg_start(caller, c1, c2, "201@sim-agents"), 115.2)
    await emit_stamped(sim, [dtmf_end(c1, "1")], 117.0)
    await emit_stamped(sim, [dtmf_end(caller, "9")], 117.1)  # caller digits: not recorded
    await emit_stamped(sim, dial_leg_answered(caller, c1, "bridge-1"), 117.7)

    noanswer = await log.wait_leg(caller.uniqueid, "Local/200@sim-agents", timeout=5)
    assert noanswer is not None
    assert noanswer.dial_status == "NOANSWER"
    assert noanswer.ring_time == 15.0
    assert noanswer.ringing_at == 100.001
    assert noanswer.hangup_cause == 0  # what Asterisk reports for a Dial timeout (run 02)

    busy = await log.wait_leg(caller.uniqueid, "Local/203@sim-agents", timeout=5)
    assert busy is not None
    assert busy.log_fields() == {
        "ami_dial_status": "BUSY",
        "hangup_cause": 17,  # from the ;2 half; ;1 said 0 Unknown (run 04)
        "hangup_cause_txt": "User busy",
        "ring_time": 0.002,
    }

    answered = await log.wait_leg(
        caller.uniqueid, "Local/201@sim-agents", timeout=5, need_hangup=False
    )
    assert answered is not None
    assert answered.dial_status == "ANSWER"
    assert answered.bridged_at == 117.7
    assert answered.agent_digits == "1"
    assert not answered.settled

    await emit_stamped(sim, bridge_end(caller, c1, c2, "bridge-1"), 160.0)
    done = await log.wait_leg(caller.uniqueid, "Local/201@sim-agents", timeout=5)
    assert done is not None
    assert done.settled
    assert done.talk_time == 160.0 - 117.7
    assert done.hangup_cause == 16
    assert log.leg_of_channel(b1.uniqueid) is busy
    assert log.calls_of_linkedid(caller.linkedid) == [caller.uniqueid]
    assert [leg.dial_string for leg in log.legs(caller.uniqueid)] == [
        "200@sim-agents",
        "203@sim-agents",
        "201@sim-agents",
    ]


async def test_waits_never_hold_a_call_when_ami_is_down(
    sim: AmiServer, make_client: ClientFactory
) -> None:
    client = make_client()
    log = CallEventLog()
    log.attach(client)
    await client.start()
    caller, _ = caller_channel(sim)
    a1, a2 = sim.new_local_pair("201", "sim-agents", linkedid=caller.linkedid)
    await sim.emit_all(dial_leg_start(caller, a1, a2, "201@sim-agents"))
    begun = await log.wait_leg(caller.uniqueid, "Local/201@sim-agents", timeout=0.01)
    assert begun is not None  # DialBegin arrived (the wait ran out on DialEnd)

    waiting = asyncio.create_task(log.wait_leg(caller.uniqueid, "Local/201@sim-agents", timeout=30))
    await sim.kill()
    async with asyncio.timeout(5):  # bounded: the outage wakes it, not its 30 s timeout
        partial = await waiting
    assert partial is not None
    assert partial.dial_status is None
    assert not ami_up(log)
    async with asyncio.timeout(5):
        assert await log.wait_leg("no-such-call", "Local/1@x", timeout=30) is None

    # AMI comes back: later calls are enriched again
    await sim.restart()
    await client.wait_connected(timeout=5)
    assert ami_up(log)
    b1, b2 = sim.new_local_pair("203", "sim-agents", linkedid=caller.linkedid)
    await sim.emit_all(dial_leg_start(caller, b1, b2, "203@sim-agents"))
    await sim.emit_all(dial_leg_end(caller, b1, b2, "BUSY"))
    busy = await log.wait_leg(caller.uniqueid, "Local/203@sim-agents", timeout=5)
    assert busy is not None
    assert busy.hangup_cause == 17


async def test_wait_hangup_for_an_originated_channel(
    sim: AmiServer, make_client: ClientFactory
) -> None:
    client = make_client()
    log = CallEventLog()
    log.attach(client)
    await client.start()
    result = await client.originate(channel="Local/100@hotline-in", application="Wait", data="1")
    channel = sim.channels[result.channel]
    waiting = asyncio.create_task(log.wait_hangup(result.uniqueid, timeout=5))
    await sim.emit(hangup(channel, 16))
    info = await waiting
    assert info is not None
    assert info.cause == 16
    assert info.channel == result.channel


def test_memory_is_bounded() -> None:
    log = CallEventLog(max_calls=10, keep_finished=3)
    server = AmiServer()
    for n in range(20):  # finished calls: only the last 3 are kept
        caller = Channel(f"Local/s@c-{n:08x};1", f"1.{n}", f"1.{n}", state=6)
        a1, a2 = server.new_local_pair("201", "sim-agents", linkedid=caller.linkedid)
        for event in [
            *dial_leg_start(caller, a1, a2, "201@sim-agents"),
            *dial_leg_end(caller, a1, a2, "BUSY"),
            hangup(caller, 16),
        ]:
            log.feed(dict(event))
    assert log.size == 3
    assert log.legs("1.19")
    assert log.legs("1.0") == []
    for n in range(100, 150):  # calls that never end (events lost): capped at max_calls
        caller = Channel(f"Local/s@c-{n:08x};1", f"1.{n}", f"1.{n}", state=6)
        dest = Channel(f"PJSIP/agent-{n:08x}", f"2.{n}", f"1.{n}")
        log.feed(dict(dial_begin(caller, dest, "agent")))
    assert log.size == 10
    assert log.calls_of_linkedid("1.149") == ["1.149"]
    assert log.leg_of_channel("2.149") is not None
    log.forget("1.149")
    assert log.size == 9
    assert log.calls_of_linkedid("1.149") == []
    assert log.leg_of_channel("2.149") is None
    assert log.calls_of_linkedid("1.0") == []  # evicted long ago, indexes cleaned too


def test_targets_match_by_dial_string_or_channel() -> None:
    log = CallEventLog()
    caller = Channel("PJSIP/caller-00000001", "9.1", "9.1", state=6)
    dest = Channel("PJSIP/201-00000002", "9.2", "9.1")
    log.feed(dict(dial_begin(caller, dest, "201")))
    log.feed(dict(dial_end(caller, dest, "CONTINUE")))
    log.feed(dict(hangup(dest, 21, "Call Rejected")))
    leg = log.leg("9.1", "PJSIP/201")
    assert leg is not None
    assert leg.settled  # not a Local channel: one hangup settles it
    assert leg.dial_status == "CONTINUE"
    assert leg.hangup_cause == 21
    assert log.leg("9.1", "PJSIP/2010") is None


def test_garbage_events_are_ignored() -> None:
    log = CallEventLog()
    log.feed({"Event": "DialBegin"})
    log.feed({"Event": "Hangup", "Channel": "x", "Uniqueid": "1.1", "Cause": "abc"})
    log.feed({"Event": "Newchannel", "Channel": "y"})
    info = log.hangup_of("1.1")
    assert info is not None
    assert info.cause == 0
    assert re.fullmatch(r"\d+(\.\d+)?", str(info.at))
    assert parse_event(dict(newchannel(Channel("Local/a;1", "3.3", "3.3"))), 2.0) is not None
