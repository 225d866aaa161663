"""Pydantic's validation errors as one line per problem: ``<file>: <field path>: <what>``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError


def _field_path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


#: pydantic error kinds whose message reads better with the offending value
_SHOW_INPUT = frozenset(
    {"greater_than_equal", "less_than_equal", "greater_than", "less_than", "literal_error"}
)


def _describe(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key (a typo?); remove it or check the spelling against config/hotline.toml"
    if kind == "missing":
        return "is required but missing"
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if kind in _SHOW_INPUT:
        message = f"{message} (got {error.get('input')!r})"
    return message


def _is_type_name(part: int | str) -> bool:
    return isinstance(part, str) and part.startswith(("function-", "constr"))


def format_validation_error(exc: ValidationError, source: str) -> list[str]:
    """One line per problem: ``<file>: <field path>: <what is wrong>``."""
    lines = []
    for error in exc.errors(include_url=False):
        # union members and validators add their type name to the location; drop it
        loc = [p for p in error["loc"] if not _is_type_name(p)]
        message = _describe(error)
        path = _field_path(loc)
        if message.startswith("hotlines[") and ":" in message:
            # a model-level check that already names its field
            path, message = message.split(": ", 1)
        lines.append(f"{source}: {path or '(top level)'}: {message}")
    return lines
