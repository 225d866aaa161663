"""Pydantic's validation errors as one line per problem: ``<file>: <field path>: <what>``."""

from __future__ import annotations

import re
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


def _input(error: Mapping[str, Any], limit: int = 40) -> str:
    """The offending value, short enough for one line."""
    shown = repr(error.get("input"))
    return shown if len(shown) <= limit else f"{shown[: limit - 3]}..."


def _describe(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key (a typo?); remove it or check the spelling against config/hotline.toml"
    if kind == "missing":
        return "is required but missing"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be a table, e.g. [section] or {{ key = value }} (got {_input(error)})"
    if kind == "list_type":
        return f"must be a list, e.g. [ ... ] (got {_input(error)})"
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if kind in _SHOW_INPUT:
        message = f"{message} (got {_input(error)})"
    return message


#: how a model-level check names the field it is about: ``secret_file: cannot read …``
_FIELD_NAME = re.compile(r"[a-z][a-z0-9_]*")


def _is_type_name(part: int | str) -> bool:
    return isinstance(part, str) and part.startswith(("function-", "constr"))


def format_validation_error(
    exc: ValidationError, source: str, origins: Mapping[tuple[str, ...], str] | None = None
) -> list[str]:
    """One line per problem: ``<file>: <field path>: <what is wrong>``.

    ``origins`` maps the paths that environment variables set to their names: a
    problem at or below one is reported as ``environment: <variable>: …`` instead.
    """
    lines = []
    for error in exc.errors(include_url=False):
        # union members and validators add their type name to the location; drop it
        loc = [p for p in error["loc"] if not _is_type_name(p)]
        message = _describe(error)
        path = _field_path(loc)
        if message.startswith("hotlines[") and ":" in message:
            # a model-level check that already names its field
            path, message = message.split(": ", 1)
        head, sep, rest = message.partition(": ")
        if sep and _FIELD_NAME.fullmatch(head):
            # a model-level check naming one of the model's fields (``secret_file: …``)
            loc, message = [*loc, head], rest
            path = _field_path(loc)
        variable = _variable_for(loc, origins or {})
        where = f"environment: {variable}" if variable else source
        if message.startswith(NESTED_MARK):
            # a model-level check naming fields below the model, one line each
            for line in message.split("\n"):
                sub, _, text = line.removeprefix(NESTED_MARK).partition(": ")
                lines.append(f"{where}: {path}.{sub}: {text}")
            continue
        lines.append(f"{where}: {path or '(top level)'}: {message}")
    return lines


#: marks a validator message that names fields below its model, one per line
NESTED_MARK = "@"


def nested_problems(problems: Sequence[tuple[str, str]]) -> ValueError:
    """One error for a model validator carrying several ``(field path below it, problem)``;
    :func:`format_validation_error` prints one line each."""
    return ValueError("\n".join(f"{NESTED_MARK}{path}: {text}" for path, text in problems))


def _variable_for(loc: Sequence[int | str], origins: Mapping[tuple[str, ...], str]) -> str | None:
    """The environment variable that set ``loc`` or a table holding it, the closest one."""
    keys = tuple(str(part) for part in loc)
    for depth in range(len(keys), 0, -1):
        if keys[:depth] in origins:
            return origins[keys[:depth]]
    return None
