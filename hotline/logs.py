"""Logging: one event per line (JSON, or console lines on a terminal), context via contextvars.

Every line of a call carries ``call_id`` (and ``hotline``/``caller``) because
the FastAGI server binds them with :func:`structlog.contextvars.bind_contextvars`
in the task that serves the connection; asyncio copies the context per task,
so calls never see each other's context.

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
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import json
import sys
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, Literal, TextIO

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


#: structlog's own table of the ContextVars that bind_contextvars() created, one per key
_STRUCTLOG_VARS: Mapping[str, contextvars.ContextVar[Any]] | None = getattr(
    structlog.contextvars, "_CONTEXT_VARS", None
)
_PREFIX = structlog.contextvars.STRUCTLOG_KEY_PREFIX
_bound_seen: tuple[int, tuple[tuple[str, contextvars.ContextVar[Any]], ...]] = (-1, ())


def _bound_vars() -> tuple[tuple[str, contextvars.ContextVar[Any]], ...]:
    """``(key, ContextVar)`` of every key ever bound with structlog's contextvars.

    Reading these few is what ``structlog.contextvars.get_contextvars()`` does by
    walking every ContextVar of the context: 21 % of a line's CPU under the paced
    load (py-spy, benchmarks/RESULTS.md).  Without structlog's table (a future
    version), the walk it is.
    """
    global _bound_seen
    table = _STRUCTLOG_VARS
    if table is None:
        return tuple(_walked_vars())
    size = len(table)  # keys are only ever added: a new size is a new key
    if size != _bound_seen[0]:
        pairs = tuple((name.removeprefix(_PREFIX), var) for name, var in list(table.items()))
        _bound_seen = (size, pairs)
    return _bound_seen[1]


def _walked_vars() -> list[tuple[str, contextvars.ContextVar[Any]]]:
    return [
        (var.name.removeprefix(_PREFIX), var)
        for var in contextvars.copy_context()
        if var.name.startswith(_PREFIX)
    ]


class _Clock:
    """ISO-8601 UTC timestamps with microseconds; the seconds part is formatted once per second."""

    __slots__ = ("prefix", "second")

    def __init__(self) -> None:
        self.second = -1
        self.prefix = ""

    def now(self) -> str:
        # integer microseconds: no float rounding, ~20 % less CPU per line (measured)
        second, micros = divmod(time.time_ns() // 1000, 1_000_000)
        if second != self.second:
            self.prefix = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second))
            self.second = second
        return f"{self.prefix}{micros:06d}Z"


class _Writer:
    """Writes rendered lines: each at once, or (``batch``) many lines per write.

    Batching keeps lines in memory for at most :data:`BATCH_DELAY` seconds on
    the running event loop (or :data:`BATCH_CHARS` characters); a warning or
    an error writes the batch at once, and so do :func:`flush_logs`, a
    reconfiguration and the interpreter's exit.  Without a running loop (other
    threads, the CLI) every line is written at once.  ``stream=None`` means
    whatever ``sys.stdout`` is at the time of writing.
    """

    def __init__(self, stream: TextIO | None, *, batch: bool) -> None:
        self._stream = stream
        self.batch = batch
        self._lock = threading.Lock()
        self._lines: list[str] = []
        self._chars = 0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stdout

    def write(self, line: str, urgent: bool) -> None:
        with self._lock:
            if not self.batch:
                self._put(line + "\n")
                return
            self._lines.append(line)
            self._chars += len(line)
            if urgent or self._chars >= BATCH_CHARS:
                self._flush_locked()
                return
            loop = asyncio._get_running_loop()
            if loop is None:
                self._flush_locked()
            elif self._timer is None or self._timer_loop is not loop:
                self._timer = loop.call_later(BATCH_DELAY, self.flush)
                self._timer_loop = loop

    def flush(self) -> None:
        with self._lock:
            self._timer = None
            self._flush_locked()

    def _flush_locked(self) -> None:
        if self._lines:
            text = "\n".join(self._lines) + "\n"
            self._lines.clear()
            self._chars = 0
            self._put(text)

    def _put(self, text: str) -> None:
        stream = self.stream
        if stream.closed:
            return  # the stream's owner closed it (a test, the end of ``hotline run``)
        stream.write(text)
        stream.flush()


class _Output:
    """The current logging configuration: level, the extra processors, renderer, writer."""

    __slots__ = ("level", "processors", "render", "writer")

    def __init__(
        self,
        level: int,
        render: Callable[[str, MutableMapping[str, Any]], str],
        writer: _Writer,
        processors: tuple[Processor, ...] = (),
    ) -> None:
        self.level = level
        self.render = render
        self.writer = writer
        self.processors = processors

    def emit(
        self,
        level: int,
        method: str,
        event: str,
        fields: dict[str, Any],
        bound: Mapping[str, Any],
    ) -> None:
        """Build the event once (fields, event, call context, level, timestamp) and write it."""
        event_dict: MutableMapping[str, Any] = {**bound, **fields} if bound else fields
        event_dict["event"] = event
        for key, var in _bound_vars():
            value = var.get()
            if value is not Ellipsis:  # unbound (structlog's default)
                event_dict.setdefault(key, value)
        event_dict["level"] = method
        event_dict["timestamp"] = _clock.now()
        if "exc_info" in event_dict:
            event_dict = structlog.processors.format_exc_info(None, method, event_dict)
        if not SECRET_KEYS.isdisjoint(event_dict):
            for key in SECRET_KEYS.intersection(event_dict):
                if event_dict[key] is not None:
                    event_dict[key] = REDACTED
        try:
            for processor in self.processors:
                event_dict = processor(None, method, event_dict)
        except structlog.DropEvent:
            return
        self.writer.write(self.render(method, event_dict), level >= WARNING)


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


_output = _default_output()


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

    def debug(self, event: str, **fields: Any) -> None:
        out = _output
        if out.level <= DEBUG:
            out.emit(DEBUG, "debug", event, fields, self._bound)

    def info(self, event: str, **fields: Any) -> None:
        out = _output
        if out.level <= INFO:
            out.emit(INFO, "info", event, fields, self._bound)

    def warning(self, event: str, **fields: Any) -> None:
        out = _output
        if out.level <= WARNING:
            out.emit(WARNING, "warning", event, fields, self._bound)

    def error(self, event: str, **fields: Any) -> None:
        out = _output
        if out.level <= ERROR:
            out.emit(ERROR, "error", event, fields, self._bound)

    def exception(self, event: str, **fields: Any) -> None:
        """An error with the exception being handled (or ``exc_info=``) as a traceback."""
        fields.setdefault("exc_info", True)
        self.error(event, **fields)

    def critical(self, event: str, **fields: Any) -> None:
        out = _output
        if out.level <= CRITICAL:
            out.emit(CRITICAL, "critical", event, fields, self._bound)


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
    global _output
    out = stream if stream is not None else sys.stdout
    tty = out.isatty()
    if fmt == "auto":
        fmt = "console" if tty else "json"
    try:
        threshold = _LEVELS[level.lower()]
    except KeyError:
        raise ValueError(f"unknown log level {level!r}; use one of {', '.join(_LEVELS)}") from None
    render = _console_renderer(colors=tty) if fmt == "console" else _json_renderer
    # extra structlog-style processors, run on every event after it is built, before rendering
    processors: tuple[Processor, ...] = (SquashRepeats(squash_window, emit=_warn),)
    _output.writer.flush()
    _output = _Output(threshold, render, _Writer(out, batch=batch and not tty), processors)


def _warn(event: str, fields: dict[str, Any]) -> None:
    get_logger().warning(event, **fields)


def reset_logging() -> None:
    """Back to the defaults (tests: no stream of one test is written to by the next)."""
    global _output
    _output.writer.flush()
    _output = _default_output()


def flush_logs() -> None:
    """Write any batched lines now (before a stream is closed, at the end of ``hotline run``),
    with the counts of squashed warnings so far."""
    for processor in _output.processors:
        if isinstance(processor, SquashRepeats):
            processor.flush()
    _output.writer.flush()


atexit.register(flush_logs)


def get_logger(**initial: Any) -> Logger:
    """The project's logger; bind call context with :mod:`structlog.contextvars`."""
    return Logger(initial)
