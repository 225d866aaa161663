"""Candidate fixes for the runtime, tried in the benchmark process only (``--tweak``).

Each tweak changes the runtime the way a proposed fix would, without editing
``hotline/``, so a fix can be measured side by side with the runtime as it is
(``--servers hotline,hotline+gc-freeze``).  Nothing here is used unless a
tweak is named.

* ``gc-freeze`` — ``gc.freeze()`` once serving: objects from imports and
  startup are never scanned again by the cycle collector.
* ``gc-threshold`` — ``gc.set_threshold(50_000, 20, 10)``: far fewer young
  collections (each one promotes the live calls' objects a generation up, and
  so makes the older generations grow), full collections as often relative
  to them as by default.
* ``log-off`` — log at WARNING instead of INFO: not a fix (production logs at
  INFO), but it shows what logging costs per call.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable

TWEAKS = frozenset({"gc-freeze", "gc-threshold", "log-off"})
GC_THRESHOLDS = (50_000, 20, 10)


def apply_before_start(tweaks: Iterable[str]) -> None:
    """Tweaks that must be in place before the runtime starts."""
    if "gc-threshold" in tweaks:
        gc.set_threshold(*GC_THRESHOLDS)


def apply_after_start(tweaks: Iterable[str]) -> None:
    """Tweaks applied once the runtime serves (its logging is configured by then)."""
    if "gc-freeze" in tweaks:
        gc.collect()
        gc.freeze()
