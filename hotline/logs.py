"""Logging: one event per line (JSON, or console lines on a terminal), context via a ContextVar.

Every line of a call carries ``call_id`` (and ``hotline``/``caller``) because
the FastAGI server binds them with :func:`bind_context` in the task that
serves the connection; asyncio copies the context per task, so calls never
see each other's context.

Secrets are kept out structurally, never by searching the rendered text:
nothing logs a secret on purpose (the PIN a caller types is read with
``get_data(..., secret=True)``, so even the DEBUG protocol trace shows
``[redacted]``), a value of a secret type (pydantic ``SecretStr`` /
``SecretBytes``, as the config holds every secret) renders as ``[redacted]``
wherever it sits, and a field named like a secret (:data:`SECRET_KEYS`) is
blanked.  Every other field is rendered exactly as given, with its JSON type.

Why not structlog's processor chain (measured in ``benchmarks/RESULTS.md``):
it cost ~14 µs per INFO line on an idle core and ~21 % of the runtime's CPU
under load.  Here an event is built once and rendered once (orjson), module
loggers are plain objects that read the current configuration at each call
(nothing is re-bound per call, and reconfiguring — as tests do — never leaves
a logger writing to an old stream), and ``hotline run`` batches its writes.
A call's context is rendered once when bound and appended to each line's own
rendered fields (``benchmarks/loglines.py`` measures a line's cost).
"""

from __future__ import annotations

import asyncio
import atexit
import codecs
import contextvars
import json
import sys
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, Literal, TextIO, cast

import orjson
import structlog
from pydantic import SecretBytes, SecretStr

from hotline.logsquash import WINDOW_S, SquashRepeats

LogFormat = Literal["auto", "json", "console"]

#: a structlog-style processor: ``(logger, method_name, event_dict) -> event_dict``;
#: raise :class:`structlog.DropEvent` to drop the event
Processor = Callable[[Any, str, MutableMapping[str, Any]], MutableMapping[str, Any]]

REDACTED = "[redacted]"

#: fields whose values are never rendered, whatever they hold
SECRET_KEYS = frozenset(
    {
        "pin",
        "secret",
        "password",
        "module_key",
        "server_key",
        "license_key",
        "private_key",
        "digits",
    }
)

DEBUG, INFO, WARNING, ERROR, CRITICAL = 10, 20, 30, 40, 50
_LEVELS = {"debug": DEBUG, "info": INFO, "warning": WARNING, "error": ERROR, "critical": CRITICAL}

#: a batch is written at the latest this long after its first line (``hotline run``)
BATCH_DELAY = 0.05
#: ... or once it holds this many characters
BATCH_CHARS = 64 * 1024

_JSON_OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)


def _json_default(value: Any) -> Any:
    """What orjson cannot render itself: secrets blank, anything else as its ``repr``."""
    if isinstance(value, SecretStr | SecretBytes):
        return REDACTED
    custom = getattr(value, "__structlog__", None)
    if custom is not None:
        return custom()
    return repr(value)


def render_json(event: Mapping[str, Any]) -> str:
    """One compact JSON line (no newline) for ``event``."""
    try:
        return orjson.dumps(event, default=_json_default, option=_JSON_OPTIONS).decode()
    except orjson.JSONEncodeError:
        # what orjson refuses (an int beyond 64 bits) the stdlib still renders
        return json.dumps(event, default=_json_default, ensure_ascii=False)


#: the types of values whose JSON text never changes: a context of only these is rendered once
#: when bound (any other value is rendered with each line, as it is then)
_PLAIN = frozenset({str, type(None)})
#: a line's own fields of these names are not simply appended: blanked, replaced, expanded
_SPECIAL_KEYS = SECRET_KEYS | {"exc_info", "level", "timestamp"}


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_json_default, option=_JSON_OPTIONS)


#: the names a line's own fields must not have to be appended to a context of these keys:
#: the runtime binds a few sets of keys, each set's kept once (a set per context was ~600
#: bytes, 2,000 of them at 1,000 calls up); bounded, as any code may bind any keys
_OVERLAPS: dict[tuple[str, ...], frozenset[str]] = {}
_OVERLAPS_KEPT = 256


