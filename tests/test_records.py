"""``@record``: frozen to the type checker, slotted and hashable at run time (issue 19)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from mypy import api as mypy_api

from hotline.flow.observers import StepChanged
from hotline.records import record


@record
class _Point:
    x: int
    label: str = ""


def test_a_record_is_a_slotted_value_equal_and_hashed_by_its_fields() -> None:
    assert _Point(1, "a") == _Point(1, "a")
    assert _Point(1, "a") != _Point(2, "a")
    assert hash(_Point(1, "a")) == hash(_Point(1, "a"))
    assert len({_Point(1), _Point(1), _Point(2)}) == 2
    assert not hasattr(_Point(1), "__dict__")  # slotted: no per-instance dict
    with pytest.raises(AttributeError):
        _Point(1).colour = "red"  # type: ignore[attr-defined]


def test_the_type_checker_refuses_an_assignment_to_a_field(tmp_path: Path) -> None:
    """What frozen=True checked at run time, mypy checks on every change (CI runs it)."""
    source = tmp_path / "assigns.py"
    source.write_text(
        textwrap.dedent(
            """
            from hotline.flow.observers import StepChanged

            event = StepChanged("1.1", "support", "ringing")
            event.step = "connected"
            """
        )
    )
    out, _err, status = mypy_api.run(
        [str(source), "--no-incremental", "--follow-imports=silent", "--strict"]
    )
    assert status == 1, out
    assert 'Property "step" defined in "StepChanged" is read-only' in out
    assert StepChanged("1.1", "support", "ringing").step == "ringing"
