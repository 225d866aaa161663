"""Pure tests of the FastAGI wire format: header, replies, command quoting."""

from __future__ import annotations

import itertools
import random
import tracemalloc

import pytest

from hotline.agi.errors import AgiArgumentError, AgiProtocolError
from hotline.agi.header import HeaderEnv
from hotline.agi.wire import (
    MAX_COMMAND_BYTES,
    AgiReply,
    format_command,
    parse_header,
    parse_reply,
    quote_word,
    reply_is_incomplete,
)
from tests.agi import recorded
from tests.agi.res_agi import parse_args


def header_lines(raw: bytes) -> list[str]:
    return raw.decode().split("\n")[:-2]


# -- header ----------------------------------------------------------------


def test_header_of_recording_01() -> None:
    request = parse_header(header_lines(recorded.load("01_").header))
    assert request.network_script == "hotline"
    assert request.path == "hotline"
    assert request.uniqueid == "1795305542.0"
    assert request.channel == "Local/s@sim-caller-00000000;1"
    assert request.callerid == "5550001"
    assert request.calleridname == "Lab Caller"
    assert request.language == "en"
    assert request.context == "hotline-in"
    assert request.extension == "100"
    assert request.priority == "2"
    assert request.version == "22.10.1"
    assert request.env["agi_accountcode"] == ""
    assert request.args == ()
    assert request.query == {}


def test_header_args_in_order_with_empty_ones_kept() -> None:
    request = parse_header(header_lines(recorded.load("12_").header))
    assert request.args == ("203", "beep")
    request = parse_header(["agi_arg_1: a b", "agi_arg_2: ", "agi_arg_3: c", "agi_arg_5: gap"])
    assert request.args == ("a b", "", "c")


def test_header_path_and_query() -> None:
    request = parse_header(["agi_network_script: /hotline/support?lang=de&empty=&x=a%20b"])
    assert request.path == "hotline/support"
    assert request.query == {"lang": "de", "empty": "", "x": "a b"}


def test_header_without_script_has_empty_path() -> None:
    # Asterisk omits agi_network_script for agi://host:port with no path
    assert parse_header(["agi_network: yes"]).path == ""


@pytest.mark.parametrize(
    ("lines", "env"),
    [
        # Asterisk's form: the name ends at the first colon, the value loses the one blank
        # after it and keeps the rest
        (
            ["agi_x: a: b", "agi_y:  two", "agi_z: "],
            {"agi_x": "a: b", "agi_y": " two", "agi_z": ""},
        ),
        # other forms: a second colon stays in the value, blanks around the name go, a
        # missing blank after the colon is fine, any name is kept, the last repeat wins
        (["agi_x:y: z"], {"agi_x": "y: z"}),
        ([" agi_x \t: v", "agi_y: w"], {"agi_x": "v", "agi_y": "w"}),
        (["agi_x:v", "agi_y: w"], {"agi_x": "v", "agi_y": "w"}),
        (["agi-x: v", "1st: w"], {"agi-x": "v", "1st": "w"}),
        (["agi_x: 1", "agi_x: 2"], {"agi_x": "2"}),
        ([], {}),
    ],
)
def test_header_lines_of_any_form_give_the_same_environment(
    lines: list[str], env: dict[str, str]
) -> None:
    assert dict(parse_header(lines).env) == env


def test_header_line_with_an_empty_name_is_a_protocol_error() -> None:
    with pytest.raises(AgiProtocolError, match="line 2"):
        parse_header(["agi_network: yes", ": no name"])


def test_header_line_without_colon_is_a_protocol_error() -> None:
    with pytest.raises(AgiProtocolError, match="line 2"):
        parse_header(["agi_network: yes", "GET / HTTP/1.1"])


