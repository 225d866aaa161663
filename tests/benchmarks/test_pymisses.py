"""benchmarks.pymisses: callgrind's unnamed functions named by a ``-X perf`` map."""

# callgrind_annotate's own lines, as printed: wider than the project's lines
# ruff: noqa: E501

from __future__ import annotations

import pytest

from benchmarks.errors import BenchmarkError
from benchmarks.pymisses import Cost, PerfMap, by_python_function, parse_annotate, report

#: lines as callgrind_annotate 3.19 printed them for the runtime (CPython 3.12, -X perf)
ANNOTATED = """\
--------------------------------------------------------------------------------
Events shown:     Ir ILmr DLmr DLmw
--------------------------------------------------------------------------------
1,928,512,747 (100.0%) 324,468 (100.0%) 1,953,395 (100.0%) 355,037 (100.0%)  PROGRAM TOTALS

--------------------------------------------------------------------------------
Ir                     ILmr             DLmr               DLmw              file:function
--------------------------------------------------------------------------------
 1,928,512,747 (100.0%)   324,468 (100.0%)  1,953,395 (100.0%)   355,037 (100.0%)  ???:0x000000000001ab70 [/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2]
   549,000,000 (28.47%)    40,000 (12.33%)    500,000 (25.60%)    60,000 (16.90%)  ???:0x000000000547c34b [???]
   400,000,000 (20.74%)    30,000 ( 9.25%)    300,000 (15.36%)    10,000 ( 2.82%)  ???:0x000000000547c350 [???]
   120,000,000 ( 6.22%)         .             90,000 ( 4.61%)         .            ???:0x000000000547c360 [???]
    49,381,856 ( 2.56%)     1,292 ( 0.40%)    217,446 (11.13%)         .           /Python-3.12.1/./Include/object.h:_PyEval_EvalFrameDefault'2
"""

#: a map as -X perf writes it: START SIZE NAME, hexadecimal
PERF_MAP = """\
547c340 b py::ConfirmFlow.run:/work/hotline/flow/confirm.py
547c34b b py::ConfirmFlow._ask_agent:/work/hotline/flow/confirm.py
547c356 b py::_log_method.<locals>.log:/work/hotline/logs.py
"""


def test_the_totals_and_rows_are_read_with_dots_as_zero() -> None:
    total, rows = parse_annotate(ANNOTATED)
    assert total == Cost(1_928_512_747, 324_468 + 1_953_395 + 355_037)
    assert ("???:0x000000000547c360 [???]", Cost(120_000_000, 90_000)) in rows
    assert rows[-1][1] == Cost(49_381_856, 1_292 + 217_446)


def test_an_address_is_named_by_the_trampoline_that_holds_it() -> None:
    perf_map = PerfMap.parse(PERF_MAP)
    assert perf_map.name(0x547C340) == "py::ConfirmFlow.run:/work/hotline/flow/confirm.py"
    assert perf_map.name(0x547C34A) == "py::ConfirmFlow.run:/work/hotline/flow/confirm.py"
    assert perf_map.name(0x547C34B) == "py::ConfirmFlow._ask_agent:/work/hotline/flow/confirm.py"
    assert perf_map.name(0x547C361) is None  # past the last trampoline
    assert perf_map.name(0x1AB70) is None  # the dynamic loader, not Python


def test_rows_become_python_functions_keeping_each_ones_largest() -> None:
    _total, rows = parse_annotate(ANNOTATED)
    functions = by_python_function(rows, PerfMap.parse(PERF_MAP))
    assert functions == {
        # 0x547c34b and 0x547c350 are both in _ask_agent's trampoline: the larger is kept
        "py::ConfirmFlow._ask_agent:/work/hotline/flow/confirm.py": Cost(549_000_000, 600_000),
        "py::_log_method.<locals>.log:/work/hotline/logs.py": Cost(120_000_000, 90_000),
    }


def test_the_report_ranks_by_misses_per_command() -> None:
    functions = {
        "py::a:x.py": Cost(1_000_000, 1_000),
        "py::b:x.py": Cost(3_000_000, 5_000),
    }
    text = report(Cost(80_000_000, 120_000), functions, 1_000, top=1)
    assert text.splitlines()[0] == (
        "1000 AGI commands: 80,000 instructions and 120.0 misses past the last level per command"
    )
    assert text.splitlines()[-1] == "| 3,000 | 5.00 | `b:x.py` |"
    assert "a:x.py" not in text


@pytest.mark.parametrize("bad", ["547c340 py::no_size", "zz 1 py::x"])
def test_a_broken_map_line_is_one_error_naming_it(bad: str) -> None:
    with pytest.raises(BenchmarkError, match="perf map line 1"):
        PerfMap.parse(bad)


def test_output_without_totals_is_refused() -> None:
    with pytest.raises(BenchmarkError, match="PROGRAM TOTALS"):
        parse_annotate("nothing here\n")


def test_a_drive_under_valgrind_gets_its_own_bound() -> None:
    from benchmarks.procs import Load

    assert Load(300, concurrency=200, limit=1800.0).deadline == 1800.0
    assert Load(300, concurrency=200).deadline == 60.0 + 300 * 0.05 + 2.0  # as before
