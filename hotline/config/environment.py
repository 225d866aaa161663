"""``HOTLINE_…`` environment variables: a nested mapping laid over the TOML file's data.

``HOTLINE_AGI__PORT=4600`` is ``{"agi": {"port": "4600"}}``: names are
case-insensitive, ``__`` separates the levels, a number picks an entry of a
list (``HOTLINE_HOTLINES__0__PIN``), and a value for a table or a list
(``HOTLINE_HOTLINES='[{"name": …}]'``) is JSON.  Other values stay text: the
merged TOML + environment is validated once, so ``"4600"`` becomes a port
there, with the same checks and messages as the file's values.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel

from hotline.errors import ConfigError

#: environment variable naming the config file when no --config is given
CONFIG_ENV = "HOTLINE_CONFIG"
ENV_PREFIX = "HOTLINE_"
_SEPARATOR = "__"


@dataclass(frozen=True)
class EnvValue:
    """One ``HOTLINE_…`` variable: its name as given, the keys it sets, and the value."""

    name: str
    path: tuple[str, ...]
    value: Any


def env_values(environ: Mapping[str, str], root: type[BaseModel]) -> list[EnvValue]:
    """The ``HOTLINE_…`` variables of ``environ`` that set values of ``root``, outermost first.

    Raises :class:`ConfigError` (one line per variable) for a variable that
    names no section of ``root`` (a typo must not pass silently) or whose
    table or list value is not JSON.
    """
    values, problems = [], []
    for name, raw in environ.items():
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper == CONFIG_ENV:
            continue
        path = tuple(upper.removeprefix(ENV_PREFIX).lower().split(_SEPARATOR))
        if path[0] not in root.model_fields or "" in path:
            problems.append(f"environment: {name}: unknown setting (a typo?)")
            continue
        value: Any = raw
        try:
            kind = _structured(root, path)
        except _Unreachable as exc:
            problems.append(f"environment: {name}: {exc}")
            continue
        if kind is not None:
            try:
                value = json.loads(raw)
            except (ValueError, RecursionError) as exc:
                reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
                problems.append(
                    f"environment: {name}: not valid JSON ({reason}); this setting is {kind}, "
                    f"so write it as JSON, e.g. {name}='{_EXAMPLES[kind]}'"
                )
                continue
        values.append(EnvValue(name, path, value))
    if problems:
        raise ConfigError(sorted(problems))
    # a whole table first, then the variables that change single keys of it
    return sorted(values, key=lambda v: (len(v.path), v.path))


_EXAMPLES = {"a list": '[{"key": "value"}]', "a table": '{"key": "value"}'}


def overlay(data: Mapping[str, Any], values: Sequence[EnvValue]) -> dict[str, Any]:
    """``data`` with every environment value put in place (a new mapping; ``data`` is kept).

    Tables are merged key by key, everything else is replaced, as a later TOML
    file would.  Raises :class:`ConfigError` when a variable reaches through a
    single value or past the end of a list.
    """
    merged: dict[str, Any] = dict(data)
    problems = []
    for item in values:
        try:
            merged = _placed(merged, item.path, item.value)
        except _Unreachable as exc:
            problems.append(f"environment: {item.name}: {exc}")
    if problems:
        raise ConfigError(problems)
    return merged


class _Unreachable(Exception):
    """A variable's keys lead through something that is not a table or a list entry."""


def origins(values: Sequence[EnvValue]) -> dict[tuple[str, ...], str]:
    """Which variable set each path: a problem found there is reported under its name."""
    return {item.path: item.name for item in values}


def _placed(node: Any, path: tuple[str, ...], value: Any, done: str = "") -> Any:
    if not path:
        if isinstance(node, dict) and isinstance(value, dict):
            for key, inner in value.items():
                node = _placed(node, (key,), inner, done)
            return node
        return value
    key, rest = path[0], path[1:]
    here = f"{done}.{key}" if done else key
    if isinstance(node, list):
        if not key.isdigit() or int(key) >= len(node):
            count = f"{len(node)} entr{'y' if len(node) == 1 else 'ies'}"
            last = len(node) - 1
            raise _Unreachable(f"{done} has {count}; {key!r} is not an index from 0 to {last}")
        index = int(key)
        copy = list(node)
        copy[index] = _placed(node[index], rest, value, f"{done}[{index}]")
        return copy
    if node is None:
        node = {}
    if not isinstance(node, dict):
        raise _Unreachable(f"{done} is a single value, not a table; {here} does not exist")
    return {**node, key: _placed(node.get(key), rest, value, here)}


def _structured(root: type[BaseModel], path: tuple[str, ...]) -> str | None:
    """``"a table"`` or ``"a list"`` when the setting at ``path`` is one (its value is JSON).

    Raises :class:`_Unreachable` when ``path`` leads through a single value.
    """
    annotation: Any = root
    for depth, key in enumerate(path):
        annotation = _plain(annotation)
        if _scalar(annotation):
            done, here = _dotted(path[:depth]), _dotted(path[: depth + 1])
            raise _Unreachable(f"{done} is a single value, not a table; {here} does not exist")
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(key)
            if field is None:
                return None  # validation names the unknown key
            annotation = field.annotation
        elif typing.get_origin(annotation) is list and key.isdigit():
            annotation = typing.get_args(annotation)[0]
        elif typing.get_origin(annotation) is dict:
            annotation = typing.get_args(annotation)[1]
        else:
            return None
    annotation = _plain(annotation)
    if typing.get_origin(annotation) in (list, tuple, set, frozenset):
        return "a list"
    if typing.get_origin(annotation) is dict or (
        isinstance(annotation, type) and issubclass(annotation, BaseModel)
    ):
        return "a table"
    return None


def _scalar(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return False
    return typing.get_origin(annotation) not in (list, dict, typing.Union, types.UnionType)


def _dotted(path: tuple[str, ...]) -> str:
    return "".join(f"[{key}]" if key.isdigit() else f".{key}" for key in path).lstrip(".")


def _plain(annotation: Any) -> Any:
    """``annotation`` without ``Annotated[…]`` and an optional ``| None``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation
