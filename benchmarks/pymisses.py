"""Instructions and cache misses per AGI command by Python function (``benchmarks.pymisses``).

The load benchmark says what a command costs; callgrind's cache simulation
(benchmarks/RESULTS.md, sessions 12-14) says how much of it is misses past the
last level, but only by C function: the interpreter's own (``_PyEval_EvalFrameDefault``
missed 15 times per command in the runtime against bare's 0.9), which does not say
whose objects they were.  CPython 3.12+ can call each Python function through a small
trampoline of its own (``-X perf``) and lists the trampolines' addresses in
``/tmp/perf-<pid>.map``; callgrind sees each trampoline as an unnamed function, so its
inclusive cost is the Python function's.  This tool runs one server kind of
:mod:`benchmarks.server` under callgrind that way, places the calls with
:mod:`benchmarks.driver` (virtual time, ``--concurrency`` at once), and prints each
Python function's inclusive instructions and misses past the last level per AGI
command.

What it cannot say: the trampolines add ~18 % instructions (94.5k against 80.2k per
command for the runtime, CPython 3.12), charged to the functions that make many
calls, and a coroutine's cost is its whole chain's (every frame a resumed step
passes through counts it); compare functions of one run and kinds of the same
settings, not these figures with the load benchmark's.  Needs valgrind
(``callgrind_control`` beside it) and CPython 3.12 or newer.

``--plain`` runs the interpreter as the load benchmark does, without ``-X perf``,
and prints the totals only.  A ``-X perf`` interpreter has an eval-frame hook, and
with one CPython's ``SEND`` never pushes an awaited coroutine's frame itself
(``Python/bytecodes.c``, 3.12 and 3.13): every level of a coroutine chain becomes a C
call through ``PyIter_Check`` and ``gen_send`` (RESULTS.md, issue 19 session 19).
Compare what a change does to a command's instructions and misses with ``--plain``
(any CPython, 3.11 too).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.errors import BenchmarkError
from benchmarks.exchange import capture_exchange
from benchmarks.procs import DriveResult, Load, drive

#: callgrind's cache: a last level small enough that the calls' working set exceeds it, as
#: the L3 is exceeded at N = 1,000 on the benchmark machines (RESULTS.md, session 14)
DEFAULT_LL = "1048576,8,64"
#: the events shown: instructions, then the misses past the last level (code, reads, writes)
EVENTS = ("Ir", "ILmr", "DLmr", "DLmw")
#: calls placed before counting starts (imports, caches, the first connections' set-up)
WARMUP_CALLS = 20
#: seconds the server may take to start under valgrind
START_TIMEOUT = 120.0
#: seconds a drive of the measured calls may take under valgrind
DRIVE_TIMEOUT = 1800.0


@dataclass(frozen=True)
class Cost:
    """One function's inclusive costs (counts, not per command)."""

    instructions: int
    misses: int


class PerfMap:
    """The trampolines a ``-X perf`` interpreter listed: address ranges to Python function
    names (``py::name:file``)."""

    def __init__(self, entries: Iterable[tuple[int, int, str]]) -> None:
        ordered = sorted(entries)
        self._starts = [start for start, _size, _name in ordered]
        self._ends = [start + size for start, size, _name in ordered]
        self._names = [name for _start, _size, name in ordered]

    @classmethod
    def parse(cls, text: str) -> PerfMap:
        """``/tmp/perf-<pid>.map``: one ``START SIZE NAME`` line (hexadecimal) per trampoline."""
        entries = []
        for number, line in enumerate(text.splitlines(), start=1):
            parts = line.split(" ", 2)
            if len(parts) != 3:
                raise BenchmarkError(f"perf map line {number} is not 'START SIZE NAME': {line!r}")
            try:
                entries.append((int(parts[0], 16), int(parts[1], 16), parts[2]))
            except ValueError:
                raise BenchmarkError(f"perf map line {number}: {line[:60]!r}") from None
        return cls(entries)

    def name(self, address: int) -> str | None:
        """The Python function whose trampoline holds ``address``, else None."""
        index = bisect.bisect_right(self._starts, address) - 1
        if index >= 0 and address < self._ends[index]:
            return self._names[index]
        return None


