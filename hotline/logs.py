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
import re
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
_secret_pattern: re.Pattern[str] | None = None
_secret_lock = threading.Lock()


def register_secrets(values: Iterable[str | None]) -> None:
    """Remember secret values so that no log line can ever contain them.

    Values shorter than 3 characters are not registered: scrubbing "1" from
    every line would destroy the log, and a 1- or 2-digit PIN offers no secrecy.
    """
    global _secret_pattern
    with _secret_lock:
        _secret_values.update(v for v in values if v is not None and len(v) >= 3)
        _secret_pattern = _compile(_secret_values)


def forget_secrets() -> None:
    """Drop every registered secret (tests and config reloads)."""
    global _secret_pattern
    with _secret_lock:
        _secret_values.clear()
        _secret_pattern = None


def _compile(secrets: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern for all secrets, longest first.

    A PIN is all digits and short: it is scrubbed only where it stands on its
    own (not inside a longer number), so a uniqueid such as ``1795301234.5``
    or a caller id ``5551234`` is not mangled by a PIN ``1234``, while the PIN
    typed as ``1234`` or ``1234#`` is.
    """
    parts = []
    for secret in sorted(secrets, key=len, reverse=True):
        escaped = re.escape(secret)
        parts.append(rf"(?<![0-9]){escaped}(?![0-9])" if secret.isdigit() else escaped)
    return re.compile("|".join(parts)) if parts else None


def _scrub(text: str) -> str:
    pattern = _secret_pattern
    return pattern.sub(REDACTED, text) if pattern is not None else text


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: blank secret keys, scrub registered secret values."""
    for key, value in list(event_dict.items()):
        if key in SECRET_KEYS and value is not None:
            event_dict[key] = REDACTED
        elif isinstance(value, str) and _secret_pattern is not None:
            event_dict[key] = _scrub(value)
        elif _secret_pattern is not None and not isinstance(value, int | float | bool):
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
