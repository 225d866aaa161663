"""FastAGI wire format: the AGI header, reply lines and command lines (pure, no I/O).

Written from what Asterisk 22 really sends (tests/agi/recordings) and
from ``res/res_agi.c``: ``setup_env`` for the header, the ``ast_agi_send``
formats for replies and ``parse_args`` for how a command line is split.

panoramisk 1.4's ``parse_agi_result`` is not reused: it drops the data of
``200 result= (timeout)`` (its value pattern needs a non-blank value), reports a
variable whose value is ``hangup`` as a hang-up, turns every ``result=-1`` into
an "error" and returns dicts instead of raising.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple
from urllib.parse import parse_qsl

from hotline.agi.errors import AgiArgumentError, AgiProtocolError
from hotline.agi.header import HeaderEnv

#: ``AGI_BUF_LEN`` in res_agi.c: Asterisk reads a command into 8192 bytes
#: (with the terminating NUL); a longer line is cut and its tail runs as a
#: second command, so longer lines are refused before sending.
MAX_COMMAND_BYTES = 8191
#: ``MAX_ARGS`` in res_agi.c: words past the 127th are silently dropped.
MAX_COMMAND_WORDS = 127

_EMPTY: Mapping[str, str] = MappingProxyType({})


def _frozen(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class AgiRequest:
    """The AGI environment Asterisk sends when a FastAGI connection opens."""

    env: Mapping[str, str]
    # read once, when the header is: the route, the flows and their log lines ask for these
    # again and again (a property or a cached_property, CPython 3.11's with a lock, was a
    # Python call each time; issue 19)
    #: the script without query string and without leading slash: the route key
    path: str = field(init=False, repr=False)
    #: ``agi_arg_1`` … ``agi_arg_N`` in order (empty arguments kept)
    args: tuple[str, ...] = field(init=False, repr=False)
    uniqueid: str = field(init=False, repr=False)
    channel: str = field(init=False, repr=False)
    callerid: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        env = HeaderEnv.of(self.env)
        found: list[str] = []
        while (arg := env.get(f"agi_arg_{len(found) + 1}")) is not None:
            found.append(arg)
        fields: tuple[tuple[str, object], ...] = (
            ("env", env),
            ("path", env.get("agi_network_script", "").partition("?")[0].lstrip("/")),
            ("args", tuple(found)),
            ("uniqueid", env.get("agi_uniqueid", "")),
            ("channel", env.get("agi_channel", "")),
            ("callerid", env.get("agi_callerid", "")),
        )
        for name, value in fields:
            object.__setattr__(self, name, value)

    def _get(self, key: str) -> str:
        return self.env.get(key, "")

    @property
    def network_script(self) -> str:
        """``agi_network_script``: the URL path after ``host:port/``, query included."""
        return self._get("agi_network_script")

    @property
    def query(self) -> Mapping[str, str]:
        """Parameters of the script's query string (``agi://host/route?a=1``)."""
        _, _, qs = self.network_script.partition("?")
        return _frozen(dict(parse_qsl(qs, keep_blank_values=True)))

    @property
    def calleridname(self) -> str:
        return self._get("agi_calleridname")

    @property
    def language(self) -> str:
        return self._get("agi_language")

    @property
    def context(self) -> str:
        return self._get("agi_context")

    @property
    def extension(self) -> str:
        return self._get("agi_extension")

    @property
    def priority(self) -> str:
        return self._get("agi_priority")

    @property
    def version(self) -> str:
        return self._get("agi_version")


#: the header's lines that are the same on every call a dialplan sends to one route
#: (tests/agi/recordings/*.rx: network, script, request, language, type, version, the
#: presentation fields, context, extension, priority, enhanced, account code); never a line
#: that names a call, a channel, a caller or an argument
_SHARED_NAMES = frozenset(
    {
        "agi_network",
        "agi_network_script",
        "agi_request",
        "agi_language",
        "agi_type",
        "agi_version",
        "agi_callingpres",
        "agi_callingani2",
        "agi_callington",
        "agi_callingtns",
        "agi_context",
        "agi_extension",
        "agi_priority",
        "agi_enhanced",
        "agi_accountcode",
    }
)
#: the names of the lines that differ from call to call (the same recordings), each kept
#: once: a request's line of one of these names keeps its own value but not its own copy of
#: the name (~0.6 KB per connection)
_NAMES = {
    name: name
    for name in (
        "agi_channel",
        "agi_uniqueid",
        "agi_callerid",
        "agi_calleridname",
        "agi_dnid",
        "agi_rdnis",
        "agi_threadid",
        *(f"agi_arg_{number}" for number in range(1, 10)),
    )
}
#: the shared lines as seen, whole, with their name and value: each request that has one shares
#: the two strings, where each kept two of its own for as long as its call lasts (15 of
#: Asterisk's 25 lines, ~1.6 KB per connection); emptied when full, a long one never kept
_SHARED_LINES: dict[str, tuple[str, str]] = {}


