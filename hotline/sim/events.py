"""AMI events as Asterisk 22 emits them (header order as recorded): the simulator's one set.

Every builder returns a plain ``dict`` in wire order (``Event`` first), ready
for :meth:`hotline.sim.ami_server.AmiServer.emit` or any other sink.  Header
names and order follow tests/ami/recordings/*.log.  The simulated calls
(hotline/sim/dial.py, legs.py, call.py) emit them one by one; the sequences
at the end (a whole Dial leg, a bridge ending) are for tests that drive an
:class:`~hotline.sim.ami_server.AmiServer` by hand.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

from hotline.sim.channels import (
    CAUSE_NORMAL,
    CAUSE_TEXT,
    STATE_RINGING,
    STATE_UP,
    Channel,
    leg_end_causes,
)

Event = dict[str, str]
#: receives every event; awaited, so a slow sink slows the simulation down
EventSink = Callable[[Event], Awaitable[object]]


def channel_block(channel: Channel, prefix: str = "") -> Event:
    """The channel snapshot every channel event carries (``Dest``-prefixed for peers)."""
    return {
        f"{prefix}Channel": channel.name,
        f"{prefix}ChannelState": str(channel.state),
        f"{prefix}ChannelStateDesc": channel.state_desc,
        f"{prefix}CallerIDNum": channel.callerid_num,
        f"{prefix}CallerIDName": channel.callerid_name,
        f"{prefix}ConnectedLineNum": channel.connected_num,
        f"{prefix}ConnectedLineName": channel.connected_name,
        f"{prefix}Language": channel.language,
        f"{prefix}AccountCode": channel.accountcode,
        f"{prefix}Context": channel.context,
        f"{prefix}Exten": channel.exten,
        f"{prefix}Priority": channel.priority,
        f"{prefix}Uniqueid": channel.uniqueid,
        f"{prefix}Linkedid": channel.linkedid,
    }


def _event(name: str, privilege: str, *blocks: Event, **extra: str) -> Event:
    event: Event = {"Event": name, "Privilege": privilege}
    for block in blocks:
        event.update(block)
    event.update(extra)
    return event


def newchannel(channel: Channel) -> Event:
    return _event("Newchannel", "call,all", channel_block(channel))


def newstate(channel: Channel) -> Event:
    return _event("Newstate", "call,all", channel_block(channel))


def device_state_change(device: str, state: str) -> Event:
    """A device's new state (tests/ami/recordings/16_ami_edge_cases.log)."""
    return _event("DeviceStateChange", "call,all", Device=device, State=state)


def device_state_list(states: Mapping[str, str], action_id: str) -> list[Event]:
    """``DeviceStateList``'s items and its complete event, as res_manager_devicestate.c
    writes them (items carry the ActionID and no Privilege)."""
    head = {"ActionID": action_id} if action_id else {}
    items: list[Event] = [
        {"Event": "DeviceStateChange", **head, "Device": device, "State": state}
        for device, state in states.items()
    ]
    done: Event = {
        "Event": "DeviceStateListComplete",
        **head,
        "EventList": "Complete",
        "ListItems": str(len(items)),
    }
    return [*items, done]


def varset(channel: Channel, variable: str, value: str) -> Event:
    return _event("VarSet", "dialplan,all", channel_block(channel), Variable=variable, Value=value)


def _dial(name: str, caller: Channel | None, dest: Channel, **extra: str) -> Event:
    # an Originate's own dial has no caller block (tests/ami/recordings/16_ami_edge_cases.log)
    caller_block = channel_block(caller) if caller is not None else {}
    return _event(name, "call,all", caller_block, channel_block(dest, "Dest"), **extra)


def dial_begin(caller: Channel | None, dest: Channel, dial_string: str) -> Event:
    return _dial("DialBegin", caller, dest, DialString=dial_string)


def dial_state(caller: Channel | None, dest: Channel, status: str = "RINGING") -> Event:
    return _dial("DialState", caller, dest, DialStatus=status)


def dial_end(caller: Channel | None, dest: Channel, status: str) -> Event:
    return _dial("DialEnd", caller, dest, DialStatus=status)


def _bridge(bridge_id: str, channels: int) -> Event:
    return {
        "BridgeUniqueid": bridge_id,
        "BridgeType": "basic",
        "BridgeTechnology": "simple_bridge",
        "BridgeCreator": "<unknown>",
        "BridgeName": "<unknown>",
        "BridgeNumChannels": str(channels),
        "BridgeVideoSourceMode": "none",
    }


def bridge_create(bridge_id: str) -> Event:
    return _event("BridgeCreate", "call,all", _bridge(bridge_id, 0))


def bridge_enter(bridge_id: str, channels: int, channel: Channel) -> Event:
    return _event("BridgeEnter", "call,all", _bridge(bridge_id, channels), channel_block(channel))


def bridge_leave(bridge_id: str, channels: int, channel: Channel) -> Event:
    return _event("BridgeLeave", "call,all", _bridge(bridge_id, channels), channel_block(channel))


def bridge_destroy(bridge_id: str) -> Event:
    return _event("BridgeDestroy", "call,all", _bridge(bridge_id, 0))


def dtmf_begin(channel: Channel, digit: str) -> Event:
    return _event(
        "DTMFBegin", "dtmf,all", channel_block(channel), Digit=digit, Direction="Received"
    )