def _overlap(keys: tuple[str, ...]) -> frozenset[str]:
    overlap = _OVERLAPS.get(keys)
    if overlap is None:
        overlap = _SPECIAL_KEYS.union(keys)
        if len(_OVERLAPS) < _OVERLAPS_KEPT:
            _OVERLAPS[keys] = overlap
    return overlap


class _Bound:
    """A call's log context as :func:`bind_context` made it: its fields and, unless a line
    must merge it as a whole (a special key, a value that is not plain), their JSON text."""

    __slots__ = ("fields", "overlap", "text")

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields
        #: a line with a field of one of these names is built as a whole (its field wins)
        self.overlap = _overlap(tuple(fields))
        #: ``,"key":value,...`` to append to a line's own fields
        self.text: bytes | None = None
        if not fields:
            self.text = b""
        elif _SPECIAL_KEYS.isdisjoint(fields) and _PLAIN.issuperset(map(type, fields.values())):
            # not contextlib.suppress: an object and two calls, two binds per connection
            try:  # noqa: SIM105
                self.text = b"," + _dumps(fields)[1:-1]
            except orjson.JSONEncodeError:
                pass  # merged as a whole then


_NO_CONTEXT = _Bound({})

#: the log context of this task (asyncio copies it into each task it starts, so calls never
#: see each other's).  One variable holding the context rendered when bound: a line reads it
#: once, where reading structlog's contextvars (one variable per key) and finding their
#: rendering again cost ~600 ns of a ~3.4 µs line (benchmarks/RESULTS.md, issue 19)
_CALL_CONTEXT: contextvars.ContextVar[_Bound] = contextvars.ContextVar(
    "hotline_log_context", default=_NO_CONTEXT
)
_current_context = _CALL_CONTEXT.get


def bind_context(**fields: Any) -> None:
    """Add ``fields`` to every line this task (and the tasks it starts from now on) logs:
    the FastAGI server binds a call's id here, the flows the hotline and the caller."""
    current = _current_context()
    _CALL_CONTEXT.set(_Bound({**current.fields, **fields}))


def unbind_context(*keys: str) -> None:
    """Remove ``keys`` from this task's log context."""
    fields = {k: v for k, v in _current_context().fields.items() if k not in keys}
    _CALL_CONTEXT.set(_Bound(fields))


def clear_context() -> None:
    """No log context in this task from now on (the end of a test, of the demo)."""
    _CALL_CONTEXT.set(_NO_CONTEXT)


def log_context() -> dict[str, Any]:
    """This task's log context: the fields every line it logs carries."""
    return dict(_current_context().fields)


#: "000" to "999": a timestamp's microseconds without formatting an int (4,000 instructions)
_DIGITS = tuple(b"%03d" % n for n in range(1000))
#: what follows a line's fields and context, up to its timestamp, per level
_LEVEL_TEXT = {method: b',"level":"%s","timestamp":"' % method.encode() for method in _LEVELS}


class _Clock:
    """ISO-8601 UTC timestamps with microseconds; the seconds part is formatted once per second.

    Integer nanoseconds, no float rounding; a line's microseconds are two table lookups
    (callgrind: 5,400 -> 3,400 instructions for the timestamp, f-string's ``:06d`` alone 4,000).
    """

    __slots__ = ("end", "prefix", "start")

    def __init__(self) -> None:
        self.start = self.end = 0
        self.prefix = b""

    def tick(self, ns: int) -> None:
        """A new second (or the clock went back): format its date and time once."""
        second = ns // 1_000_000_000
        self.start = second * 1_000_000_000
        self.end = self.start + 1_000_000_000
        self.prefix = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second)).encode()


