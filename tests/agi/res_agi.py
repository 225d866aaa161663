"""A line-for-line port of ``parse_args`` from Asterisk's ``res/res_agi.c``.

The quoting tests run every encoded command through this, so that "one value
arrives as one argument" is checked against Asterisk's own splitting rules,
not against our idea of them.  C details kept: the buffer is rewritten in
place (``cur`` never overtakes ``s``), ``\\`` makes the next character literal
inside or outside quotes, a ``"`` opening right after blanks starts a word (so
``""`` is an empty argument), and words past ``MAX_ARGS - 1`` lose their characters.
"""

from __future__ import annotations

MAX_ARGS = 128


def parse_args(line: str) -> list[str]:
    """Split one command line (without its newline) as res_agi does."""
    buf = [*line, "\0"]
    starts: list[int] = []
    quoted = escaped = False
    whitespace = True
    cur = 0
    s = 0
    while buf[s] != "\0":
        char = buf[s]
        normal = False
        if char == '"':
            if escaped:
                normal = True
            else:
                quoted = not quoted
                if quoted and whitespace:
                    starts.append(cur)
                    whitespace = False
                escaped = False
        elif char in " \t":
            if not quoted and not escaped:
                whitespace = True
                buf[cur] = "\0"
                cur += 1
            else:
                normal = True
        elif char == "\\":
            if escaped:
                normal = True
            else:
                escaped = True
        else:
            normal = True
        if normal:
            if whitespace and len(starts) >= MAX_ARGS - 1:
                s += 1  # "Too many arguments, truncating": the character is dropped
                continue
            if whitespace:
                starts.append(cur)
                whitespace = False
            buf[cur] = char
            cur += 1
            escaped = False
        s += 1
    buf[cur] = "\0"
    return ["".join(buf[start : buf.index("\0", start)]) for start in starts]