def test_header_lines_alike_on_every_call_are_shared_and_a_call_s_own_never_kept() -> None:
    """Two calls' requests share the strings of the lines every call has (language, context,
    version...): a call keeps its header for as long as it lasts."""
    from hotline.agi import wire

    lines = header_lines(recorded.load("12_").header)
    first, second = parse_header(lines), parse_header(lines)
    assert first.env == second.env
    shared = [key for key in first.env if first.env[key] is second.env[key]]
    # the 15 names every call has alike, and nothing else (no other line of this header has a
    # value CPython keeps once anyway, "" or one character)
    assert set(shared) == set(wire._SHARED_NAMES)
    # a line naming the call, its channel, its caller or an argument is neither shared nor kept:
    # only its name is
    names = {key: key for key in second.env}
    for own in ("agi_uniqueid", "agi_channel", "agi_callerid", "agi_threadid", "agi_arg_1"):
        assert own not in shared
        assert not any(key == own for key, _ in wire._SHARED_LINES.values())
        (first_name,) = (key for key in first.env if key == own)
        assert first_name is names[own]


def test_shared_header_lines_stay_bounded_and_never_hold_a_long_line() -> None:
    from hotline.agi import wire

    for number in range(wire.CACHE_ENTRIES + 10):
        parse_header([f"agi_extension: {number}"])
        assert len(wire._SHARED_LINES) <= wire.CACHE_ENTRIES
    long = "agi_context: " + "x" * wire.CACHED_CHARS
    assert parse_header([long]).env["agi_context"] == "x" * wire.CACHED_CHARS
    assert long not in wire._SHARED_LINES


def test_a_header_reads_as_the_mapping_of_its_lines() -> None:
    lines = ["agi_uniqueid: 1.2", "agi_arg_1: a", "agi_uniqueid: 1.3", "agi_context: x"]
    env = parse_header(lines).env
    as_dict = {"agi_uniqueid": "1.3", "agi_arg_1": "a", "agi_context": "x"}  # last one wins
    assert env == as_dict
    assert as_dict == env
    assert list(env) == list(as_dict)
    assert len(env) == 3
    assert env.get("agi_context") == "x"
    assert env.get("agi_nope") is None
    assert env.get("agi_nope", "") == ""
    assert "agi_arg_1" in env
    assert "agi_nope" not in env
    with pytest.raises(KeyError):
        env["agi_nope"]
    assert HeaderEnv.of(env) is env
    assert HeaderEnv.of(as_dict) == env
    with pytest.raises(ValueError, match="one value per name"):
        HeaderEnv(("agi_a", "agi_b"), ("1",))


def test_a_header_keeps_its_values_and_shares_the_index_of_its_names() -> None:
    """A call keeps its header for as long as it lasts, three per call: a tuple of its
    values, less than half of what a dict of the same lines keeps."""
    lines = header_lines(recorded.load("12_").header)
    env = parse_header(lines).env
    names, values = tuple(env), tuple(env.values())
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        header = HeaderEnv(names, tuple(list(values)))
        kept = tracemalloc.get_traced_memory()[0] - start
        as_dict = dict(zip(names, values, strict=True))
        dict_kept = tracemalloc.get_traced_memory()[0] - start - kept
    finally:
        tracemalloc.stop()
    assert header == as_dict == env
    assert kept * 2 < dict_kept  # 336 against 864 bytes (3.11)


def test_header_shapes_stay_bounded_and_only_those_of_asterisk_s_names_are_kept() -> None:
    from hotline.agi import header

    names = ["agi_uniqueid", "agi_channel", "agi_context", "agi_arg_1", "agi_arg_2"]
    for order in itertools.permutations(names):  # 120 shapes of names Asterisk sends
        env = parse_header([f"{name}: 1.2" for name in order]).env
        assert list(env) == list(order)
        assert len(header._SHAPES) <= header.SHAPES_KEPT
    assert tuple(order) in header._SHAPES
    # a name Asterisk never sends (a hostile peer's odd line): read, and never kept
    odd = parse_header(["agi_uniqueid: 1.2", "k: \udcff"])
    assert odd.uniqueid == "1.2"
    assert odd.env["k"] == "\udcff"
    assert not any("k" in shape for shape in header._SHAPES)