class _Writer:
    """Writes rendered lines: each at once, or (``batch``) many lines per write.

    Batching keeps lines in memory for at most :data:`BATCH_DELAY` seconds on
    the running event loop (or :data:`BATCH_CHARS` bytes); a warning or
    an error writes the batch at once, and so do :func:`flush_logs`, a
    reconfiguration and the interpreter's exit.  Without a running loop (other
    threads, the CLI) every line is written at once.  ``stream=None`` means
    whatever ``sys.stdout`` is at the time of writing.

    A line is UTF-8 with its newline (orjson's own output).  A batch is copied
    once, into one buffer kept for the writer's life, and goes to a UTF-8 text
    stream's binary buffer as it is: a list of lines joined, decoded and encoded
    again by the text stream was three more copies of every line, 3 cache
    misses per AGI command (128 -> 125 simulated, benchmarks/RESULTS.md, issue 19
    session 14).  A
    stream without a binary buffer (``io.StringIO``) or of another encoding is
    given text; lone surrogates pass through both ways, as a text stream would
    take them.
    """

    def __init__(self, stream: TextIO | None, *, batch: bool) -> None:
        self._stream = stream
        self.batch = batch
        self._lock = threading.Lock()
        #: the batch: its lines at the front of a buffer of BATCH_CHARS bytes, ``_used`` long
        self._batch = bytearray(BATCH_CHARS if batch else 0)
        self._used = 0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None
        self._timer_thread = 0

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stdout

    def write(self, line: bytes, urgent: bool) -> None:
        # acquire/release, not ``with``: 900 against 2,100 instructions (callgrind)
        self._lock.acquire()
        try:
            if not self.batch:
                self._put(line)
                return
            used = self._used
            end = used + len(line)
            if end > BATCH_CHARS:  # full: what it holds goes first
                self._flush_locked()
                if len(line) >= BATCH_CHARS:
                    self._put(line)
                    return
                used, end = 0, len(line)
            self._batch[used:end] = line  # a copy in place: the buffer never changes size
            self._used = end
            if urgent:
                self._flush_locked()
                return
            timer_loop = self._timer_loop
            if (
                self._timer is not None
                and timer_loop is not None
                and threading.get_ident() == self._timer_thread
                and timer_loop.is_running()
            ):
                return  # this thread's loop writes the batch: not asyncio._get_running_loop(),
                # a getpid() system call per line on CPython 3.11
            loop = asyncio._get_running_loop()
            if loop is None:
                self._flush_locked()
            elif self._timer is None or timer_loop is not loop:
                self._timer = loop.call_later(BATCH_DELAY, self.flush)
                self._timer_loop = loop
                self._timer_thread = threading.get_ident()
        finally:
            self._lock.release()

    def flush(self) -> None:
        with self._lock:
            self._timer = None
            self._flush_locked()

    def _flush_locked(self) -> None:
        if self._used:
            with memoryview(self._batch) as whole, whole[: self._used] as lines:
                self._used = 0
                self._put(lines)

    def _put(self, data: bytes | memoryview) -> None:
        stream = self.stream
        if stream.closed:
            return  # the stream's owner closed it (a test, the end of ``hotline run``)
        binary = _utf8_buffer(stream)
        if binary is None:
            stream.write(str(data, "utf-8", "surrogatepass"))
            stream.flush()
        else:
            stream.flush()  # what the text layer holds goes first
            binary.write(data)
            binary.flush()


def _utf8_buffer(stream: TextIO) -> BinaryIO | None:
    """The binary buffer under a UTF-8 text stream (a file, stdout), where a line's bytes
    can go as they are; None for any other stream."""
    binary = getattr(stream, "buffer", None)
    encoding = getattr(stream, "encoding", None)
    if binary is None or not isinstance(encoding, str):
        return None
    try:
        utf8 = codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return None
    return cast("BinaryIO", binary) if utf8 else None