def parse_header(lines: Sequence[str]) -> AgiRequest:
    """Build the request from header lines (``key: value``, as the stream gives them: without
    their newline and CR, without the blank end line).

    A line without a colon is not AGI; it raises :class:`AgiProtocolError`.
    """
    names: list[str] = []
    values: list[str] = []
    usual = True  # only names Asterisk sends: the header's shape is remembered
    shared = _SHARED_LINES.get
    # one pass without a line count or suffix stripping: 13.7 -> 8.0 µs for Asterisk's
    # 22 lines, three headers per call (the line's number is found when one is wrong)
    for line in lines:
        pair = shared(line)
        if pair is not None:
            names.append(pair[0])
            values.append(pair[1])
            continue
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or not key:
            raise AgiProtocolError(
                f"AGI header line {lines.index(line) + 1} is not 'key: value' "
                f"({line[:60]!r}); is the peer really Asterisk?"
            )
        value = value.removeprefix(" ")
        name = _NAMES.get(key)
        if name is not None:
            key = name
        elif key in _SHARED_NAMES:
            if len(line) <= CACHED_CHARS:
                if len(_SHARED_LINES) >= CACHE_ENTRIES:
                    _SHARED_LINES.clear()
                _SHARED_LINES[line] = (key, value)
        else:
            usual = False
        names.append(key)
        values.append(value)
    return AgiRequest(HeaderEnv(tuple(names), tuple(values), remember=usual))


@dataclass(frozen=True)
class AgiReply:
    """One reply from Asterisk: ``<code> result=<result> [(<data>)] [key=value…]``."""

    code: int
    result: str = ""
    #: text inside the parentheses (``ANSWER``, ``timeout``), ``None`` when absent
    data: str | None = None
    #: trailing ``key=value`` pairs, e.g. ``endpos``
    extras: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    #: everything after the code (the message of 510/511/520 replies)
    text: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "extras", _frozen(self.extras))

    @functools.cached_property
    def result_int(self) -> int:
        """``result`` as an integer; a non-numeric result raises :class:`AgiProtocolError`.

        Remembered: the replies a call repeats are one object each (:func:`parse_reply`)."""
        try:
            return int(self.result)
        except ValueError:
            raise AgiProtocolError(
                f"AGI reply result {self.result!r} is not a number (code {self.code})"
            ) from None


_REPLY = re.compile(r"(?P<code>\d{3})(?:(?P<sep>[ -])(?P<text>.*))?", re.DOTALL)
_RESULT = re.compile(
    r"result=(?P<result>\S*)"
    r"(?:\s+\((?P<data>.*)\))?"
    r"(?P<extras>(?:\s+[A-Za-z_]\w*=\S*)*)\s*",
    re.DOTALL,
)
_EXTRA = re.compile(r"([A-Za-z_]\w*)=(\S*)")
_OPEN_DATA = re.compile(r"result=\S*\s+\(", re.DOTALL)


#: replies and commands up to this many characters are remembered (a call repeats the same
#: ones: ``200 result=0 endpos=…``, ``STREAM FILE <prompt>``): 2.3 and 1.8 µs each parsed
#: or formatted, 0.05 µs remembered (measured, CPython 3.11); longer ones, which a
#: hostile peer could vary to fill memory, are never kept
CACHED_CHARS = 200
CACHE_ENTRIES = 2048


def parse_reply(line: str) -> AgiReply:
    """Parse one reply line (without its newline).

    Raises :class:`AgiProtocolError` for anything that is not an AGI reply, so
    an unexpected line can never be taken for a result.
    """
    if len(line) <= CACHED_CHARS:
        return _parse_remembered(line)
    return _parse_reply(line)


@functools.lru_cache(maxsize=CACHE_ENTRIES)
def _parse_remembered(line: str) -> AgiReply:
    return _parse_reply(line)  # AgiReply is immutable: one object serves every caller


