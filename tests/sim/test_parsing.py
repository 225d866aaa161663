"""Pure parts of the simulator: agent specs, caller scripts, command words, Dial strings, timing."""

from __future__ import annotations

import pytest

from hotline.agi.wire import format_command
from hotline.sim.agents import AgentBehaviour, parse_agents
from hotline.sim.caller import CallerScript
from hotline.sim.clock import VirtualClock
from hotline.sim.commands import find_command, split_words
from hotline.sim.dialplan import confirm_subroutine, parse_dial, parse_target, separate_args
from hotline.sim.errors import SimError
from hotline.sim.media import Press, first_event, read_digits

# -- agents ------------------------------------------------------------------------


def test_parse_agents_reads_kinds_timings_and_default() -> None:
    agents = parse_agents(
        " 201=no-answer, 202=voicemail:4 ,203=accept:3,204=accept:answer=5:talk=60,"
        "205=decline:digit=9,206=hangup:0.5,*=busy"
    )
    assert agents["201"] == AgentBehaviour("no-answer")
    assert agents["202"].answer_after == 4.0
    assert agents["203"].press_after == 3.0
    assert (agents["204"].answer_after, agents["204"].talk_seconds) == (5.0, 60.0)
    assert agents["205"].key == "9"
    assert agents["206"].hangup_after == 0.5
    assert agents["*"].kind == "busy"
    assert AgentBehaviour("accept").key == "1"
    assert AgentBehaviour("decline").key == "2"
    assert AgentBehaviour("wrong-key").key == "5"
    assert AgentBehaviour("voicemail").key is None


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("201", "write <number>=<behaviour>"),
        ("=accept", "write <number>=<behaviour>"),
        ("201=acept", "unknown behaviour 'acept'"),
        ("201=busy:3", "'busy' takes no timing"),
        ("201=accept:soon", "needs a number of seconds"),
        ("201=accept:speed=2", "unknown option 'speed'"),
        ("201=accept:digit=12", "digit must be one DTMF key"),
        ("201=accept:-1", "must be a number of seconds >= 0"),
        ("201=accept,201=busy", "agent 201 is given twice"),
        ("20 1=accept", "is not an agent number"),
        (" , ", "agent spec is empty"),
    ],
)
def test_parse_agents_errors_are_one_clear_line(spec: str, expected: str) -> None:
    with pytest.raises(SimError) as caught:
        parse_agents(spec)
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message


def test_agent_behaviour_rejects_unknown_kind() -> None:
    with pytest.raises(SimError, match="unknown"):
        AgentBehaviour("sleepy")  # type: ignore[arg-type]


# -- caller scripts ------------------------------------------------------------------


def test_caller_script_defaults_and_path() -> None:
    script = CallerScript("sales", pin_entries=["1234#", None])
    assert script.path == "hotline/sales"
    assert script.entry(0) == "1234#"
    assert script.entry(1) is None
    assert script.entry(7) is None
    assert CallerScript("x", agi_path="hotline").path == "hotline"
    assert script.hangs_up_during("pin", 1) is False
    assert CallerScript("x", hangup_during=("pin", 2)).hangs_up_during("pin", 2)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"pin_entries": ["12a4"]}, "pin entry 1 may hold only"),
        ({"hangup_during": ("pin", 0)}, "1-based occurrence"),
        ({"hangup_during": ("", 1)}, "needs a step name"),
        ({"hangup_after": -1.0}, "hangup_after must be seconds"),
        ({"hangup_line": "sometimes"}, "hangup_line must be"),
    ],
)
def test_caller_script_errors(kwargs: dict[str, object], expected: str) -> None:
    with pytest.raises(SimError, match=expected):
        CallerScript("sales", **kwargs)  # type: ignore[arg-type]


# -- command lines -----------------------------------------------------------------


@pytest.mark.parametrize(
    "words",
    [
        ("STREAM FILE", "beep", ""),
        ("EXEC", "Dial", "Local/201@sim-agents,15,m(default)U(hotline-confirm^1.0^201^x y)"),
        ("SET VARIABLE", "GREETING", 'say "hi" \\ back'),
        ("VERBOSE", "tab\there", "1"),
    ],
)
def test_split_words_inverts_the_agi_layers_quoting(words: tuple[str, ...]) -> None:
    line = format_command(*words).decode().removesuffix("\n")
    name_words = words[0].split(" ")
    assert split_words(line) == [*name_words, *words[1:]]


def test_find_command_is_case_insensitive_and_keeps_cr() -> None:
    spec = find_command(split_words('stream file beep ""'))
    assert spec is not None
    assert spec.name == "STREAM FILE"
    assert find_command(split_words("ANSWER\r")) is None  # Asterisk only strips \n
    assert find_command(["GET"]) is None
    assert find_command([]) is None