class _Output:
    """The current logging configuration: level, the extra processors, renderer, writer."""

    __slots__ = ("json", "level", "process_from", "processors", "render", "writer")

    def __init__(
        self,
        level: int,
        render: Callable[[str, MutableMapping[str, Any]], str],
        writer: _Writer,
        processors: tuple[Processor, ...] = (),
        process_from: int = DEBUG,
    ) -> None:
        self.level = level
        self.render = render
        self.json = render is _json_renderer
        self.writer = writer
        self.processors = processors
        #: the processors see lines of this level and above (the squasher: warnings only)
        self.process_from = process_from if processors else CRITICAL + 1

    def emit_whole(
        self,
        level: int,
        method: str,
        event_dict: MutableMapping[str, Any],
        context: Mapping[str, Any],
        timestamp: str,
    ) -> None:
        """A line built as one dict: the context merged in, secrets blanked, a traceback
        formatted, the processors run, rendered as configured."""
        for key, value in context.items():
            event_dict.setdefault(key, value)
        event_dict["level"] = method
        event_dict["timestamp"] = timestamp
        if "exc_info" in event_dict:
            event_dict = structlog.processors.format_exc_info(None, method, event_dict)
        if not SECRET_KEYS.isdisjoint(event_dict):
            for key in SECRET_KEYS.intersection(event_dict):
                if event_dict[key] is not None:
                    event_dict[key] = REDACTED
        if level >= self.process_from:
            try:
                for processor in self.processors:
                    event_dict = processor(None, method, event_dict)
            except structlog.DropEvent:
                return
        line = self.render(method, event_dict) + "\n"
        self.writer.write(line.encode("utf-8", "surrogatepass"), level >= WARNING)


