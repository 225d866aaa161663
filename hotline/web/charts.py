"""Bar charts as inline SVG, drawn here from numbers: no chart library, no CDN.

The runtime may have no internet, and the page loads nothing but its own
files; an SVG string per chart is all a bar chart needs.  Colours are
presentation attributes and the page's stylesheet (``.bar``), never inline
style, so the page's Content-Security-Policy needs no ``unsafe-inline``.
Every bar carries ``data-label``/``data-value`` (tests read them) and a
``<title>`` (the browser's tooltip).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH = 480
HEIGHT = 200
_LEFT, _RIGHT, _TOP, _BOTTOM = 30, 6, 10, 26


def _nice_top(peak: float) -> int:
    """The y axis' top: the peak rounded up to 1, 2 or 5 times a power of ten."""
    if peak <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= peak:
                return step * factor
        step *= 10


def bar_chart(bars: Sequence[tuple[str, int]], *, title: str, label_every: int = 1) -> str:
    """``bars`` (label, count) left to right; ``label_every``: label every n-th bar only."""
    top = _nice_top(max((v for _, v in bars), default=0))
    plot_w = WIDTH - _LEFT - _RIGHT
    plot_h = HEIGHT - _TOP - _BOTTOM
    slot = plot_w / max(1, len(bars))
    gap = min(4.0, slot * 0.2)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" font-size="11" fill="currentColor">'
    ]
    for tick in (0, top // 2 if top >= 2 else None, top):
        if tick is None:
            continue
        y = _TOP + plot_h - plot_h * tick / top
        parts.append(
            f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="currentColor" stroke-opacity="0.15"/>'
            f'<text x="{_LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>'
        )
    for index, (label, value) in enumerate(bars):
        x = _LEFT + index * slot + gap / 2
        h = plot_h * value / top
        y = _TOP + plot_h - h
        name = escape(label)
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot - gap:.1f}" '
            f'height="{h:.1f}" fill="#4e79a7" data-label="{name}" data-value="{value}">'
            f"<title>{name}: {value}</title></rect>"
        )
        if index % label_every == 0:
            parts.append(
                f'<text x="{x + (slot - gap) / 2:.1f}" y="{HEIGHT - _BOTTOM + 14}" '
                f'text-anchor="middle">{name}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
