"""Logging setup: structlog, one event per line, call context via contextvars.

Every line of a call carries ``call_id`` (and ``hotline``/``caller``) because
the FastAGI server binds them with :func:`structlog.contextvars` in the task
that serves the connection; asyncio copies the context per task, so calls
never see each other's context.

Secrets are kept out of logs twice over: nothing logs them on purpose, and
:func:`redact_secrets` scrubs any registered secret value (PINs, AMI secret,
license keys) and any key that names a secret from every event before it is
rendered.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterable, MutableMapping
from typing import Any, Literal, TextIO

import structlog

LogFormat = Literal["auto", "json", "console"]

REDACTED = "[redacted]"

#: event keys whose values are never rendered, whatever they hold
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

_secret_values: set[str] = set()
_secret_lock = threading.Lock()


def register_secrets(values: Iterable[str | None]) -> None:
    """Remember secret values so that no log line can ever contain them.

    Values shorter than 3 characters are not registered: scrubbing "1" from
    every line would destroy the log, and a 1- or 2-digit PIN offers no secrecy.
    """
    with _secret_lock:
        _secret_values.update(v for v in values if v is not None and len(v) >= 3)


def forget_secrets() -> None:
    """Drop every registered secret (tests and config reloads)."""
    with _secret_lock:
        _secret_values.clear()


def _scrub(text: str) -> str:
    for secret in _secret_values:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: blank secret keys, scrub registered secret values."""
    for key, value in list(event_dict.items()):
        if key in SECRET_KEYS and value is not None:
            event_dict[key] = REDACTED
        elif isinstance(value, str) and _secret_values:
            event_dict[key] = _scrub(value)
        elif _secret_values and not isinstance(value, int | float | bool):
            rendered = repr(value)
            if _scrub(rendered) != rendered:
                event_dict[key] = _scrub(rendered)
    return event_dict


def configure_logging(
    level: str = "INFO",
    fmt: LogFormat = "auto",
    stream: TextIO | None = None,
) -> None:
    """Configure structlog for the whole process (called once by the CLI).

    ``auto`` renders for humans when ``stream`` is a terminal and as JSON lines
    otherwise, so that a systemd journal or a file gets machine-readable lines.
    """
    out = stream if stream is not None else sys.stdout
    if fmt == "auto":
        fmt = "console" if out.isatty() else "json"
    renderer: structlog.typing.Processor
    if fmt == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
    else:
        renderer = structlog.processors.JSONRenderer(sort_keys=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )


def get_logger(**initial: Any) -> structlog.typing.FilteringBoundLogger:
    """The project's logger; bind call context with :mod:`structlog.contextvars`."""
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(**initial)
    return logger
