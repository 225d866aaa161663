"""AgiSession over a real loopback socket, with a scripted Asterisk on the other end."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

import hotline.agi.stream as stream_module
from hotline.agi.errors import (
    AgiArgumentError,
    AgiCommandError,
    AgiConnectionLost,
    AgiHangup,
    AgiProtocolError,
    AgiTimeout,
)
from hotline.agi.session import AgiSession
from hotline.agi.stream import AgiStream
from hotline.agi.testing import DEAD_CHANNEL_REPLY, FakeAsterisk, start_stream_server
from tests.agi.conftest import SessionFactory
from tests.conftest import CapturedLog

# -- replies are never shifted by the out-of-band HANGUP line -----------------


async def test_hangup_before_the_command_reply(open_session: SessionFactory) -> None:
    session, pbx = await open_session()
    call = asyncio.create_task(session.get_variable("DIALSTATUS"))
    await pbx.expect("GET VARIABLE DIALSTATUS", "HANGUP", "200 result=1 (ANSWER)")
    assert await call == "ANSWER"
    assert session.hung_up
    assert session.hangup_seen.is_set()
    call = asyncio.create_task(session.get_variable("HANGUPCAUSE"))
    await pbx.expect("GET VARIABLE HANGUPCAUSE", "200 result=1 (16)")
    assert await call == "16"


async def test_hangup_between_replies(open_session: SessionFactory) -> None:
    session, pbx = await open_session()
    first = asyncio.create_task(session.exec_app("Dial", "Local/201@sim-agents", "15"))
    await pbx.expect("EXEC Dial Local/201@sim-agents,15", "200 result=-1", "HANGUP")
    assert await first == -1
    second = asyncio.create_task(session.get_variable("DIALSTATUS"))
    await pbx.expect("GET VARIABLE DIALSTATUS", "200 result=1 (CANCEL)")
    assert await second == "CANCEL"
    assert session.hung_up


async def test_hangup_after_the_last_reply_sets_the_event_while_idle(
    open_session: SessionFactory,
) -> None:
    session, pbx = await open_session()
    call = asyncio.create_task(session.hangup())
    await pbx.expect("HANGUP", "200 result=1")
    await call
    assert not session.hangup_seen.is_set()  # our own HANGUP is not a hang-up notice
    await pbx.send_hangup()
    await asyncio.wait_for(session.hangup_seen.wait(), 2)
    assert session.hung_up
    # still usable: GET VARIABLE works on a dead channel
    call2 = asyncio.create_task(session.get_variable("GOSUB_RESULT"))
    await pbx.expect("GET VARIABLE GOSUB_RESULT", "200 result=0")
    assert await call2 is None


async def test_two_hangup_lines_then_eof(open_session: SessionFactory) -> None:
    """Run 15 (AGIEXITONHANGUP=yes): HANGUP twice, then Asterisk closes the socket."""
    session, pbx = await open_session()
    call = asyncio.create_task(session.get_data("beep", 3000, 4))
    assert await pbx.read_command() == "GET DATA beep 3000 4"
    await pbx.send_raw(b"HANGUP\nHANGUP\n")
    await pbx.close()
    with pytest.raises(AgiConnectionLost):
        await call
    assert session.hung_up
    with pytest.raises(AgiConnectionLost):
        await session.exec_app("Dial", "Local/201@sim-agents")


# -- dead channel ---------------------------------------------------------------


async def test_511_raises_hangup_and_marks_the_session(open_session: SessionFactory) -> None:
    session, pbx = await open_session()
    call = asyncio.create_task(session.get_data("beep", 3000, 4))
    await pbx.expect("GET DATA beep 3000 4", DEAD_CHANNEL_REPLY)
    with pytest.raises(AgiHangup, match="GET DATA: Command Not Permitted on a dead channel"):
        await call
    assert session.hung_up
    # EXEC still goes through after a hang-up and -1 is returned, not raised
    dial = asyncio.create_task(session.exec_app("Dial", "Local/201@sim-agents", "15"))
    await pbx.expect("EXEC Dial Local/201@sim-agents,15", "200 result=-1")
    assert await dial == -1


async def test_hangup_on_a_dead_channel_is_silent(open_session: SessionFactory) -> None:
    session, pbx = await open_session()
    call = asyncio.create_task(session.hangup())
    await pbx.expect("HANGUP", DEAD_CHANNEL_REPLY)
    await call  # no exception
    other = asyncio.create_task(session.hangup("Local/201@sim-agents-00000001;1"))
    await pbx.expect("HANGUP Local/201@sim-agents-00000001;1", "200 result=-1")
    await other


async def test_set_variable_on_a_dead_channel(open_session: SessionFactory) -> None:
    """Run 06 confirm: WAIT FOR DIGIT -1, then SET VARIABLE still works (HANGUP in between)."""
    session, pbx = await open_session()
    call = asyncio.create_task(session.wait_for_digit(5000))
    await pbx.expect("WAIT FOR DIGIT 5000", "200 result=-1")
    with pytest.raises(AgiHangup, match="WAIT FOR DIGIT"):
        await call
    assert session.hung_up
    setting = asyncio.create_task(session.set_variable("GOSUB_RESULT", "CONTINUE"))
    await pbx.expect("SET VARIABLE GOSUB_RESULT CONTINUE", "HANGUP", "200 result=1")
    await setting


@pytest.mark.parametrize(
    ("command", "run", "reply"),
    [
        ('STREAM FILE demo-congrats ""', "stream_file", "200 result=-1 endpos=38560"),
        ("GET DATA beep 3000 4", "get_data", "200 result=-1"),
        ("WAIT FOR DIGIT 5000", "wait_for_digit", "200 result=-1"),
        ('SAY DIGITS 123 ""', "say_digits", "200 result=-1"),
        ("ANSWER", "answer", "200 result=-1"),
    ],
)
async def test_media_result_minus_one_is_a_hangup(
    open_session: SessionFactory, command: str, run: str, reply: str
) -> None:
    session, pbx = await open_session()
    calls = {
        "stream_file": lambda: session.stream_file("demo-congrats"),
        "get_data": lambda: session.get_data("beep", 3000, 4),
        "wait_for_digit": lambda: session.wait_for_digit(5000),
        "say_digits": lambda: session.say_digits("123"),
        "answer": session.answer,
    }
    call = asyncio.create_task(calls[run]())
    await pbx.expect(command, reply)
    with pytest.raises(AgiHangup):
        await call
    assert session.hung_up


# -- typed results ---------------------------------------------------------------


async def test_typed_results(open_session: SessionFactory) -> None:
    session, pbx = await open_session()
    script: list[tuple[Callable[[], Coroutine[Any, Any, object]], str, str, object]] = [
        (
            lambda: session.stream_file("beep", "12"),
            "STREAM FILE beep 12",
            "200 result=50 endpos=100",
            "2",
        ),
        (
            lambda: session.stream_file("beep"),
            'STREAM FILE beep ""',
            "200 result=0 endpos=3404",
            None,
        ),
        (
            lambda: session.get_data("beep", 3000, 4),
            "GET DATA beep 3000 4",
            "200 result=1234",
            "1234",
        ),
        (
            lambda: session.get_data("beep", 3000, 4),
            "GET DATA beep 3000 4",
            "200 result= (timeout)",
            None,
        ),
        (
            lambda: session.get_data("b", 3000, 4),
            "GET DATA b 3000 4",
            "200 result=12 (timeout)",
            "12",
        ),
        (lambda: session.get_data("b", 3000, 4), "GET DATA b 3000 4", "200 result=", ""),
        (lambda: session.wait_for_digit(5000), "WAIT FOR DIGIT 5000", "200 result=49", "1"),
        (lambda: session.wait_for_digit(5000), "WAIT FOR DIGIT 5000", "200 result=0", None),
        (lambda: session.say_digits("42", "#"), "SAY DIGITS 42 #", "200 result=35", "#"),
        (lambda: session.get_variable("X"), "GET VARIABLE X", "200 result=0", None),
        (lambda: session.get_variable("X"), "GET VARIABLE X", "200 result=1 ()", ""),
        (lambda: session.get_variable("X"), "GET VARIABLE X", "200 result=1 (hangup)", "hangup"),
        (
            lambda: session.get_full_variable("${CHANNEL_EXISTS(1795305542.0)}"),
            "GET FULL VARIABLE ${CHANNEL_EXISTS(1795305542.0)}",
            "200 result=1 (1)",
            "1",
        ),
        (
            lambda: session.get_full_variable("${UNIQUEID}", "Local/nope"),
            "GET FULL VARIABLE ${UNIQUEID} Local/nope",
            "200 result=0",
            None,
        ),
        (lambda: session.exec_app("Wait", "1"), "EXEC Wait 1", "200 result=0", 0),
        (lambda: session.exec_app("Answer"), "EXEC Answer", "200 result=0", 0),
        (lambda: session.answer(), "ANSWER", "200 result=0", None),
        (
            lambda: session.verbose("hello there", 3),
            'VERBOSE "hello there" 3',
            "200 result=1",
            None,
        ),
    ]
    for run, command, reply, expected in script:
        call = asyncio.create_task(run())
        await pbx.expect(command, reply)
        assert await call == expected, command
    assert not session.hung_up
    assert session.commands == len(script)


async def test_exec_of_a_missing_application(open_session: SessionFactory) -> None:
    session, pbx = await open_session()
    call = asyncio.create_task(session.exec_app("NoSuchApp"))
    await pbx.expect("EXEC NoSuchApp", "200 result=-2")
    with pytest.raises(AgiCommandError, match="NoSuchApp"):
        await call


async def test_variable_value_with_a_newline_does_not_shift_replies(
    open_session: SessionFactory,
) -> None:
    session, pbx = await open_session()
    call = asyncio.create_task(session.get_variable("NOTE"))
    await pbx.expect("GET VARIABLE NOTE", "200 result=1 (first line", "200 result=0)")
    assert await call == "first line\n200 result=0"
    call = asyncio.create_task(session.get_variable("OTHER"))
    await pbx.expect("GET VARIABLE OTHER", "200 result=1 (fine)")
    assert await call == "fine"


# -- error replies ---------------------------------------------------------------


async def test_510_raises_command_error(open_session: SessionFactory) -> None:
    session, pbx = await open_session()
    call = asyncio.create_task(session.command("NOSUCH", "thing"))
    await pbx.expect("NOSUCH thing", "510 Invalid or unknown command")
    with pytest.raises(AgiCommandError) as caught:
        await call
    assert (caught.value.code, caught.value.text) == (510, "Invalid or unknown command")


async def test_multi_line_520_is_read_completely(open_session: SessionFactory) -> None:
    session, pbx = await open_session()
    call = asyncio.create_task(session.command("GET VARIABLE"))
    await pbx.expect(
        "GET VARIABLE",
        "520-Invalid command syntax.  Proper usage follows:",
        " Usage: GET VARIABLE <variablename>",
        "        Returns 0 if <variablename> is not set.",
        "HANGUP",
        "520 End of proper usage.",
    )
    with pytest.raises(AgiCommandError) as caught:
        await call
    assert caught.value.code == 520
    assert "Usage: GET VARIABLE <variablename>" in caught.value.text
    assert "Returns 0" in caught.value.text
    # the next reply is the next command's, not a usage line
    call2 = asyncio.create_task(session.get_variable("X"))
    await pbx.expect("GET VARIABLE X", "200 result=1 (x)")
    assert await call2 == "x"


async def test_single_line_520(open_session: SessionFactory) -> None:
    session, pbx = await open_session()
    call = asyncio.create_task(session.command("SET CALLERID"))
    await pbx.expect("SET CALLERID", "520 Invalid command syntax.  Proper usage not available.")
    with pytest.raises(AgiCommandError, match="Proper usage not available"):
        await call


async def test_100_trying_then_200(open_session: SessionFactory) -> None:
    session, pbx = await open_session()
    call = asyncio.create_task(session.exec_app("Playback", "beep"))
    await pbx.expect("EXEC Playback beep", "100 result=0 Trying...", "200 result=0")
    assert await call == 0


# -- broken streams ------------------------------------------------------------------


async def test_end_of_stream_mid_command(open_session: SessionFactory) -> None:
    session, pbx = await open_session()
    call = asyncio.create_task(session.stream_file("demo-congrats"))
    assert await pbx.read_command() == 'STREAM FILE demo-congrats ""'
    await pbx.send_raw(b"200 result=0 endp")  # cut mid-line
    await pbx.close()
    with pytest.raises(AgiConnectionLost):
        await call
    assert session.hung_up
    assert session.closed


async def test_over_long_line_is_a_protocol_error(open_session: SessionFactory) -> None:
    session, pbx = await open_session(max_line=1024)
    call = asyncio.create_task(session.get_variable("BIG"))
    assert await pbx.read_command() == "GET VARIABLE BIG"
    await pbx.send_raw(b"200 result=1 (" + b"x" * 5000)  # no newline: must not buffer for ever
    with pytest.raises(AgiProtocolError, match="longer than 1024"):
        await call
    assert await pbx.wait_closed() == []
    with pytest.raises(AgiProtocolError):
        await session.get_variable("AGAIN")


async def test_non_utf8_reply_bytes(open_session: SessionFactory) -> None:
    session, pbx = await open_session()
    call = asyncio.create_task(session.get_variable("NAME"))
    assert await pbx.read_command() == "GET VARIABLE NAME"
    await pbx.send_raw(b"200 result=1 (M\xfcller \xff)\n")
    assert await call == "M\ufffdller \ufffd"
    call = asyncio.create_task(session.get_variable("NAME"))
    assert await pbx.read_command() == "GET VARIABLE NAME"
    await pbx.send_raw(b"\xff\xfe\xfd\n")
    with pytest.raises(AgiProtocolError, match="not an AGI reply"):
        await call


async def test_unsolicited_reply_closes_the_session(open_session: SessionFactory) -> None:
    session, pbx = await open_session()
    await pbx.reply("200 result=0")  # nobody asked: we are out of step
    assert await pbx.wait_closed() == []
    with pytest.raises(AgiProtocolError, match="no command was waiting"):
        await session.answer()


async def test_no_reply_within_timeout(open_session: SessionFactory) -> None:
    session, pbx = await open_session(command_timeout=0.2)
    call = asyncio.create_task(session.get_variable("SLOW"))
    assert await pbx.read_command() == "GET VARIABLE SLOW"
    with pytest.raises(AgiTimeout, match="GET VARIABLE"):
        await call
    # the connection is out of step now: it is closed, later commands fail at once
    assert await pbx.wait_closed() == []
    with pytest.raises(AgiTimeout):
        await session.get_variable("LATER")
    assert not session.hung_up


async def test_media_commands_get_the_session_deadline_unless_told_otherwise(
    open_session: SessionFactory,
) -> None:
    bounded, pbx = await open_session(command_timeout=0.05)
    unbounded, unbounded_pbx = await open_session(command_timeout=0.05)
    call = asyncio.create_task(unbounded.stream_file("demo-congrats", timeout=None))
    assert await unbounded_pbx.read_command() == 'STREAM FILE demo-congrats ""'
    # a media command without a deadline of its own gets command_timeout
    with pytest.raises(AgiTimeout, match="STREAM FILE"):
        await bounded.stream_file("demo-congrats")
    assert await pbx.wait_closed() == ['STREAM FILE demo-congrats ""']
    # timeout=None waits for ever: the clock has passed command_timeout, still waiting
    assert not call.done()
    await unbounded_pbx.reply("200 result=0 endpos=242214")
    assert await call is None


async def test_cancellation_is_re_raised_and_closes(open_session: SessionFactory) -> None:
    session, pbx = await open_session()
    call = asyncio.create_task(session.get_data("beep", 3000, 4))
    assert await pbx.read_command() == "GET DATA beep 3000 4"
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert call.cancelled()
    assert not session.hung_up  # our own cancellation is not the caller hanging up
    # a late reply must not answer the next command: the session is closed instead
    assert await pbx.wait_closed() == []
    with pytest.raises(AgiConnectionLost):
        await session.get_variable("X")


async def test_concurrent_commands_are_serialised(open_session: SessionFactory) -> None:
    session, pbx = await open_session()
    first = asyncio.create_task(session.get_variable("A"))
    second = asyncio.create_task(session.get_variable("B"))
    await pbx.expect("GET VARIABLE A", "200 result=1 (a)")
    await pbx.expect("GET VARIABLE B", "200 result=1 (b)")
    assert (await first, await second) == ("a", "b")


# -- what is sent --------------------------------------------------------------------


async def test_values_with_spaces_and_quotes_are_one_argument(
    open_session: SessionFactory,
) -> None:
    session, pbx = await open_session()
    call = asyncio.create_task(session.set_variable("NOTE", 'he said "hi" \\o/'))
    await pbx.expect('SET VARIABLE NOTE "he said \\"hi\\" \\\\o/"', "200 result=1")
    await call


async def test_newline_in_a_value_sends_nothing(open_session: SessionFactory) -> None:
    session, pbx = await open_session()
    with pytest.raises(AgiArgumentError, match="newline"):
        await session.set_variable("X", "1\nHANGUP")
    with pytest.raises(AgiArgumentError, match="carriage return"):
        await session.exec_app("Dial", "Local/1\r@x")
    with pytest.raises(AgiArgumentError, match="NUL"):
        await session.get_variable("X\x00")
    # the very next thing on the wire is the next valid command
    call = asyncio.create_task(session.get_variable("Y"))
    await pbx.expect("GET VARIABLE Y", "200 result=0")
    assert await call is None
    assert session.commands == 1


async def test_header_bytes_after_the_blank_line_are_kept(open_session: SessionFactory) -> None:
    """A HANGUP sent right behind the header (same TCP segment) is not lost."""
    session, pbx = await open_session()
    await pbx.send_hangup()
    await asyncio.wait_for(session.hangup_seen.wait(), 2)
    assert session.request.uniqueid == "1795305542.0"


async def test_close_is_idempotent_and_pbx_sees_it(open_session: SessionFactory) -> None:
    session, pbx = await open_session()
    await session.close()
    await session.close()
    assert await pbx.wait_closed() == []
    with pytest.raises(AgiConnectionLost):
        await session.answer()


async def test_open_gives_up_on_a_slow_header() -> None:
    outcome: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

    async def accept(stream: AgiStream) -> None:
        try:
            await AgiSession.open(stream, header_timeout=0.1)
        except AgiTimeout as exc:
            outcome.set_result(exc)
        finally:
            stream.close()
            await stream.wait_closed()

    listener = await start_stream_server(accept)
    async with FakeAsterisk(listener.sockets[0].getsockname()[1]) as pbx:
        await pbx.send_raw(b"agi_network: yes\n")
        assert "AGI header" in str(await asyncio.wait_for(outcome, 5))
        assert await pbx.wait_closed() == []
    listener.close()
    await listener.wait_closed()


# -- secrets: a PIN read with GET DATA is never quoted ---------------------------


async def test_debug_trace_shows_replies_but_never_a_secret_one(
    open_session: SessionFactory, captured_log: CapturedLog
) -> None:
    session, pbx = await open_session()
    call = asyncio.create_task(session.get_data("enter-pin", 5000, 4, secret=True))
    await pbx.expect("GET DATA enter-pin 5000 4", "200 result=4711")
    assert await call == "4711"
    call = asyncio.create_task(session.get_data("beep", 3000, 1))
    await pbx.expect("GET DATA beep 3000 1", "200 result=5 (timeout)")
    assert await call == "5"
    secret, plain = captured_log.named("agi_command")
    assert (secret["result"], secret["data"]) == ("[redacted]", "[redacted]")
    assert (plain["result"], plain["data"]) == ("5", "timeout")
    assert not captured_log.holds_digits("4711")


async def test_a_malformed_secret_reply_is_not_quoted(
    open_session: SessionFactory, captured_log: CapturedLog
) -> None:
    session, pbx = await open_session()
    call = asyncio.create_task(session.get_data("enter-pin", 5000, 4, secret=True))
    await pbx.expect("GET DATA enter-pin 5000 4", "2OO result=4711")
    with pytest.raises(AgiProtocolError, match="malformed reply to a secret command") as info:
        await call
    assert "4711" not in str(info.value)
    (problem,) = captured_log.named("agi_protocol_error")
    assert not captured_log.holds_digits("4711")
    assert problem["problem"] == "malformed reply to a secret command"


# -- between commands: nobody reads, yet nothing is missed ----------------------------


async def test_a_command_is_read_in_its_own_task(open_session: SessionFactory) -> None:
    """No reader task next to the commands (issue 19: it cost a wake-up per reply)."""
    session, pbx = await open_session()
    call = asyncio.create_task(session.get_variable("A"))
    assert await pbx.read_command() == "GET VARIABLE A"
    assert asyncio.all_tasks() == {asyncio.current_task(), call}
    await pbx.reply("200 result=1 (a)")
    assert await call == "a"
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_a_hangup_line_in_pieces_between_commands(open_session: SessionFactory) -> None:
    session, pbx = await open_session()
    answering = asyncio.create_task(session.answer())
    await pbx.expect("ANSWER", "200 result=0")
    await answering
    await pbx.send_raw(b"HANG")
    await pbx.send_raw(b"UP\n")
    await asyncio.wait_for(session.hangup_seen.wait(), 2)
    call = asyncio.create_task(session.get_variable("DIALSTATUS"))
    await pbx.expect("GET VARIABLE DIALSTATUS", "200 result=1 (CANCEL)")
    assert await call == "CANCEL"


async def test_a_command_takes_over_half_a_line_read_between_commands(
    open_session: SessionFactory,
) -> None:
    session, pbx = await open_session()
    await pbx.send_raw(b"HANG")  # read while idle; the rest comes after the next command
    call = asyncio.create_task(session.get_variable("X"))
    assert await pbx.read_command() == "GET VARIABLE X"
    await pbx.send_raw(b"UP\n200 result=1 (x)\n")
    assert await call == "x"
    assert session.hung_up


async def test_many_lines_between_commands(open_session: SessionFactory) -> None:
    """More than one read's worth (4 KiB) arriving while idle: all of it is taken."""
    session, pbx = await open_session()
    await pbx.send_raw(b"HANGUP\n" * 2000)
    await asyncio.wait_for(session.hangup_seen.wait(), 2)
    call = asyncio.create_task(session.get_variable("X"))
    await pbx.expect("GET VARIABLE X", "200 result=1 (x)")
    assert await call == "x"


