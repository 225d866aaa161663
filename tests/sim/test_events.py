"""AMI events the simulator emits for a call, as Asterisk 22 would (headers as recorded)."""

from __future__ import annotations

from hotline.sim.agents import parse_agents
from hotline.sim.caller import CallerScript
from hotline.sim.events import Event
from hotline.sim.pbx import SimulatedPbx
from tests.sim.conftest import Runtime

CHANNEL_HEADERS = [
    "Channel",
    "ChannelState",
    "ChannelStateDesc",
    "CallerIDNum",
    "CallerIDName",
    "ConnectedLineNum",
    "ConnectedLineName",
    "Language",
    "AccountCode",
    "Context",
    "Exten",
    "Priority",
    "Uniqueid",
    "Linkedid",
]


async def test_events_of_a_hunt(runtime: Runtime) -> None:
    seen: list[Event] = []
    live_at_answer: list[set[str]] = []

    async def sink(event: Event) -> None:
        seen.append(event)
        if event["Event"] == "BridgeCreate":
            live_at_answer.append({c.name for c in pbx.live_channels()})

    pbx = SimulatedPbx(
        "127.0.0.1",
        runtime.port,
        parse_agents("201=no-answer,202=voicemail,203=accept"),
        event_sink=sink,
    )
    record = await pbx.place_call(CallerScript("sales", args=["201", "202", "203"], pin_entries=[]))
    caller = record.channel
    named = [(e["Event"], e.get("Channel", ""), e.get("DialStatus", "")) for e in seen]

    dial_ends = [e for e in seen if e["Event"] == "DialEnd"]
    assert [(e["DestChannel"].split("-")[0], e["DialStatus"]) for e in dial_ends] == [
        ("Local/201@sim", "NOANSWER"),
        ("Local/202@sim", "CONTINUE"),  # only AMI says CONTINUE; DIALSTATUS is ANSWER
        ("Local/203@sim", "ANSWER"),
    ]
    begin = next(e for e in seen if e["Event"] == "DialBegin")
    assert list(begin)[:2] == ["Event", "Privilege"]
    assert list(begin)[2:16] == CHANNEL_HEADERS
    assert [h for h in begin if h.startswith("Dest")] == [f"Dest{h}" for h in CHANNEL_HEADERS]
    assert begin["Channel"] == caller
    assert begin["DialString"] == "201@sim-agents"
    assert begin["DestLinkedid"] == record.uniqueid
    assert ("DialState", caller, "RINGING") in named
    # the bridge comes only after the confirm leg of 203 accepted
    accept_end = named.index(("DialEnd", caller, "ANSWER"))
    last_confirm = max(
        i
        for i, e in enumerate(seen)
        if e["Event"] == "AGIExecEnd" and e["Channel"].startswith("Local/203@")
    )
    assert last_confirm < accept_end
    enters = [e["Channel"] for e in seen if e["Event"] == "BridgeEnter"]
    assert enters == [record.agent_legs[2].channel, caller]
    digits = [(e["Channel"], e["Digit"]) for e in seen if e["Event"] == "DTMFEnd"]
    assert digits == [(record.agent_legs[2].channel, "1")]
    hangups = [e for e in seen if e["Event"] == "Hangup"]
    assert {e["Channel"] for e in hangups} >= {caller, record.agent_legs[0].channel}
    assert all((e["Cause"], e["Cause-txt"]) != ("", "") for e in hangups)
    caller_hangup = next(e for e in hangups if e["Channel"] == caller)
    assert (caller_hangup["Cause"], caller_hangup["Cause-txt"]) == ("16", "Normal Clearing")
    # every channel event of the call carries the caller's uniqueid as Linkedid
    assert {e["Linkedid"] for e in seen if "Linkedid" in e} == {record.uniqueid}
    dialstatus = [
        e["Value"] for e in seen if e["Event"] == "VarSet" and e["Variable"] == "DIALSTATUS"
    ]
    assert [v for v in dialstatus if v] == ["NOANSWER", "ANSWER", "ANSWER"]