_NUMBER = r"([\d,]+|\.)"
_ROW = re.compile(r"\s*" + r"\s+".join(_NUMBER + r"(?: \([^)]*\))?" for _ in EVENTS) + r"\s+(.*)$")
_UNNAMED = re.compile(r"\?\?\?:0x([0-9a-fA-F]+)")


def _count(text: str) -> int:
    return 0 if text == "." else int(text.replace(",", ""))


def parse_annotate(text: str) -> tuple[Cost, list[tuple[str, Cost]]]:
    """``callgrind_annotate --show=Ir,ILmr,DLmr,DLmw`` output: the program's totals and
    every function row (name as printed, costs)."""
    total: Cost | None = None
    rows: list[tuple[str, Cost]] = []
    for line in text.splitlines():
        match = _ROW.match(line)
        if match is None:
            continue
        counts = [_count(group) for group in match.groups()[: len(EVENTS)]]
        cost = Cost(counts[0], sum(counts[1:]))
        name = match.group(len(EVENTS) + 1).strip()
        if name == "PROGRAM TOTALS":
            total = cost
        else:
            rows.append((name, cost))
    if total is None:
        raise BenchmarkError(
            "callgrind_annotate printed no PROGRAM TOTALS: not a callgrind profile?"
        )
    return total, rows


def by_python_function(rows: Iterable[tuple[str, Cost]], perf_map: PerfMap) -> dict[str, Cost]:
    """The rows of unnamed functions that are trampolines, by Python function (a function
    with several trampolines, one per code object of that name, keeps its largest)."""
    found: dict[str, Cost] = {}
    for name, cost in rows:
        match = _UNNAMED.match(name)
        if match is None:
            continue
        function = perf_map.name(int(match.group(1), 16))
        if function is None:
            continue
        kept = found.get(function)
        if kept is None or cost.instructions > kept.instructions:
            found[function] = cost
    return found


def totals_line(total: Cost, commands: int) -> str:
    """The program's instructions and misses per command (``--plain`` prints only this)."""
    return (
        f"{commands} AGI commands: {total.instructions / commands:,.0f} instructions and "
        f"{total.misses / commands:.1f} misses past the last level per command"
    )


def report(total: Cost, functions: dict[str, Cost], commands: int, top: int) -> str:
    """The table: totals per command, then the ``top`` functions by misses per command."""
    lines = [
        totals_line(total, commands),
        "",
        "| instructions / command | misses / command | Python function (inclusive) |",
        "| ---: | ---: | --- |",
    ]
    ranked = sorted(functions.items(), key=lambda item: -item[1].misses)[:top]
    for name, cost in ranked:
        lines.append(
            f"| {cost.instructions / commands:,.0f} | {cost.misses / commands:.2f} | "
            f"`{name.removeprefix('py::')}` |"
        )
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pymisses", description=__doc__)
    parser.add_argument(
        "--kind", choices=("hotline", "agi", "bare", "panoramisk"), default="hotline"
    )
    parser.add_argument("--calls", type=int, default=300, help="calls counted")
    parser.add_argument("--concurrency", type=int, default=200, help="calls up at once")
    parser.add_argument("--ll", default=DEFAULT_LL, help="callgrind --LL: size,ways,line")
    parser.add_argument("--top", type=int, default=40, help="functions shown")
    parser.add_argument("--keep", type=Path, help="keep the profile, map and logs here")
    parser.add_argument("--tweak", action="append", default=[], help="as benchmarks.server's")
    parser.add_argument(
        "--plain",
        action="store_true",
        help="no -X perf (as the load benchmark runs): the totals per command only",
    )
    return parser


def _tools() -> tuple[str, str, str]:
    found = [shutil.which(tool) for tool in ("valgrind", "callgrind_control", "callgrind_annotate")]
    if None in found:
        raise BenchmarkError(
            "needs valgrind with callgrind_control and callgrind_annotate on PATH "
            "(Debian: apt-get install valgrind)"
        )
    valgrind, control, annotate = (str(tool) for tool in found)
    return valgrind, control, annotate


