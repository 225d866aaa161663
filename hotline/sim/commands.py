"""AGI command lines as Asterisk's res_agi reads them (pure, no I/O).

:func:`split_words` is ``parse_args`` from ``res/res_agi.c``: blanks and tabs
split words outside double quotes, ``"`` toggles quoting, ``\\`` takes the next
character literally.  Only the trailing ``\\n`` is stripped from a line, so a
``\\r`` from a CRLF client stays in the last word (Asterisk then answers 510
for ``ANSWER\\r``) — the simulator copies that rather than forgiving it.

:func:`find_command` matches the leading words case-insensitively against
res_agi's command table, with the ``dead`` flag that decides whether the
command still runs after the channel hung up (else ``511``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: res_agi's MAX_ARGS: words past this are dropped
MAX_WORDS = 128
UNKNOWN_REPLY = "510 Invalid or unknown command"
DEAD_REPLY = "511 Command Not Permitted on a dead channel or intercept routine"


@dataclass(frozen=True)
class CommandSpec:
    """One entry of res_agi's command table."""

    name: str
    #: allowed on a dead channel (res_agi's ``dead`` column)
    dead: bool
    #: argument count range (after the command words); ``None`` = unbounded
    min_args: int = 0
    max_args: int | None = None
    usage: str = ""

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.name.split(" "))


def _spec(
    name: str, dead: bool, lo: int = 0, hi: int | None = None, usage: str = ""
) -> CommandSpec:
    return CommandSpec(name, dead, lo, hi, usage or f"Usage: {name}")


#: Asterisk 22's table (res_agi.c ``commands[]``), argument bounds from the handlers
COMMANDS: tuple[CommandSpec, ...] = (
    _spec("ANSWER", False),
    _spec("ASYNCAGI BREAK", True),
    _spec("CHANNEL STATUS", False, 0, 1, "Usage: CHANNEL STATUS [<channelname>]"),
    _spec("DATABASE DEL", True, 2, 2, "Usage: DATABASE DEL <family> <key>"),
    _spec("DATABASE DELTREE", True, 1, 2, "Usage: DATABASE DELTREE <family> [<keytree>]"),
    _spec("DATABASE GET", True, 2, 2, "Usage: DATABASE GET <family> <key>"),
    _spec("DATABASE PUT", True, 3, 3, "Usage: DATABASE PUT <family> <key> <value>"),
    _spec("EXEC", True, 1, None, "Usage: EXEC <application> <options>"),
    _spec("GET DATA", False, 1, 3, "Usage: GET DATA <file to be streamed> [timeout] [max digits]"),
    _spec(
        "GET FULL VARIABLE", True, 1, 2, "Usage: GET FULL VARIABLE <variablename> [<channel name>]"
    ),
    _spec("GET OPTION", False, 2, 3, "Usage: GET OPTION <filename> <escape_digits> [timeout]"),
    _spec("GET VARIABLE", True, 1, 1, "Usage: GET VARIABLE <variablename>"),
    _spec(
        "GOSUB",
        False,
        2,
        None,
        "Usage: GOSUB <context> <extension> <priority> [<optional-argument>]",
    ),
    _spec("HANGUP", False, 0, 1, "Usage: HANGUP [<channelname>]"),
    _spec("NOOP", True),
    _spec("RECEIVE CHAR", False, 1, 1),
    _spec("RECEIVE TEXT", False, 1, 1),
    _spec("RECORD FILE", False, 4, None),
    _spec("SAY ALPHA", False, 2, 2, "Usage: SAY ALPHA <number> <escape digits>"),
    _spec("SAY DIGITS", False, 2, 2, "Usage: SAY DIGITS <number> <escape digits>"),
    _spec("SAY NUMBER", False, 2, 3, "Usage: SAY NUMBER <number> <escape digits> [gender]"),
    _spec("SAY PHONETIC", False, 2, 2),
    _spec("SAY DATE", False, 2, 2),
    _spec("SAY TIME", False, 2, 2),
    _spec("SAY DATETIME", False, 2, 5),
    _spec("SEND IMAGE", False, 1, 1),
    _spec("SEND TEXT", False, 1, 1),
    _spec("SET AUTOHANGUP", False, 1, 1, "Usage: SET AUTOHANGUP <time>"),
    _spec("SET CALLERID", False, 1, 1, "Usage: SET CALLERID <number>"),
    _spec("SET CONTEXT", False, 1, 1, "Usage: SET CONTEXT <desired context>"),
    _spec("SET EXTENSION", False, 1, 1, "Usage: SET EXTENSION <new extension>"),
    _spec("SET MUSIC", False, 1, 2, "Usage: SET MUSIC <on|off> <class>"),
    _spec("SET PRIORITY", False, 1, 1, "Usage: SET PRIORITY <priority>"),
    _spec("SET VARIABLE", True, 2, 2, "Usage: SET VARIABLE <variablename> <value>"),
    _spec(
        "STREAM FILE", False, 2, 3, "Usage: STREAM FILE <filename> <escape_digits> [sample offset]"
    ),
    _spec("CONTROL STREAM FILE", False, 2, 8),
    _spec("TDD MODE", False, 1, 1),
    _spec("VERBOSE", True, 1, 2, "Usage: VERBOSE <message> <level>"),
    _spec("WAIT FOR DIGIT", False, 1, 1, "Usage: WAIT FOR DIGIT <timeout>"),
    _spec("SPEECH CREATE", False, 1, 1),
    _spec("SPEECH SET", False, 2, 2),
    _spec("SPEECH DESTROY", True),
    _spec("SPEECH LOAD GRAMMAR", False, 2, 2),
    _spec("SPEECH UNLOAD GRAMMAR", True, 1, 1),
    _spec("SPEECH ACTIVATE GRAMMAR", False, 1, 1),
    _spec("SPEECH DEACTIVATE GRAMMAR", False, 1, 1),
    _spec("SPEECH RECOGNIZE", False, 2, 3),
)


def split_words(line: str) -> list[str]:
    """Split a command line into words exactly as res_agi's ``parse_args`` does."""
    words: list[list[str]] = []
    quoted = escaped = False
    whitespace = True
    for char in line:
        if char == '"' and not escaped:
            quoted = not quoted
            if quoted and whitespace:
                words.append([])
                whitespace = False
            continue
        if char in " \t" and not quoted and not escaped:
            whitespace = True
            continue
        if char == "\\" and not escaped:
            escaped = True
            continue
        if whitespace:
            if len(words) >= MAX_WORDS - 1:
                continue  # Asterisk drops words past MAX_ARGS
            words.append([])
            whitespace = False
        words[-1].append(char)
        escaped = False
    return ["".join(word) for word in words]


def find_command(words: Sequence[str]) -> CommandSpec | None:
    """The command the words start with (case-insensitive), ``None`` for 510."""
    upper = [w.upper() for w in words]
    for spec in COMMANDS:
        size = len(spec.words)
        if len(upper) >= size and tuple(upper[:size]) == spec.words:
            return spec
    return None


def usage_reply(spec: CommandSpec) -> str:
    """res_agi's answer to wrong arguments: a ``520-`` block ending in ``520 End…``."""
    return (
        "520-Invalid command syntax.  Proper usage follows:\n"
        f"{spec.usage}\n"
        "520 End of proper usage."
    )
