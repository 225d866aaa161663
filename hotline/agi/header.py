"""An AGI header's lines as a read-only mapping that keeps little per connection.

A connection keeps its header for as long as its call lasts, three connections
per call.  As a dict (behind a ``MappingProxyType``) Asterisk's 25 lines took
~900 bytes per connection; here a header keeps its values in a tuple (~250
bytes) and shares the index of its names with every header whose names came
in the same order: Asterisk sends the same lines in the same order on every
call (tests/agi/recordings/*.rx), so a runtime sees a handful of shapes
(benchmarks/RESULTS.md, issue 19, session 13).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TypeVar, overload

_T = TypeVar("_T")

#: shapes kept (names in order -> index); emptied when full (hotline/agi/wire.py bounds its
#: other tables the same way).  Only headers of names Asterisk sends are kept: the leak
#: check's hostile peers, an odd line at any place, made ~250 shapes (~400 KB) otherwise
SHAPES_KEPT = 64

_SHAPES: dict[tuple[str, ...], dict[str, int]] = {}


def _index_of(names: tuple[str, ...], remember: bool) -> dict[str, int]:
    index = _SHAPES.get(names)
    if index is None:
        # a name given twice: its last value counts, as a dict built line by line keeps it
        index = {name: position for position, name in enumerate(names)}
        if remember:
            if len(_SHAPES) >= SHAPES_KEPT:
                _SHAPES.clear()
            _SHAPES[names] = index
    return index


class HeaderEnv(Mapping[str, str]):
    """``agi_*`` name -> value, read-only; equal to any mapping of the same items."""

    __slots__ = ("_index", "_values")

    def __init__(
        self, names: tuple[str, ...], values: tuple[str, ...], *, remember: bool = True
    ) -> None:
        """``remember``: keep the index of ``names`` for headers alike (False for a header
        with a name Asterisk does not send)."""
        if len(names) != len(values):
            raise ValueError("a header needs one value per name")
        self._index = _index_of(names, remember)
        self._values = values

    @classmethod
    def of(cls, mapping: Mapping[str, str]) -> HeaderEnv:
        """``mapping`` as a header (itself when it is one already: it never changes)."""
        if isinstance(mapping, HeaderEnv):
            return mapping
        return cls(tuple(mapping), tuple(mapping.values()), remember=False)

    def __getitem__(self, key: str) -> str:
        return self._values[self._index[key]]

    @overload
    def get(self, key: str, /) -> str | None: ...
    @overload
    def get(self, key: str, default: str, /) -> str: ...
    @overload
    def get(self, key: str, default: _T, /) -> str | _T: ...

    def get(self, key: str, default: object = None, /) -> object:
        position = self._index.get(key)
        return default if position is None else self._values[position]

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:
        return f"HeaderEnv({dict(self)!r})"