async def test_an_unsolicited_reply_behind_a_reply_closes_the_session(
    open_session: SessionFactory, captured_log: CapturedLog
) -> None:
    session, pbx = await open_session()
    call = asyncio.create_task(session.get_variable("A"))
    await pbx.expect("GET VARIABLE A", "200 result=1 (a)", "200 result=1 (b)")
    assert await call == "a"  # its own reply; the second one nobody asked for
    assert await pbx.wait_closed() == []
    (problem,) = captured_log.named("agi_protocol_error")
    assert "no command was waiting" in problem["problem"]
    with pytest.raises(AgiProtocolError):
        await session.get_variable("B")


async def test_the_peer_closing_between_commands_is_a_hangup(
    open_session: SessionFactory,
) -> None:
    session, pbx = await open_session()
    call = asyncio.create_task(session.answer())
    await pbx.expect("ANSWER", "200 result=0")
    await call
    await pbx.close()
    await asyncio.wait_for(session.hangup_seen.wait(), 2)
    assert session.closed
    with pytest.raises(AgiConnectionLost):
        await session.answer()


async def test_a_cancelled_queued_command_sends_nothing(open_session: SessionFactory) -> None:
    session, pbx = await open_session()
    first = asyncio.create_task(session.get_variable("A"))
    second = asyncio.create_task(session.get_variable("B"))
    third = asyncio.create_task(session.get_variable("C"))
    assert await pbx.read_command() == "GET VARIABLE A"
    second.cancel()
    await pbx.reply("200 result=1 (a)")
    await pbx.expect("GET VARIABLE C", "200 result=1 (c)")
    assert (await first, await third) == ("a", "c")
    assert second.cancelled()
    assert session.commands == 2
    assert not session.closed


async def test_closing_on_a_peer_that_reads_nothing_cuts_it_off_after_the_grace(
    open_session: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Closing waits for what is still unsent, but not for ever: a peer whose window is
    full (it reads nothing) is cut off after the grace, and the close returns."""
    monkeypatch.setattr(stream_module, "CLOSE_GRACE", 0.2)
    session, _pbx = await open_session()
    stream = session._stream
    stream.transport.write(b"x" * 20_000_000)  # more than the socket buffers hold: queued
    assert stream.transport.get_write_buffer_size() > 0
    await asyncio.wait_for(session.close(), 5)
    assert stream.closed
    assert session.closed