def _read_ready(server: subprocess.Popen[bytes]) -> int:
    """The server's port, from its first JSON line (benchmarks.server's ``ready``)."""
    assert server.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        if not line:
            raise BenchmarkError(f"the server exited under valgrind (code {server.wait()})")
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if message.get("ready"):
            return int(message["port"])
    raise BenchmarkError(f"the server was not ready within {START_TIMEOUT:g} s under valgrind")


def _drive(port: int, calls: int, concurrency: int, caller_commands: int) -> DriveResult:
    load = Load(calls, concurrency=concurrency, limit=DRIVE_TIMEOUT)
    return asyncio.run(drive(port, load, caller_commands=caller_commands))


def measure(args: argparse.Namespace, folder: Path) -> str:
    """Run the server under callgrind, place the calls, and return the report."""
    if not args.plain and not hasattr(sys, "activate_stack_trampoline"):  # -X perf's
        raise BenchmarkError(
            "needs CPython 3.12 or newer on Linux (-X perf); run it with .venvs/3.12/bin/python"
        )
    valgrind, control, annotate = _tools()
    exchange = asyncio.run(capture_exchange())
    exchange_file = folder / "exchange.json"
    exchange_file.write_text(exchange.to_json())
    profile = folder / "callgrind.out"
    command = [
        valgrind,
        "--tool=callgrind",
        "--cache-sim=yes",
        f"--LL={args.ll}",
        f"--callgrind-out-file={profile}",
        sys.executable,
        *(() if args.plain else ("-X", "perf")),
        "-m",
        "benchmarks.server",
        "--kind",
        args.kind,
        "--loop",
        "uvloop",
        "--heartbeat",
        "1000",
        "--log-file",
        str(folder / "server.jsonl"),
    ]
    if args.kind != "hotline":
        command += ["--exchange", str(exchange_file)]
    for tweak in args.tweak:
        command += ["--tweak", tweak]
    caller_commands = len(exchange.caller)
    with (folder / "valgrind.err").open("wb") as errors:
        server = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors
        )
    try:
        port = _read_ready(server)
        _drive(port, WARMUP_CALLS, 10, caller_commands)
        subprocess.run([control, "-z", str(server.pid)], check=True, capture_output=True)
        result = _drive(port, args.calls, args.concurrency, caller_commands)
        subprocess.run([control, "-d", str(server.pid)], check=True, capture_output=True)
    finally:
        if server.stdin is not None:
            server.stdin.write(b"quit\n")
            server.stdin.close()
        try:
            server.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    if result.correct != result.calls:
        # a call cut short (a header or command deadline passed under valgrind's slowness)
        # sent fewer commands than the exchange: no per-command figure then
        raise BenchmarkError(
            f"only {result.correct} of {result.calls} calls went right under valgrind: run one "
            "kind at a time, or fewer --concurrency"
        )
    dumped = profile.with_name(profile.name + ".1")  # the dump after the counted calls
    commands = result.calls * exchange.commands_per_call
    header = (
        f"{args.kind}, CPython {sys.version.split()[0]}, {result.calls} calls, all correct, "
        f"{args.concurrency} at once, LL {args.ll}"
    )
    if args.plain:
        total, _rows = parse_annotate(_annotate(annotate, dumped))
        return header + "\n" + totals_line(total, commands)
    perf_map_file = Path(f"/tmp/perf-{server.pid}.map")
    if not perf_map_file.exists():
        raise BenchmarkError(f"{perf_map_file} was not written: does this CPython support -X perf?")
    kept_map = folder / "perf.map"
    shutil.move(perf_map_file, kept_map)
    perf_map = PerfMap.parse(kept_map.read_text())
    total, rows = parse_annotate(_annotate(annotate, dumped))
    functions = by_python_function(rows, perf_map)
    return header + ", -X perf\n" + report(total, functions, commands, args.top)


def _annotate(annotate: str, profile: Path) -> str:
    command = [annotate, "--inclusive=yes", "--threshold=100"]
    command += [f"--show={','.join(EVENTS)}", str(profile)]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            print(measure(args, args.keep))
        else:
            with tempfile.TemporaryDirectory(prefix="pymisses-") as folder:
                print(measure(args, Path(folder)))
    except BenchmarkError as exc:
        print(f"benchmarks.pymisses: {exc}", file=sys.stderr)
        return 2
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"benchmarks.pymisses: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