def _parse_reply(line: str) -> AgiReply:
    line = line.removesuffix("\n").removesuffix("\r")
    match = _REPLY.fullmatch(line)
    if match is None:
        raise AgiProtocolError(f"not an AGI reply line: {line[:80]!r}")
    code = int(match["code"])
    text = match["text"] or ""
    if code in (100, 200) and text.startswith("result="):
        body = _RESULT.fullmatch(text)
        if body is None:
            if code == 100:
                # "100 result=0 Trying..." carries free text after the result
                result = text.split()[0].removeprefix("result=")
                return AgiReply(code=code, result=result, text=text)
            raise AgiProtocolError(f"malformed AGI result: {line[:80]!r}")
        extras = dict(_EXTRA.findall(body["extras"]))
        return AgiReply(
            code=code, result=body["result"], data=body["data"], extras=extras, text=text
        )
    if code == 200:
        raise AgiProtocolError(f"AGI 200 reply without result=: {line[:80]!r}")
    return AgiReply(code=code, text=text.strip())


#: commands whose reply carries free text (a variable's or astdb value) in its
#: parentheses, verbatim: only their replies can spread over several lines.
#: Every other reply is one line, so a malformed one (``200 result=1234x (y) z``
#: to GET DATA) is a protocol error at once instead of a wait for a closing line.
FREE_TEXT_COMMANDS = frozenset({"GET VARIABLE", "GET FULL VARIABLE", "DATABASE GET"})


def reply_is_incomplete(line: str) -> bool:
    """True for a ``200 result=x (…`` line whose parenthesised data has not closed yet.

    Asterisk writes a variable's value verbatim inside the parentheses, so a
    value holding a newline spreads the reply over several lines; the reader
    joins them (for :data:`FREE_TEXT_COMMANDS` only) instead of taking the tail
    for the next command's reply.
    """
    if not line.startswith("200 "):
        return False
    text = line[4:].removesuffix("\r")
    return _OPEN_DATA.match(text) is not None and _RESULT.fullmatch(text) is None


def parse_free_text_reply(line: str) -> AgiReply | None:
    """:func:`parse_reply` for a reply to one of :data:`FREE_TEXT_COMMANDS`: ``None``
    while its data's parentheses are still open (the value goes on on the next line)."""
    if len(line) <= CACHED_CHARS:
        return _free_text_remembered(line)
    return None if reply_is_incomplete(line) else _parse_reply(line)


@functools.lru_cache(maxsize=CACHE_ENTRIES)
def _free_text_remembered(line: str) -> AgiReply | None:
    # the confirm leg asks for the caller's CHANNEL(checkhangup) every second: the
    # same "200 result=1 (0)" each time, two regular expressions less per reply
    return None if reply_is_incomplete(line) else _parse_reply(line)


#: the replies a call repeats (``200 result=0``, its leg's ``200 result=1 (0)``) by the bytes
#: they came as, per kind of command: the session looks a reply's line up here before it
#: decodes anything (a dict lookup where decoding and parsing a remembered line were ~1,000
#: instructions; issue 19).  Filled by :func:`reply_from_line`; emptied when full, and
#: never a long line (a peer's value could vary to fill memory)
_REPLIES: dict[bytes, AgiReply] = {}
_FREE_TEXT_REPLIES: dict[bytes, AgiReply] = {}
remembered_reply = _REPLIES.get
remembered_free_text_reply = _FREE_TEXT_REPLIES.get


def reply_from_line(raw: bytes, free_text: bool) -> AgiReply | None:
    """The reply one line (with or without its newline) is when it is the whole reply; ``None``
    for a line that is not (a ``HANGUP``, the first line of a ``520-`` usage block, a
    ``100 Trying``, a free-text value that goes on on the next line): the session reads
    on.  A malformed line raises :class:`AgiProtocolError`.  Short ones are remembered."""
    text = raw.decode("utf-8", errors="replace").removesuffix("\n").removesuffix("\r")
    if text == "HANGUP" or text.startswith("520-"):
        return None
    reply = parse_free_text_reply(text) if free_text else parse_reply(text)
    if reply is None or reply.code == 100:
        return None
    if len(raw) <= CACHED_CHARS:
        remembered = _FREE_TEXT_REPLIES if free_text else _REPLIES
        if len(remembered) >= CACHE_ENTRIES:
            remembered.clear()
        remembered[raw] = reply
    return reply


_COMMAND_NAME = re.compile(r"[A-Za-z]+(?: [A-Za-z]+)*")
_NEEDS_QUOTES = frozenset(' \t"\\')
_FORBIDDEN = {"\n": "a newline", "\r": "a carriage return", "\x00": "a NUL byte"}


