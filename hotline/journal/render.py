"""``hotline report``'s output: a table, CSV or JSON, and a picture (``--plot``, matplotlib)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

Format = Literal["table", "csv", "json"]

_RATES = ("answered_rate", "acceptance_rate")
_SECONDS = ("wait_p50", "wait_p90", "wait_max")


def _cell(key: str, value: Any, *, table: bool) -> str:
    if value is None:
        return "-" if table else ""
    if isinstance(value, dict):
        return " ".join(f"{k}:{v}" for k, v in value.items()) or ("-" if table else "")
    if table and key in _RATES:
        return f"{value * 100:.1f}%"
    if table and key in _SECONDS:
        return f"{value:.1f}"
    return str(value)


def render(rows: Sequence[dict[str, Any]], fmt: Format, meta: dict[str, Any]) -> str:
    """The rows as text; ``meta`` (period, grouping) heads the table and wraps the JSON."""
    if fmt == "json":
        return json.dumps({**meta, "rows": list(rows)}, indent=2, ensure_ascii=False) + "\n"
    columns = list(rows[0]) if rows else []
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(c, row[c], table=False) for c in columns])
        return out.getvalue()
    head = f"{meta['since']} .. {meta['until']} ({meta['timezone']}), by {meta['by']}\n"
    if not rows:
        return head + "no calls in this period\n"
    cells = [columns] + [[_cell(c, row[c], table=True) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = []
    for n, line in enumerate(cells):
        lines.append(
            "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return head + "\n".join(lines) + "\n"


def plot(rows: Sequence[dict[str, Any]], waits: Sequence[float], by: str, path: Path) -> None:
    """Answer (or, by agent, acceptance) rate per group, and the wait distribution, as PNG."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    rate_key = "acceptance_rate" if by == "agent" else "answered_rate"
    shown = [r for r in rows if r.get(by) != "total"]
    labels = [f"{r['hotline']} {r[by]}" for r in shown]
    rates = [(r[rate_key] or 0.0) * 100 for r in shown]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), layout="constrained")
    try:
        top.bar(range(len(rates)), rates, color="#2b7bb9")
        top.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
        top.set_ylim(0, 100)
        top.set_ylabel("accepted %" if by == "agent" else "answered %")
        top.set_title("acceptance rate per agent" if by == "agent" else f"answered rate per {by}")
        bottom.hist(list(waits), bins=min(30, max(1, len(waits))), color="#6a9f3a")
        bottom.set_xlabel("wait until connected (s)")
        bottom.set_ylabel("calls")
        bottom.yaxis.set_major_locator(MaxNLocator(integer=True))
        bottom.set_title(f"wait until connected ({len(waits)} answered calls)")
        figure.savefig(path, dpi=100)
    finally:
        plt.close(figure)
