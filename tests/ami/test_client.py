"""AmiClient over real loopback sockets against the simulated AMI."""

from __future__ import annotations

import asyncio
import random
import re

import pytest

from hotline.ami.backoff import Backoff
from hotline.ami.client import AmiClient
from hotline.ami.errors import (
    AmiActionError,
    AmiAuthError,
    AmiOriginateError,
    AmiTimeout,
    AmiUnavailable,
)
from hotline.ami.panoramisk_glue import PanoramiskLog
from hotline.sim.ami_server import AmiServer
from hotline.sim.events import dial_begin, newchannel
from tests.ami.conftest import ClientFactory
from tests.conftest import CapturedLog


async def test_login_and_basic_actions(make_client: ClientFactory) -> None:
    client = make_client()
    await client.start()
    assert client.connected
    assert client.banner_version == "11.0.0"
    settings = await client.action("CoreSettings")
    assert settings.get("AsteriskVersion") == "22.10.1"
    # recorded as "Value: " (docs/asterisk/facts.md, fact 21)
    assert await client.getvar("NOT_SET") == ""
    output = await client.command("core show version")
    assert output[0].startswith("Asterisk 22.10.1 built by")


async def test_wrong_secret_raises_auth_error_once_without_retrying(
    sim: AmiServer, make_client: ClientFactory
) -> None:
    # what Asterisk really does (docs/asterisk/facts.md, fact 18)
    sim.state.auth_failure_delay = 1.0
    client = make_client(secret="wrong-secret")
    async with asyncio.timeout(5):  # a bound, not a speed assertion
        with pytest.raises(AmiAuthError) as caught:
            await client.start()
    message = str(caught.value)
    assert "\n" not in message
    assert "refused (Authentication failed)" in message
    assert "'hotline'" in message
    assert "wrong-secret" not in message
    assert caught.value.exit_code != 0
    assert not client.connected
    assert sim.failed_logins == 1
    assert sim.count("Login") == 1  # no background retry loop was started
    assert sim.session_count == 0  # Asterisk closed the socket after the failure


async def test_secret_never_logged(captured_log: CapturedLog, make_client: ClientFactory) -> None:
    client = make_client()
    await client.start()
    await client.action("Ping")
    assert captured_log.named("ami_connected")
    assert "hotline-secret" not in captured_log.text


async def test_unreachable_at_start(sim: AmiServer, make_client: ClientFactory) -> None:
    await sim.kill()
    client = make_client()
    with pytest.raises(AmiUnavailable, match=rf"cannot connect to AMI at 127\.0\.0\.1:{sim.port}"):
        await client.start()


async def test_not_required_at_start_connects_when_asterisk_comes_up(
    sim: AmiServer, make_client: ClientFactory
) -> None:
    await sim.kill()
    client = make_client()
    await client.start(require=False)
    assert not client.connected
    with pytest.raises(AmiUnavailable, match="not connected"):
        await client.action("Ping")
    await sim.restart()
    await client.wait_connected(timeout=5)
    assert (await client.action("Ping")).get("Ping") == "Pong"


async def test_action_timeout_when_server_never_answers(
    sim: AmiServer, make_client: ClientFactory
) -> None:
    client = make_client()
    await client.start()
    sim.ignore_actions.add("coresettings")
    with pytest.raises(AmiTimeout, match=r"CoreSettings got no answer within 0\.2 s"):
        await client.action("CoreSettings", timeout=0.2)
    assert client.connected  # one slow action does not drop the connection
    assert (await client.action("Ping")).get("Ping") == "Pong"


async def test_keepalive_timeout_drops_and_reconnects(
    sim: AmiServer, make_client: ClientFactory
) -> None:
    client = make_client(ping_interval=0.05, ping_timeout=0.2)
    changes: list[bool] = []
    client.on_connection(changes.append)
    await client.start()
    sim.freeze()  # the TCP connection stays open but Asterisk answers nothing
    await sim.wait_until(lambda: sim.logins == 2)
    await client.wait_connected(timeout=5)
    assert changes[:2] == [True, False] or changes[:1] == [False]
    assert (await client.action("Ping")).get("Ping") == "Pong"
    assert client.sessions_opened == 2


async def test_outage_reconnects_and_never_resends_originate(
    sim: AmiServer, make_client: ClientFactory
) -> None:
    """Killed mid-run with an Originate in flight: reconnect, and that Originate is not re-sent.

    panoramisk alone would queue the unanswered Originate and send it again after
    the next FullyBooted, placing the call twice.
    """
    client = make_client()
    await client.start()
    sim.ignore_actions.add("originate")  # Asterisk got it, then died before answering
    pending = asyncio.create_task(
        client.originate(channel="Local/100@hotline-in", application="Wait", data="1")
    )
    await sim.wait_until(lambda: sim.count("Originate") == 1)
    await sim.kill()
    with pytest.raises(AmiUnavailable, match="not sent again"):
        await pending
    assert not client.connected

    sim.ignore_actions.clear()
    await sim.restart()
    await client.wait_connected(timeout=5)
    for _ in range(3):  # a re-sent action would arrive before these round trips end
        assert (await client.action("Ping")).get("Ping") == "Pong"
    assert sim.logins == 2
    assert sim.count("Originate") == 1

    result = await client.originate(channel="Local/100@hotline-in", application="Wait", data="1")
    assert result.reason == 4
    assert sim.count("Originate") == 2


async def test_action_in_flight_fails_at_once_when_connection_drops(
    sim: AmiServer, make_client: ClientFactory
) -> None:
    client = make_client()
    await client.start()
    sim.ignore_actions.add("coresettings")
    pending = asyncio.create_task(client.action("CoreSettings", timeout=30))
    await sim.wait_until(lambda: sim.count("CoreSettings") == 1)
    await sim.kill()
    async with asyncio.timeout(5):  # bounded: it must not wait for its 30 s timeout
        with pytest.raises(AmiUnavailable, match="before CoreSettings was answered"):
            await pending


async def test_originate_is_always_async(sim: AmiServer, make_client: ClientFactory) -> None:
    client = make_client()
    await client.start()
    await client.action(
        "Originate",
        {"Channel": "Local/100@hotline-in", "Application": "Wait", "Data": "1", "Async": "false"},
    )
    assert sim.count("Originate", Async="true") == 1
    assert sim.count("Originate", Async="false") == 0


async def test_originate_outcomes(sim: AmiServer, make_client: ClientFactory) -> None:
    client = make_client()
    await client.start()
    result = await client.originate(
        channel="Local/100@hotline-in",
        application="Wait",
        data="1",
        variables={"PIN": "1234"},
        caller_id='"Lab Caller" <5550001>',
    )
    assert result.reason == 4
    assert result.channel.startswith("Local/100@hotline-in-")
    assert result.channel.endswith(";1")
    assert re.fullmatch(r"\d+\.\d+", result.uniqueid)
    with pytest.raises(AmiOriginateError) as failed:
        await client.originate(channel="Local/s@no-such-context", context="hotline-in", exten="100")
    assert failed.value.reason == 0
    with pytest.raises(AmiActionError, match="Channel not specified"):
        await client.action("Originate", {"Context": "hotline-in", "Exten": "100"})


async def test_action_errors_carry_asterisk_message(make_client: ClientFactory) -> None:
    client = make_client()
    await client.start()
    with pytest.raises(AmiActionError) as caught:
        await client.getvar("FOO", channel="Local/nonexistent-00000000;1")
    assert caught.value.message == "No such channel"
    with pytest.raises(AmiActionError, match="Invalid/unknown command: NoSuchAction"):
        await client.action("NoSuchAction")