def test_header_request_is_immutable() -> None:
    env = {"agi_uniqueid": "1.2"}
    request = parse_header([f"{k}: {v}" for k, v in env.items()])
    with pytest.raises(TypeError):
        request.env["agi_uniqueid"] = "x"  # type: ignore[index]


# -- replies ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("200 result=0", AgiReply(200, "0")),
        ("200 result=0 endpos=242214", AgiReply(200, "0", None, {"endpos": "242214"})),
        ("200 result=-1 endpos=38560", AgiReply(200, "-1", None, {"endpos": "38560"})),
        ("200 result=1234", AgiReply(200, "1234")),
        ("200 result= (timeout)", AgiReply(200, "", "timeout")),
        ("200 result=12 (timeout)", AgiReply(200, "12", "timeout")),
        ("200 result=1 (ANSWER)", AgiReply(200, "1", "ANSWER")),
        (
            "200 result=1 (Local/201@sim-agents-00000001;1)",
            AgiReply(200, "1", "Local/201@sim-agents-00000001;1"),
        ),
        ("200 result=1 ()", AgiReply(200, "1", "")),
        ("200 result=1 (a (nested) value)", AgiReply(200, "1", "a (nested) value")),
        ("200 result=1 (x) endpos=5)", AgiReply(200, "1", "x) endpos=5")),
        ("200 result=0 (timeout) endpos=1234", AgiReply(200, "0", "timeout", {"endpos": "1234"})),
        ("200 result=49", AgiReply(200, "49")),
    ],
)
def test_parse_reply(line: str, expected: AgiReply) -> None:
    reply = parse_reply(line)
    assert (reply.code, reply.result, reply.data, dict(reply.extras)) == (
        expected.code,
        expected.result,
        expected.data,
        dict(expected.extras),
    )


def test_parse_error_replies_keep_their_text() -> None:
    reply = parse_reply("511 Command Not Permitted on a dead channel or intercept routine")
    assert reply.code == 511
    assert reply.text == "Command Not Permitted on a dead channel or intercept routine"
    assert parse_reply("510 Invalid or unknown command").text == "Invalid or unknown command"


def test_parse_trying() -> None:
    reply = parse_reply("100 result=0 Trying...")
    assert (reply.code, reply.result) == (100, "0")


@pytest.mark.parametrize(
    "line", ["HANGUP", "", "foo", "20 result=1", "200 foo", "200 result=1 (open", "abc 200"]
)
def test_unparseable_reply_is_a_protocol_error(line: str) -> None:
    with pytest.raises(AgiProtocolError):
        parse_reply(line)


def test_result_int() -> None:
    assert parse_reply("200 result=-1").result_int == -1
    with pytest.raises(AgiProtocolError, match="not a number"):
        _ = parse_reply("200 result=1234#").result_int


def test_reply_is_incomplete_only_for_open_data() -> None:
    assert reply_is_incomplete("200 result=1 (first line")
    assert not reply_is_incomplete("200 result=1 (first line\nsecond)")
    assert not reply_is_incomplete("200 result=1 (x)")
    assert not reply_is_incomplete("200 result=0")
    assert not reply_is_incomplete("511 Command Not Permitted (really")


