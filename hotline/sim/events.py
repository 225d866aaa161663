"""AMI events as Asterisk 22 emits them for simulated calls (header order as recorded).

Every builder returns a plain ``dict`` in wire order (``Event`` first), ready
for :meth:`hotline.sim.ami_server.AmiServer.emit` or any other sink.  Header
names and order follow ``../shared/asterisk/ami/*.txt``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from hotline.sim.channels import CAUSE_TEXT, Channel

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


def varset(channel: Channel, variable: str, value: str) -> Event:
    return _event("VarSet", "dialplan,all", channel_block(channel), Variable=variable, Value=value)


def dial_begin(caller: Channel, dest: Channel, dial_string: str) -> Event:
    return _event(
        "DialBegin",
        "call,all",
        channel_block(caller),
        channel_block(dest, "Dest"),
        DialString=dial_string,
    )


def dial_state(caller: Channel, dest: Channel, status: str = "RINGING") -> Event:
    return _event(
        "DialState",
        "call,all",
        channel_block(caller),
        channel_block(dest, "Dest"),
        DialStatus=status,
    )


def dial_end(caller: Channel, dest: Channel, status: str) -> Event:
    return _event(
        "DialEnd",
        "call,all",
        channel_block(caller),
        channel_block(dest, "Dest"),
        DialStatus=status,
    )


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


def dtmf_end(channel: Channel, digit: str, duration_ms: int = 100) -> Event:
    return _event(
        "DTMFEnd",
        "dtmf,all",
        channel_block(channel),
        Digit=digit,
        DurationMs=str(duration_ms),
        Direction="Received",
    )


def soft_hangup_request(channel: Channel, cause: int) -> Event:
    return _event("SoftHangupRequest", "call,all", channel_block(channel), Cause=str(cause))


def hangup_request(channel: Channel, cause: int) -> Event:
    return _event("HangupRequest", "call,all", channel_block(channel), Cause=str(cause))


def hangup(channel: Channel, cause: int) -> Event:
    return _event(
        "Hangup",
        "call,all",
        channel_block(channel),
        Cause=str(cause),
        **{"Cause-txt": CAUSE_TEXT.get(cause, "Unknown")},
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