def _log_method(level: int, method: str) -> Callable[..., None]:
    """:class:`Logger`'s method for one level: all of a line's way in one function.

    A line is built once (fields, event, call context, level, timestamp).  The usual
    line (JSON; no processor for its level; no field that the context or
    :data:`_SPECIAL_KEYS` has) is its fields' JSON, the context's kept JSON and its level
    and timestamp, joined; any other is built as one dict by :meth:`_Output.emit_whole`.
    Both give the same bytes (tests/test_logs.py renders every kind both ways).  One
    function, not a method calling another: a call is ~1,200 instructions (callgrind).
    """
    level_text = _LEVEL_TEXT[method]
    urgent = level >= WARNING

    def log(self: Logger, event: str, /, **fields: Any) -> None:
        out = _output
        if level < out.level:
            return
        if "event" in fields:  # as a keyword parameter would say (``event`` is positional)
            raise TypeError(f"{method}() got multiple values for argument 'event'")
        if self._bound:
            fields = {**self._bound, **fields}
        fields["event"] = event
        bound = _current_context()
        clock = _clock
        ns = time.time_ns()
        if not clock.start <= ns < clock.end:
            clock.tick(ns)
        micros = (ns - clock.start) // 1000
        if (
            level < out.process_from
            and out.json
            and bound.text is not None
            and bound.overlap.isdisjoint(fields)
        ):
            try:
                head = orjson.dumps(fields, default=_json_default, option=_JSON_OPTIONS)
            except orjson.JSONEncodeError:
                pass
            else:
                line = (
                    head[:-1],
                    bound.text,
                    level_text,
                    clock.prefix,
                    _DIGITS[micros // 1000],
                    _DIGITS[micros % 1000],
                    b'Z"}\n',
                )
                out.writer.write(b"".join(line), urgent)
                return
        stamp = clock.prefix + _DIGITS[micros // 1000] + _DIGITS[micros % 1000]
        out.emit_whole(level, method, fields, bound.fields, stamp.decode() + "Z")

    log.__name__ = log.__qualname__ = method
    return log


_clock = _Clock()


def _console_renderer(colors: bool) -> Callable[[str, MutableMapping[str, Any]], str]:
    renderer = structlog.dev.ConsoleRenderer(colors=colors)

    def render(method: str, event_dict: MutableMapping[str, Any]) -> str:
        return str(renderer(None, method, event_dict)).rstrip("\n")

    return render


def _json_renderer(_method: str, event_dict: MutableMapping[str, Any]) -> str:
    return render_json(event_dict)


def _default_output() -> _Output:
    """Before :func:`configure_logging`: every level, console lines to ``sys.stdout``."""
    return _Output(DEBUG, _console_renderer(colors=False), _Writer(None, batch=False))


_output: _Output


class Logger:
    """The project's logger: ``log.info("event_name", field=value)``.

    Holds no configuration: each call goes to the output configured at that
    moment, so a module-level logger follows every :func:`configure_logging`.
    """

    __slots__ = ("_bound",)

    def __init__(self, bound: Mapping[str, Any] | None = None) -> None:
        self._bound: Mapping[str, Any] = dict(bound) if bound else {}

    def bind(self, **fields: Any) -> Logger:
        """A logger that adds ``fields`` to every event (call context belongs in contextvars)."""
        return Logger({**self._bound, **fields})

    #: whether debug lines are written now: the guard for a debug line whose fields cost
    #: something to compute (a class attribute: set with the configuration)
    debugging: ClassVar[bool] = True

    # each level's method is installed by _set_output: a level below the configured one
    # gets _filtered, whose call costs what the call alone does (no level check in a frame
    # sized for a whole line: 2,200 against 1,900 instructions for the AGI session's
    # per-command debug line, callgrind)
    if TYPE_CHECKING:

        def debug(self, event: str, /, **fields: Any) -> None: ...
        def info(self, event: str, /, **fields: Any) -> None: ...
        def warning(self, event: str, /, **fields: Any) -> None: ...
        def error(self, event: str, /, **fields: Any) -> None: ...
        def critical(self, event: str, /, **fields: Any) -> None: ...

    def exception(self, event: str, /, **fields: Any) -> None:
        """An error with the exception being handled (or ``exc_info=``) as a traceback."""
        fields.setdefault("exc_info", True)
        self.error(event, **fields)


_METHODS = {name: (level, _log_method(level, name)) for name, level in _LEVELS.items()}


def _filtered(self: Logger, event: str, /, **fields: Any) -> None:
    """A level's method while its lines are not written."""


def _set_output(out: _Output) -> None:
    """``out`` is the output from now on; :class:`Logger`'s methods follow its level."""
    global _output
    _output = out
    for name, (level, method) in _METHODS.items():
        setattr(Logger, name, method if level >= out.level else _filtered)
    Logger.debugging = out.level <= DEBUG


_set_output(_default_output())


def configure_logging(
    level: str = "INFO",
    fmt: LogFormat = "auto",
    stream: TextIO | None = None,
    *,
    batch: bool = False,
    squash_window: float = WINDOW_S,
) -> None:
    """Configure logging for the whole process (the CLI, ``hotline run``, tests).

    ``auto`` renders for humans when ``stream`` is a terminal and as JSON lines
    otherwise, so that a systemd journal or a file gets machine-readable lines.
    ``batch`` (``hotline run``) writes many lines per write, see :class:`_Writer`;
    never to a terminal.  Repeated warnings of one kind are squashed into one
    line per ``squash_window`` seconds (:mod:`hotline.logsquash`).
    """
    out = stream if stream is not None else sys.stdout
    tty = out.isatty()
    if fmt == "auto":
        fmt = "console" if tty else "json"
    try:
        threshold = _LEVELS[level.lower()]
    except KeyError:
        raise ValueError(f"unknown log level {level!r}; use one of {', '.join(_LEVELS)}") from None
    render = _console_renderer(colors=tty) if fmt == "console" else _json_renderer
    # extra structlog-style processors, run on the events of their levels once built, before
    # rendering
    squash = SquashRepeats(squash_window, emit=_warn)
    _output.writer.flush()
    _set_output(
        _Output(
            threshold,
            render,
            _Writer(out, batch=batch and not tty),
            (squash,),
            process_from=min(_LEVELS[name] for name in squash.levels),
        )
    )


def _warn(event: str, fields: dict[str, Any]) -> None:
    get_logger().warning(event, **fields)


def reset_logging() -> None:
    """Back to the defaults (tests: no stream of one test is written to by the next)."""
    _output.writer.flush()
    _set_output(_default_output())


def flush_logs() -> None:
    """Write any batched lines now (before a stream is closed, at the end of ``hotline run``),
    with the counts of squashed warnings so far."""
    for processor in _output.processors:
        if isinstance(processor, SquashRepeats):
            processor.flush()
    _output.writer.flush()


atexit.register(flush_logs)


def get_logger(**initial: Any) -> Logger:
    """The project's logger; bind a call's context with :func:`bind_context`."""
    return Logger(initial)