# -- commands --------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "wire"),
    [
        (("ANSWER",), b"ANSWER\n"),
        (("STREAM FILE", "demo-congrats", ""), b'STREAM FILE demo-congrats ""\n'),
        (("STREAM", "FILE", "demo-congrats", ""), b'STREAM FILE demo-congrats ""\n'),
        (("GET DATA", "beep", "3000", "4"), b"GET DATA beep 3000 4\n"),
        (
            ("EXEC", "Dial", "Local/201@sim-agents,15,U(hotline-confirm^${UNIQUEID})"),
            b"EXEC Dial Local/201@sim-agents,15,U(hotline-confirm^${UNIQUEID})\n",
        ),
        (("SET VARIABLE", "GOSUB_RESULT", "CONTINUE"), b"SET VARIABLE GOSUB_RESULT CONTINUE\n"),
        (("VERBOSE", 'say "hi"', "1"), b'VERBOSE "say \\"hi\\"" 1\n'),
    ],
)
def test_format_command_matches_recorded_bytes(words: tuple[str, ...], wire: bytes) -> None:
    assert format_command(*words) == wire


TRICKY = [
    "",
    " ",
    "two words",
    "tab\tinside",
    '"',
    'say "hi"',
    "back\\slash",
    "trailing\\",
    '\\"',
    '""',
    "  leading and trailing  ",
    "Dial(Local/1@x,15,U(c^1^2))",
    "ünïcødé ☎",
    "${UNIQUEID}",
    "a;b|c,d",
]


@pytest.mark.parametrize("value", TRICKY)
def test_value_arrives_as_one_argument(value: str) -> None:
    line = format_command("SET VARIABLE", "NAME", value, "last").decode()[:-1]
    assert parse_args(line) == ["SET", "VARIABLE", "NAME", value, "last"]


def test_random_values_round_trip_through_parse_args() -> None:
    rng = random.Random(4573)
    alphabet = ' \t"\\ab,()^$é'
    for _ in range(2000):
        values = ["".join(rng.choices(alphabet, k=rng.randint(0, 8))) for _ in range(3)]
        line = format_command("EXEC", *values).decode()[:-1]
        assert parse_args(line) == ["EXEC", *values], line


@pytest.mark.parametrize("bad", ["a\nHANGUP", "a\rb", "nul\x00", "\n"])
def test_newline_cr_nul_refused(bad: str) -> None:
    with pytest.raises(AgiArgumentError, match="argument 2 of SET VARIABLE"):
        format_command("SET VARIABLE", "X", bad)


@pytest.mark.parametrize("name", ["", "GET  DATA", "GET\nDATA", "ANSWER 1", "FAILURE", '"ANSWER"'])
def test_bad_command_names_refused(name: str) -> None:
    with pytest.raises(AgiArgumentError, match="command"):
        format_command(name)


def test_line_asterisk_would_cut_is_refused() -> None:
    fits = "x" * (MAX_COMMAND_BYTES - len(b"VERBOSE  1\n"))
    assert len(format_command("VERBOSE", fits, "1")) == MAX_COMMAND_BYTES
    with pytest.raises(AgiArgumentError, match="at most"):
        format_command("VERBOSE", fits + "x", "1")


def test_too_many_words_refused() -> None:
    assert parse_args(format_command("EXEC", *["a"] * 126).decode()[:-1]) == ["EXEC", *["a"] * 126]
    # what Asterisk would do with one more: the 128th word silently vanishes
    assert len(parse_args("EXEC" + " a" * 127)) == 127
    with pytest.raises(AgiArgumentError, match="127"):
        format_command("EXEC", *["a"] * 127)


def test_quote_word_leaves_plain_words_alone() -> None:
    assert quote_word("beep") == "beep"
    assert quote_word("") == '""'


