"""The simulated AMI's own behaviour, seen through a bare socket and through AmiClient."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hotline.ami.errors import AmiActionError
from hotline.ami.messages import header_value
from hotline.ami.wire import format_message, header, headers_all
from hotline.sim.ami_server import AmiServer
from hotline.sim.events import dtmf_end, hangup, newchannel
from hotline.sim.originate import OriginateOutcome, OriginateRequest
from tests.ami.conftest import ClientFactory
from tests.ami.test_replay import RawAmi


@pytest.fixture
async def raw(sim: AmiServer) -> AsyncIterator[RawAmi]:
    reader, writer = await asyncio.open_connection(sim.host, sim.port)
    try:
        client = RawAmi(reader, writer)
        await client.banner()
        yield client
    finally:
        writer.close()


async def login(raw: RawAmi, events: str) -> None:
    reply = await raw.ask(
        format_message(
            [
                ("Action", "Login"),
                ("Username", "hotline"),
                ("Secret", "hotline-secret"),
                ("Events", events),
            ]
        )
    )
    assert header(reply, "Message") == "Authentication accepted"


async def test_event_mask_filters_by_class(sim: AmiServer, raw: RawAmi) -> None:
    await login(raw, "call")  # no system class: no FullyBooted either
    one, _ = sim.new_local_pair("201", "sim-agents")
    assert await sim.emit(dtmf_end(one, "1")) == 0  # dtmf class not asked for
    assert await sim.emit(newchannel(one)) == 1
    event = await raw.message()
    assert header(event, "Event") == "Newchannel"
    reply = await raw.ask(format_message([("Action", "Events"), ("EventMask", "off")]))
    assert header(reply, "Events") == "Off"
    assert await sim.emit(hangup(one, 16)) == 0


async def test_show_dialplan_listing_format(sim: AmiServer, raw: RawAmi) -> None:
    await login(raw, "off")
    reply = await raw.ask(
        format_message([("Action", "ShowDialPlan"), ("ActionID", "d-1"), ("Context", "hotline-in")])
    )
    assert reply == [
        ("Response", "Success"),
        ("ActionID", "d-1"),
        ("EventList", "start"),
        ("Message", "DialPlan list will follow"),
    ]
    first = await raw.message()
    assert first == [
        ("Event", "ListDialplan"),
        ("ActionID", "d-1"),
        ("Context", "hotline-in"),
        ("Extension", "100"),
        ("Priority", "1"),
        ("Application", "AGI"),
        ("AppData", "agi://127.0.0.1:4573/hotline/main"),
        ("Registrar", "pbx_config"),
    ]
    await raw.message()
    complete = await raw.message()
    assert complete == [
        ("Event", "ShowDialPlanComplete"),
        ("ActionID", "d-1"),
        ("EventList", "Complete"),
        ("ListItems", "2"),
        ("ListExtensions", "1"),
        ("ListPriorities", "2"),
        ("ListContexts", "1"),
    ]
    missing = await raw.ask(
        format_message(
            [("Action", "ShowDialPlan"), ("Context", "hotline-in"), ("Extension", "999")]
        )
    )
    assert header(missing, "Message") == "Did not find extension 999@hotline-in"


async def test_cli_commands(sim: AmiServer, make_client: ClientFactory) -> None:
    client = make_client()
    await client.start()
    classes = await client.command("moh show classes")
    assert classes == ["Class: default", "\tMode: files", "\tDirectory: moh"]
    modules = await client.command("module show like res_agi")
    assert modules[1].startswith("res_agi.so ")
    assert modules[-1] == "1 modules loaded"
    types = await client.command("core show channeltypes")
    assert types[2].startswith("Local ")
    with pytest.raises(AmiActionError) as caught:
        await client.command("frobnicate now")
    assert "No such command 'frobnicate now'" in caught.value.message


async def test_originate_handler_hook_and_sync_failure(
    sim: AmiServer, make_client: ClientFactory
) -> None:
    seen: list[OriginateRequest] = []

    async def busy_agents(request: OriginateRequest) -> OriginateOutcome:
        seen.append(request)
        return OriginateOutcome(reason=5)

    sim.originate_handler = busy_agents
    client = make_client()
    await client.start()
    with pytest.raises(AmiActionError) as caught:
        await client.originate(
            channel="Local/203@sim-agents",
            application="Wait",
            data="1",
            variables={"PIN": "1234", "HOLD": "5"},
            caller_id='"Lab Caller" <5550001>',
        )
    assert "busy (reason 5)" in str(caught.value)
    assert seen[0].variables == {"PIN": "1234", "HOLD": "5"}
    assert seen[0].is_async
    assert seen[0].caller_id == '"Lab Caller" <5550001>'
    # a synchronous Originate (Async omitted) fails with the recorded text
    reader, writer = await asyncio.open_connection(sim.host, sim.port)
    raw = RawAmi(reader, writer)
    await raw.banner()
    await login(raw, "off")
    reply = await raw.ask(
        format_message([("Action", "Originate"), ("Channel", "Local/203@sim-agents")])
    )
    writer.close()
    assert reply[0] == ("Response", "Error")
    assert header(reply, "Message") == "Originate failed"


async def test_kill_and_restart_keep_the_port(sim: AmiServer) -> None:
    port = sim.port
    await sim.kill()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(sim.host, port)
    await sim.restart()
    assert sim.port == port
    reader, writer = await asyncio.open_connection(sim.host, port)
    assert await reader.readline() == b"Asterisk Call Manager/11.0.0\r\n"
    writer.close()


async def test_getvar_on_a_channel(sim: AmiServer, make_client: ClientFactory) -> None:
    client = make_client()
    await client.start()
    one, _ = sim.new_local_pair("201", "sim-agents")
    one.variables["HOTLINE_CONFIRM"] = "ACCEPTED"
    assert await client.getvar("HOTLINE_CONFIRM", channel=one.name) == "ACCEPTED"
    assert await client.getvar("UNIQUEID", channel=one.name) == one.uniqueid
    sim.remove_channel(one)
    with pytest.raises(AmiActionError, match="No such channel"):
        await client.getvar("UNIQUEID", channel=one.name)
    response = await client.action("CoreStatus")
    assert header_value(response.headers, "CoreCurrentCalls") == "1"
    assert headers_all([("A", "1"), ("a", "2")], "a") == ["1", "2"]
