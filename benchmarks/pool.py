"""Issue 19's targets read over every full window of one CPython, not over one window.

The rule, fixed before session 21's windows were read (RESULTS.md, "Issue 19, session 21"):
one window of five rounds moves by more than its distance from the ratio targets (the same
code gave 1.21x and 1.05x panoramisk in two CPython 3.13 windows of session 20), so no
window is picked:

* the windows are every ``benchmarks.load`` run of paced N = 1,000 on one CPython and one
  event loop that finished (wrote its JSON) at a served path equal to main's;
* the ratio targets read the median CPU per command of the runtime's kept runs of all the
  windows over the same median of the peer's; the median of the per-round ratios is shown
  beside it;
* correctness and p99 turnaround are read in every kept run of every window;
* the block (:func:`benchmarks.report.own_block_ms`) in every kept run of every window that
  watched the host's steal; the others are listed with their longest beat, not read.

``python -m benchmarks.pool FILE[#KEY] ...`` prints the windows, the pooled ratios and the
targets; ``#KEY`` names one window inside a results file that keeps several
(``benchmarks/results-session20.json#uvloop-3.13-b``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks.errors import BenchmarkError

SIZE = "1000"
PEERS = report.RATIO_TARGETS
SERVERS = ("hotline", "bare", "panoramisk")


def read_window(source: str) -> tuple[str, dict[str, Any]]:
    """One window from ``FILE`` or ``FILE#KEY``."""
    name, _, key = source.partition("#")
    path = Path(name)
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        why = exc.strerror
        raise BenchmarkError(f"{path}: cannot be read ({why}); name a --json file") from exc
    except ValueError as exc:
        raise BenchmarkError(f"{path}: not JSON ({exc}); name a --json file") from exc
    if key:
        if not isinstance(data, dict) or key not in data:
            raise BenchmarkError(f"{path}: has no window {key!r}; name one of its keys after #")
        data = data[key]
    if not isinstance(data, dict) or "paced" not in data.get("modes", {}):
        raise BenchmarkError(f"{source}: no paced load in it; name a benchmarks.load result")
    runs = data["modes"]["paced"]["runs"]
    if any(SIZE not in runs.get(server, {}) for server in SERVERS):
        raise BenchmarkError(
            f"{source}: needs paced N={SIZE} runs of {', '.join(SERVERS)}; "
            "name a window of all three"
        )
    return source, data


def _kind(window: Mapping[str, Any]) -> tuple[str, str]:
    return window["machine"]["python"], window["loop"]