def quote_word(word: str) -> str:
    """Quote one argument so that res_agi's ``parse_args`` yields exactly ``word``.

    ``parse_args`` splits on blanks and tabs outside double quotes, toggles
    quoting on ``"`` and takes the character after ``\\`` literally; so a word
    with a blank, tab, quote or backslash (or an empty word) goes inside quotes
    with ``\\`` and ``"`` escaped.
    """
    if word and not _NEEDS_QUOTES.intersection(word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


class PreparedCommand(NamedTuple):
    """A command as sent: its line, its name (for messages: never its arguments), and
    whether its reply carries free text (:data:`FREE_TEXT_COMMANDS`)."""

    line: bytes
    name: str
    free_text: bool


#: the commands a call repeats (``WAIT FOR DIGIT 1000``, its leg's ``GET FULL VARIABLE``),
#: prepared once: emptied when full, and a long one (a peer's value in it) never kept
_PREPARED: dict[tuple[str, ...], PreparedCommand] = {}
#: the prepared command of ``words`` if it is remembered, else ``None``: a dict lookup
#: where the caller sends a command (one lookup for line, name and reply kind; issue 19)
remembered_command = _PREPARED.get


def prepare_command(words: tuple[str, ...]) -> PreparedCommand:
    """``words`` as a command to send; :class:`AgiArgumentError` (never remembered) for
    one that must not be sent, see :func:`format_command`."""
    prepared = _PREPARED.get(words)
    if prepared is not None:
        return prepared
    line = _format_command(words)
    name = command_name(words)
    prepared = PreparedCommand(line, name, name in FREE_TEXT_COMMANDS)
    if sum(map(len, words)) <= CACHED_CHARS:
        if len(_PREPARED) >= CACHE_ENTRIES:
            _PREPARED.clear()
        _PREPARED[words] = prepared
    return prepared


def format_command(*words: str) -> bytes:
    """Encode a command line: ``format_command("STREAM FILE", "beep", "")``.

    The first word is the command name (one or more plain words, e.g.
    ``"GET VARIABLE"`` or ``"GET", "VARIABLE"``); every other word is one
    argument, quoted as needed.  A newline, CR or NUL anywhere, or a line
    Asterisk would cut, raises :class:`AgiArgumentError` and nothing is sent:
    a value can never smuggle in a second command.
    """
    return prepare_command(words).line


#: commands whose name is more than one word (for messages: never log arguments)
_LONG_NAMES = frozenset(
    {
        "asyncagi break",
        "channel status",
        "control stream file",
        "database del",
        "database deltree",
        "database get",
        "database put",
        "get data",
        "get full variable",
        "get option",
        "get variable",
        "receive char",
        "receive text",
        "record file",
        "say alpha",
        "say date",
        "say datetime",
        "say digits",
        "say number",
        "say phonetic",
        "say time",
        "send image",
        "send text",
        "set autohangup",
        "set callerid",
        "set context",
        "set extension",
        "set music",
        "set priority",
        "set variable",
        "stream file",
        "tdd mode",
        "wait for digit",
    }
)


def command_name(words: tuple[str, ...]) -> str:
    """The AGI command a word list starts with, upper-cased, without its arguments."""
    tokens = " ".join(words[:4]).split(" ")
    for size in (3, 2):
        candidate = " ".join(tokens[:size]).lower()
        if candidate in _LONG_NAMES:
            return candidate.upper()
    return tokens[0].upper() if tokens else ""


def _format_command(words: tuple[str, ...]) -> bytes:
    if not words:
        raise AgiArgumentError("an AGI command needs at least a command name")
    name, *args = words
    if not _COMMAND_NAME.fullmatch(name) or name.lower().startswith("failure"):
        # res_agi ends the whole AGI on a line starting with "failure"
        raise AgiArgumentError(f"{name[:40]!r} is not an AGI command name")
    for position, word in enumerate(args, start=1):
        for char, what in _FORBIDDEN.items():
            if char in word:
                raise AgiArgumentError(
                    f"argument {position} of {name} contains {what}; refusing to send it"
                )
    name_words = name.split(" ")
    if len(name_words) + len(args) > MAX_COMMAND_WORDS:
        raise AgiArgumentError(
            f"{name} has {len(name_words) + len(args)} words; Asterisk keeps only "
            f"{MAX_COMMAND_WORDS}"
        )
    line = " ".join([*name_words, *(quote_word(a) for a in args)]).encode() + b"\n"
    if len(line) > MAX_COMMAND_BYTES:
        raise AgiArgumentError(
            f"{name} command is {len(line)} bytes; Asterisk reads at most {MAX_COMMAND_BYTES}"
        )
    return line