# -- dial strings ------------------------------------------------------------------


def test_parse_dial_with_options_and_confirm_gosub() -> None:
    request = parse_dial("Local/201@sim-agents,15,m(default)U(hotline-confirm^1.0^201^)tT")
    assert [t.number for t in request.targets] == ["201"]
    assert request.timeout == 15.0
    assert request.moh_class == "default"
    assert request.gosub is not None
    assert request.gosub.context == "hotline-confirm"
    assert request.gosub.args == ("1.0", "201", "")
    assert request.options["t"] is None


def test_parse_dial_targets_and_timeouts() -> None:
    request = parse_dial("PJSIP/202&SIP/trunk/0301@x,,m")
    assert [(t.tech, t.number) for t in request.targets] == [("PJSIP", "202"), ("SIP", "0301")]
    assert request.timeout is None
    assert request.moh_class == "default"
    assert parse_dial("Local/1@a,abc").timeout is None  # invalid: Asterisk rings for ever
    assert parse_target("Local/201@sim-agents/n").channel_base() == "Local/201@sim-agents"
    assert parse_target("PJSIP/201").channel_base() == "PJSIP/201"
    assert not parse_target("Foo/201").known_tech


def test_separate_args_respects_brackets_and_quotes() -> None:
    assert separate_args('a,m(x,y),"b,c",d\\,e') == ["a", "m(x,y)", "b,c", "d,e"]


def test_confirm_subroutine_is_fail_closed() -> None:
    accepted = confirm_subroutine("ACCEPTED", None, agent_alive=True)
    assert (accepted.gosub_result, accepted.retval) == ("ACCEPTED", "ACCEPTED")
    declined = confirm_subroutine("DECLINED", None, agent_alive=True)
    assert (declined.gosub_result, declined.retval) == ("CONTINUE", "DECLINED")
    unset = confirm_subroutine("", None, agent_alive=True)
    assert (unset.gosub_result, unset.retval) == ("CONTINUE", "ERROR")
    # agent gone: the subroutine stops at the AGI, only what the AGI set counts
    gone = confirm_subroutine("ACCEPTED", "CONTINUE", agent_alive=False)
    assert (gone.gosub_result, gone.retval, gone.completed) == ("CONTINUE", None, False)


# -- virtual time --------------------------------------------------------------------


def test_virtual_clock_only_moves_forward() -> None:
    clock = VirtualClock()
    assert clock.advance(2.5) == 2.5
    assert clock.advance_to(1.0) == 2.5
    assert clock.advance_to(4.0) == 4.0
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance(-1)


def test_first_event_prefers_escape_digits_and_drops_others() -> None:
    presses = [Press(1.0, "5"), Press(1.5, "1")]
    assert first_event(0.0, 2.0, presses, "1", None).kind == "digit"
    assert first_event(0.0, 2.0, presses, "1", None).at == 1.5
    assert first_event(0.0, 2.0, presses, "", None).kind == "done"
    hung = first_event(0.0, 2.0, presses, "1", 1.2)
    assert (hung.kind, hung.at) == ("hangup", 1.2)
    # half-open windows: a key pressed as a prompt ends belongs to the next command
    assert first_event(0.0, 1.0, presses, "5", None).kind == "done"
    assert first_event(1.0, 3.0, presses, "5", None).kind == "digit"


def test_read_digits_like_get_data() -> None:
    typed = [Press(3.0, "1"), Press(3.3, "2"), Press(3.6, "#")]
    done = read_digits(0.0, 2.0, 3.0, 3.0, 4, typed, None)
    assert (done.digits, done.timed_out, done.at) == ("12", False, 3.6)
    full = read_digits(0.0, 2.0, 3.0, 3.0, 1, typed, None)
    assert (full.digits, full.timed_out, full.next_press) == ("1", False, 1)
    over_prompt = read_digits(0.0, 2.0, 3.0, 3.0, 4, [Press(0.5, "7")], None)
    assert (over_prompt.digits, over_prompt.at) == ("7", 3.5)  # typed over the prompt counts
    short = read_digits(0.0, 2.0, 3.0, 3.0, 4, typed[:2], None)
    assert (short.digits, short.timed_out, short.at) == ("12", True, 6.3)
    nothing = read_digits(0.0, 2.0, 3.0, 3.0, 4, [], None)
    assert (nothing.digits, nothing.timed_out, nothing.at) == ("", True, 5.0)
    gone = read_digits(0.0, 2.0, 3.0, 3.0, 4, typed, 1.0)
    assert gone.hung_up