def pooled(windows: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """The windows side by side, the pooled ratios and issue 19's targets over all of them."""
    if not windows:
        raise BenchmarkError("name at least one window")
    kinds = {_kind(w) for _, w in windows}
    if len(kinds) > 1:
        mixed = ", ".join(f"{python} on {loop}" for python, loop in sorted(kinds))
        raise BenchmarkError(f"the windows mix {mixed}; pool one CPython and loop")
    rows = []
    watched: list[Mapping[str, Any]] = []
    every: dict[str, list[Mapping[str, Any]]] = {server: [] for server in SERVERS}
    round_ratios: dict[str, list[float]] = {other: [] for other, _, _ in PEERS}
    for source, window in windows:
        runs = {s: window["modes"]["paced"]["runs"][s][SIZE] for s in SERVERS}
        for server in SERVERS:
            every[server].extend(runs[server])
        by_round = {s: {r["run"]: r["cpu_us_per_command"] for r in runs[s]} for s in SERVERS}
        for other, _, _ in PEERS:
            for number, mine in by_round["hotline"].items():
                if number in by_round[other]:
                    round_ratios[other].append(mine / by_round[other][number])
        # the simulator watches the steal from 07fcaa7 on
        steal_watched = all(report.steal_watched(r) for r in runs["hotline"])
        if steal_watched:
            watched.extend(runs["hotline"])
        cpu = {s: statistics.median(r["cpu_us_per_command"] for r in runs[s]) for s in SERVERS}
        rows.append(
            {
                "window": source,
                "rounds": len(runs["hotline"]),
                "steal_watched": steal_watched,
                "block_ms": max(report.own_block_ms(r) for r in runs["hotline"]),
                "every_beat_ms": max(float(r["loop_cpu_lag_max_ms"]) for r in runs["hotline"]),
                "cpu_us_per_command": {s: round(v, 2) for s, v in cpu.items()},
                "ratios": {o: round(cpu["hotline"] / cpu[o], 3) for o, _, _ in PEERS},
            }
        )
    cpu = {s: statistics.median(r["cpu_us_per_command"] for r in every[s]) for s in SERVERS}
    # rounded once, so that the table and the target say the same
    ratio = {other: round(cpu["hotline"] / cpu[other], 3) for other, _, _ in PEERS}
    mine = every["hotline"]
    worst_p99 = max(float(r["turnaround_p99_ms"]) for r in mine)
    correct = min(float(r["correct_pct"]) for r in mine)
    found = [
        report.target_entry(
            f"{SIZE} concurrent calls, 100 % correct, every run",
            "100 %",
            f"{correct:g} %",
            correct == 100.0,
        ),
        report.target_entry(
            "p99 turnaround, every run",
            f"< {report.P99_LIMIT_MS:g} ms",
            f"{worst_p99:.3f} ms",
            worst_p99 < report.P99_LIMIT_MS,
        ),
    ]
    for other, goal, limit in PEERS:
        per_round = round_ratios[other]
        beside = (
            f" (median of the {len(per_round)} rounds' ratios {statistics.median(per_round):.2f}x)"
            if per_round
            else ""
        )
        found.append(
            report.target_entry(
                f"CPU per command / {other}'s, pooled medians",
                goal,
                f"{ratio[other]:.2f}x{beside}",
                ratio[other] <= limit,
            )
        )
    found.append(report.block_target(watched, f"{len(watched)} runs that watched the steal"))
    python, loop = kinds.pop()
    return {
        "python": python,
        "loop": loop,
        "windows": rows,
        "rounds": len(mine),
        "cpu_us_per_command": {s: round(v, 2) for s, v in cpu.items()},
        "ratios": ratio,
        "targets": found,
    }


def render(result: Mapping[str, Any]) -> str:
    """The windows, the pooled line and the targets, as Markdown."""
    header = (
        "window",
        "rounds",
        "hotline / bare / panoramisk µs per command",
        "/ bare",
        "/ pan.",
        "runtime's longest block: own / every beat (ms)",
    )
    lines = [report.table_row(header), report.table_row("---" for _ in header)]

    def row(
        name: str, rounds: int, cpu: Mapping[str, float], ratio: Mapping[str, float], block: str
    ) -> str:
        per = " / ".join(f"{cpu[s]:.1f}" for s in SERVERS)
        return report.table_row(
            (name, rounds, per, f"{ratio['bare']:.2f}x", f"{ratio['panoramisk']:.2f}x", block)
        )

    for w in result["windows"]:
        block = (
            f"{w['block_ms']:.2f} / {w['every_beat_ms']:.2f}"
            if w["steal_watched"]
            else f"not watched / {w['every_beat_ms']:.2f}"
        )
        lines.append(row(w["window"], w["rounds"], w["cpu_us_per_command"], w["ratios"], block))
    lines.append(
        row("**pooled**", result["rounds"], result["cpu_us_per_command"], result["ratios"], "")
    )
    title = f"CPython {result['python']} on {result['loop']}, paced N = {SIZE}:"
    return "\n\n".join((title, "\n".join(lines), report.target_table(result["targets"])))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="benchmarks.pool",
        description="Issue 19's targets over several windows.",
    )
    parser.add_argument("windows", nargs="+", metavar="FILE[#KEY]", help="benchmarks.load results")
    parser.add_argument("--json", type=Path, help="also write the pooled result here")
    args = parser.parse_args(argv)
    try:
        windows = [read_window(source) for source in args.windows]
        try:
            result = pooled(windows)
        except (KeyError, TypeError, ValueError) as exc:
            raise BenchmarkError(
                f"a window lacks what benchmarks.load writes ({type(exc).__name__}: {exc}); "
                "name files that benchmarks.load --json wrote"
            ) from exc
    except BenchmarkError as exc:
        print(f"benchmarks.pool: {exc}", file=sys.stderr)
        return exc.exit_code
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