def test_short_replies_and_commands_are_remembered_long_ones_never() -> None:
    """A call repeats its replies and commands; a hostile peer must not fill memory."""
    from hotline.agi import wire

    assert wire.parse_reply("200 result=0 endpos=8000") is wire.parse_reply(
        "200 result=0 endpos=8000"
    )
    assert wire.format_command("STREAM FILE", "beep", "") is wire.format_command(
        "STREAM FILE", "beep", ""
    )
    before = wire._parse_remembered.cache_info().currsize
    long_reply = "200 result=1 (" + "x" * 300 + ")"
    assert wire.parse_reply(long_reply).data == "x" * 300
    assert wire._parse_remembered.cache_info().currsize == before
    long_command = ("VERBOSE", "y" * 300, "1")
    assert wire.format_command(*long_command).startswith(b"VERBOSE ")
    assert wire.remembered_command(long_command) is None
    assert wire.remembered_command(("STREAM FILE", "beep", "")) == (
        b'STREAM FILE beep ""\n',
        "STREAM FILE",
        False,
    )
    with pytest.raises(AgiArgumentError):  # refused every time, never remembered
        wire.format_command("SET VARIABLE", "X", "a\nb")
    assert wire.remembered_command(("SET VARIABLE", "X", "a\nb")) is None
    with pytest.raises(AgiProtocolError):  # an error is raised every time, never remembered
        wire.parse_reply("2OO result=1")
    with pytest.raises(AgiProtocolError):
        wire.parse_reply("2OO result=1")


def test_remembered_commands_stay_bounded() -> None:
    """Each call sends commands of its own (its channel in them): the memory stays bounded."""
    from hotline.agi import wire

    for number in range(wire.CACHE_ENTRIES + 10):
        wire.format_command("GET FULL VARIABLE", "${CHANNEL(checkhangup)}", f"{number}.1")
        assert len(wire._PREPARED) <= wire.CACHE_ENTRIES
    last = ("GET FULL VARIABLE", "${CHANNEL(checkhangup)}", f"{wire.CACHE_ENTRIES + 9}.1")
    assert wire.remembered_command(last) is not None


def test_a_whole_reply_line_is_remembered_by_its_bytes_and_kind() -> None:
    """The session looks a reply's bytes up before decoding them: what is remembered must be
    exactly what parsing the line gives, per kind of command."""
    from hotline.agi import wire

    raw = b"200 result=1 (0)\r"
    reply = wire.reply_from_line(raw, free_text=True)
    assert reply == AgiReply(code=200, result="1", data="0", text="result=1 (0)")
    assert wire.remembered_free_text_reply(raw) is reply
    assert wire.remembered_reply(raw) is None  # a strict command's reply: its own table
    assert wire.reply_from_line(raw, free_text=False) == reply
    assert wire.remembered_reply(raw) is not None


@pytest.mark.parametrize(
    ("raw", "free_text"),
    [
        (b"HANGUP", False),  # out of band: the session notes it and reads on
        (b"520-Invalid command syntax.  Proper usage follows:", False),  # a block's first line
        (b"100 result=0 Trying...", False),  # the real reply follows
        (b"200 result=1 (first line", True),  # a value with a newline: read on
    ],
)
def test_a_line_that_is_not_a_whole_reply_is_neither_taken_nor_remembered(
    raw: bytes, free_text: bool
) -> None:
    from hotline.agi import wire

    assert wire.reply_from_line(raw, free_text) is None
    assert wire.remembered_reply(raw) is None
    assert wire.remembered_free_text_reply(raw) is None


def test_remembered_replies_stay_bounded_and_never_hold_a_long_or_malformed_line() -> None:
    """A hostile peer varying its replies must not fill memory."""
    from hotline.agi import wire

    for number in range(wire.CACHE_ENTRIES + 10):
        wire.reply_from_line(f"200 result=1 ({number})".encode(), free_text=True)
        assert len(wire._FREE_TEXT_REPLIES) <= wire.CACHE_ENTRIES
    long_line = b"200 result=1 (" + b"x" * 300 + b")"
    reply = wire.reply_from_line(long_line, free_text=True)
    assert reply is not None
    assert reply.data == "x" * 300
    assert wire.remembered_free_text_reply(long_line) is None
    for _ in range(2):  # raised every time, never remembered
        with pytest.raises(AgiProtocolError):
            wire.reply_from_line(b"2OO result=1", free_text=False)
    assert wire.remembered_reply(b"2OO result=1") is None