def dtmf_end(
    channel: Channel, digit: str, duration_ms: int = 100, direction: str = "Received"
) -> Event:
    return _event(
        "DTMFEnd",
        "dtmf,all",
        channel_block(channel),
        Digit=digit,
        DurationMs=str(duration_ms),
        Direction=direction,
    )


def soft_hangup_request(channel: Channel, cause: int) -> Event:
    return _event("SoftHangupRequest", "call,all", channel_block(channel), Cause=str(cause))


def hangup_request(channel: Channel, cause: int) -> Event:
    return _event("HangupRequest", "call,all", channel_block(channel), Cause=str(cause))


def hangup(channel: Channel, cause: int, cause_txt: str | None = None) -> Event:
    """``cause_txt`` defaults to Asterisk's text for ``cause``."""
    text = CAUSE_TEXT.get(cause, "Unknown") if cause_txt is None else cause_txt
    return _event(
        "Hangup", "call,all", channel_block(channel), Cause=str(cause), **{"Cause-txt": text}
    )


def agi_exec_start(channel: Channel, command_id: int, command: str) -> Event:
    return _event(
        "AGIExecStart",
        "agi,all",
        channel_block(channel),
        CommandId=str(command_id),
        Command=command,
    )


def agi_exec_end(
    channel: Channel, command_id: int, command: str, result_code: int, result: str
) -> Event:
    return _event(
        "AGIExecEnd",
        "agi,all",
        channel_block(channel),
        CommandId=str(command_id),
        Command=command,
        ResultCode=str(result_code),
        Result=result,
    )


def originate_response(
    *,
    action_id: str,
    success: bool,
    channel: str,
    reason: int,
    uniqueid: str | None,
    context: str = "",
    exten: str = "",
    application: str = "",
    data: str = "",
    caller_id_num: str = "<unknown>",
    caller_id_name: str = "<unknown>",
) -> Event:
    """The end of an async Originate (tests/ami/recordings/16_ami_edge_cases.log)."""
    event: Event = {"Event": "OriginateResponse", "Privilege": "call,all"}
    if action_id:
        event["ActionID"] = action_id
    event["Response"] = "Success" if success else "Failure"
    event["Channel"] = channel
    if application:
        event.update(Application=application, Data=data)
    else:
        event.update(Context=context, Exten=exten)
    event.update(
        Reason=str(reason),
        Uniqueid=uniqueid or "<unknown>",
        CallerIDNum=caller_id_num,
        CallerIDName=caller_id_name,
    )
    return event


def fully_booted(uptime: int) -> Event:
    """Sent at login to sessions that get ``system`` events."""
    return {
        "Event": "FullyBooted",
        "Privilege": "system,all",
        "Uptime": str(uptime),
        "LastReload": str(uptime),
        "Status": "Fully Booted",
    }


def successful_auth(
    username: str, session_id: str, local: tuple[str, int], remote: tuple[str, int]
) -> Event:
    """Sent at login to sessions that get ``security`` events."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
    return {
        "Event": "SuccessfulAuth",
        "Privilege": "security,all",
        "EventTV": now,
        "Severity": "Informational",
        "Service": "AMI",
        "EventVersion": "1",
        "AccountID": username,
        "SessionID": session_id,
        "LocalAddress": f"IPV4/TCP/{local[0]}/{local[1]}",
        "RemoteAddress": f"IPV4/TCP/{remote[0]}/{remote[1]}",
        "UsingPassword": "0",
        "SessionTV": now,
    }


# -- whole sequences, for tests that drive the AMI server by hand ---------------


def dial_leg_start(
    caller: Channel, agent1: Channel, agent2: Channel, dial_string: str
) -> list[Event]:
    """A Local agent leg begins: both halves appear, then DialBegin."""
    return [newchannel(agent1), newchannel(agent2), dial_begin(caller, agent1, dial_string)]


def dial_leg_ringing(caller: Channel, agent1: Channel) -> list[Event]:
    agent1.state = STATE_RINGING
    return [dial_state(caller, agent1, "RINGING")]


def dial_leg_end(caller: Channel, agent1: Channel, agent2: Channel, status: str) -> list[Event]:
    """A leg that did not bridge: DialEnd with ``status``, then both halves hang up."""
    cause1, cause2 = leg_end_causes(status)
    return [dial_end(caller, agent1, status), hangup(agent1, cause1), hangup(agent2, cause2)]


def dial_leg_answered(caller: Channel, agent1: Channel, bridge_id: str) -> list[Event]:
    """A confirmed leg: DialEnd ANSWER, then both enter the bridge."""
    agent1.state = STATE_UP
    return [
        dial_end(caller, agent1, "ANSWER"),
        bridge_enter(bridge_id, 1, agent1),
        bridge_enter(bridge_id, 2, caller),
    ]


def bridge_end(caller: Channel, agent1: Channel, agent2: Channel, bridge_id: str) -> list[Event]:
    """The bridged call ends (the agent side clears normally)."""
    return [
        bridge_leave(bridge_id, 1, caller),
        bridge_leave(bridge_id, 0, agent1),
        hangup(agent1, CAUSE_NORMAL),
        hangup(agent2, CAUSE_NORMAL),
    ]