async def test_split_replies_are_reassembled(sim: AmiServer, make_client: ClientFactory) -> None:
    sim.split_writes = True
    client = make_client()
    await client.start()
    lines = await client.command("core show settings")
    assert any("Entity ID:" in line for line in lines)
    listing = await client.action("ShowDialPlan", {"Context": "hotline-confirm"})
    assert len(listing.events) == 8  # 7 priorities + ShowDialPlanComplete


async def test_event_callbacks_and_isolation(
    sim: AmiServer, make_client: ClientFactory, captured_log: CapturedLog
) -> None:
    client = make_client()
    seen: asyncio.Queue[str] = asyncio.Queue()

    def broken(_message: object) -> None:
        raise RuntimeError("bug in a listener")

    async def collect(message: object) -> None:
        await seen.put(str(message["Channel"]))  # type: ignore[index]

    client.on_event("Newchannel", broken)
    unsubscribe = client.on_event(["NEWCHANNEL", "Hangup"], collect)
    await client.start()
    one, two = sim.new_local_pair("201", "sim-agents")
    await sim.emit(newchannel(one))
    assert await asyncio.wait_for(seen.get(), 5) == one.name
    assert client.connected  # the broken callback did not kill the connection
    assert captured_log.named("ami_event_callback_failed")
    unsubscribe()
    await sim.emit(newchannel(two))
    await sim.emit(dial_begin(None, two, "x"))
    assert (await client.action("Ping")).get("Ping") == "Pong"
    assert seen.empty()


async def test_close_logs_off(sim: AmiServer) -> None:
    client = AmiClient(host=sim.host, port=sim.port, username="hotline", secret="hotline-secret")
    await client.start()
    await client.close()
    assert sim.count("Logoff") == 1
    assert not client.connected


async def test_refused_login_after_an_outage_keeps_retrying_quietly(
    sim: AmiServer, make_client: ClientFactory, captured_log: CapturedLog
) -> None:
    """Only startup turns a refused login into an error; at run time calls must go on."""
    client = make_client()
    await client.start()
    sim.state.secret = "rotated-on-the-pbx"
    await sim.kill()
    await sim.restart()
    await sim.wait_until(lambda: sim.failed_logins >= 2)  # it retried, it did not give up
    assert not client.connected
    assert captured_log.named("ami_login_refused")
    sim.state.secret = "hotline-secret"
    await client.wait_connected(timeout=5)
    assert (await client.action("Ping")).get("Ping") == "Pong"


def test_backoff_grows_caps_and_jitters() -> None:
    backoff = Backoff(initial=0.5, factor=2.0, cap=4.0, jitter=0.5, rng=random.Random(3))
    bases = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    delays = [backoff.delay(n) for n in range(len(bases))]
    for delay, base in zip(delays, bases, strict=True):
        assert base * 0.5 <= delay <= base
    assert len({round(d / b, 6) for d, b in zip(delays, bases, strict=True)}) > 1  # jittered
    assert Backoff(jitter=0.0).delay(100) == 30.0
    with pytest.raises(ValueError, match="backoff needs"):
        Backoff(factor=0.5)


def test_panoramisk_messages_never_quote_an_action(captured_log: CapturedLog) -> None:
    """panoramisk 1.4 quotes whole actions (Login's Secret, a test call's PIN) in two messages."""
    plog = PanoramiskLog()
    login = "Action: Login\r\nUsername: hotline\r\nSecret: s3cret\r\n"
    plog.info('Adding action "%s" to awaiting list: %s', "login", login)
    originate = "Action: Originate\r\nVariable: PIN=4711\r\n"
    plog.exception(f"Fail to send {originate!r}")  # panoramisk formats this one itself
    plog.warning("Not able to reconnect")
    details = [e["detail"] for e in captured_log.named("panoramisk_log")]
    assert details == [
        "Adding action login to awaiting list",
        "Fail to send an AMI action",
        "Not able to reconnect",
    ]
    assert "s3cret" not in captured_log.text
    assert not captured_log.holds_digits("4711")
