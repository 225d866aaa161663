"""The live page's cost, from a results file of ``benchmarks.load`` run with the servers
``hotline,hotline+page,hotline+page-5``:

    python -m benchmarks.page_cost benchmarks/results-page.json

Medians of separate runs hide little on a quiet machine but much on this shared one (other
processes took 3-90 CPU s inside a 6-15 s window).  The servers run interleaved (run k of
each, one after the other), so each page run is compared with the runtime-without-page run
just before it: the paired ratios' median, their spread and how many are above 1 say whether a
difference is the page's or the machine's.  The snapshots' own CPU (build and encode, timed in
the loop thread by benchmarks/server.py) is the part of the cost that is surely the page's;
so is the CPU of every step of the page's tasks (the push task and each page's stream:
building, framing and sending), where the results have it.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

BASE = "hotline"
VARIANTS = ("hotline+page", "hotline+page-5")


def paired(base: Sequence[Mapping[str, Any]], runs: Sequence[Mapping[str, Any]]) -> list[float]:
    """CPU per call of each run over that of the base run with the same number."""
    by_run = {r["run"]: r for r in base}
    return [
        r["cpu_ms_per_call"] / by_run[r["run"]]["cpu_ms_per_call"]
        for r in runs
        if r["run"] in by_run
    ]


def summary(results: Mapping[str, Any], size: str = "500") -> dict[str, Any]:
    """Per mode and variant: paired ratios and the snapshots' share of the runtime's CPU."""
    out: dict[str, Any] = {}
    for mode, data in results["modes"].items():
        runs = data["runs"]
        base = runs[BASE][size]
        mode_out: dict[str, Any] = {
            BASE: {
                "cpu_ms_per_call_median": round(
                    statistics.median(r["cpu_ms_per_call"] for r in base), 3
                ),
                "runs": len(base),
            }
        }
        for variant in VARIANTS:
            if variant not in runs:
                continue
            mine = runs[variant][size]
            ratios = paired(base, mine)
            pages = [r["page"] for r in mine if r.get("page")]
            shares = [p["cpu_ms"] / 1000 / r["cpu_s"] for p, r in zip(pages, mine, strict=True)]
            mode_out[variant] = {
                "cpu_ms_per_call_median": round(
                    statistics.median(r["cpu_ms_per_call"] for r in mine), 3
                ),
                "paired_ratio_median": round(statistics.median(ratios), 4),
                "paired_ratio_min": round(min(ratios), 4),
                "paired_ratio_max": round(max(ratios), 4),
                "paired_above_1": sum(q > 1 for q in ratios),
                "runs": len(ratios),
                "snapshots_median": statistics.median(p["snapshots"] for p in pages),
                "snapshot_cpu_share_median": round(statistics.median(shares), 4),
            }
            tasks = [p["tasks_cpu_ms"] for p in pages if "tasks_cpu_ms" in p]
            if tasks and len(tasks) == len(mine):
                mode_out[variant]["page_tasks_cpu_ms_per_call_median"] = round(
                    statistics.median(t / r["calls"] for t, r in zip(tasks, mine, strict=True)), 4
                )
                mode_out[variant]["page_tasks_cpu_share_median"] = round(
                    statistics.median(
                        t / 1000 / r["cpu_s"] for t, r in zip(tasks, mine, strict=True)
                    ),
                    4,
                )
        out[mode] = mode_out
    return out


def markdown(cost: Mapping[str, Any]) -> str:
    lines = [
        "| N = 500 | CPU ms/call, no page | page on, nobody looking | 5 pages open |"
        " snapshots per run (5 pages) | their CPU, share of the run's |"
        " all the page's task steps (5 pages): share, ms/call |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]

    def cell(row: Mapping[str, Any]) -> str:
        return (
            f"{row['cpu_ms_per_call_median']:.2f}: paired {_pct(row['paired_ratio_median'])}"
            f" ({_pct(row['paired_ratio_min'])} to {_pct(row['paired_ratio_max'])},"
            f" {row['paired_above_1']} of {row['runs']} above)"
        )

    for mode, row in cost.items():
        five = row.get("hotline+page-5")
        share = f"{five['snapshot_cpu_share_median'] * 100:.1f} %" if five else "-"
        tasks = (
            f"{five['page_tasks_cpu_share_median'] * 100:.1f} %,"
            f" {five['page_tasks_cpu_ms_per_call_median']:.3f}"
            if five and "page_tasks_cpu_share_median" in five
            else "-"
        )
        lines.append(
            f"| {mode} | {row[BASE]['cpu_ms_per_call_median']:.2f} "
            f"| {cell(row['hotline+page']) if 'hotline+page' in row else '-'} "
            f"| {cell(five) if five else '-'} "
            f"| {five['snapshots_median'] if five else '-'} "
            f"| {share} | {tasks} |"
        )
    return "\n".join(lines)


def _pct(ratio: float) -> str:
    return f"{(ratio - 1) * 100:+.1f} %"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="a results file of benchmarks.load")
    parser.add_argument(
        "--write", action="store_true", help="also store the summary in the file (page_cost)"
    )
    args = parser.parse_args()
    results = json.loads(args.results.read_text())
    cost = summary(results)
    print(markdown(cost))
    if args.write:
        results["page_cost"] = cost
        args.results.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
