"""``@record``: an immutable value that costs what a plain one does to build.

``@dataclass(frozen=True)`` sets each field of each new instance through
``object.__setattr__``: 1.6 µs for six fields against 0.36 µs for a plain
slotted dataclass (CPython 3.11, this machine's figures in
benchmarks/RESULTS.md), and a call builds ~57 records (its events, its plan,
its dial attempts).  So a record is frozen where that is checked: the type
checker sees ``frozen=True`` (:func:`typing.dataclass_transform`) and refuses
any assignment to a field, as ``mypy --strict`` runs on every change.  At run
time it is a slotted dataclass with a hash of its fields, as a frozen one has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar, dataclass_transform

_T = TypeVar("_T")


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(cls: type[_T]) -> type[_T]:
    """A dataclass that is frozen to the type checker and slotted and hashable at run time."""
    return dataclass(slots=True, unsafe_hash=True)(cls)
