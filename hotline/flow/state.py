"""State that outlives a call and a config: owned by the runtime, kept across reloads.

A reload swaps the config and everything derived from it (prompts, schedules,
routes) but hands the same :class:`RuntimeState` to the new flows, so what the
runtime has learnt (who is waiting for an agent, which numbers are locked out)
stays.  Anything else of that kind belongs here too, as one field each.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hotline.flow.registry import CallRegistry
from hotline.guard.pin import PinGuard


@dataclass
class RuntimeState:
    """Built once per runtime; every config generation's flows share it."""

    registry: CallRegistry = field(default_factory=CallRegistry)
    pin_guard: PinGuard = field(default_factory=PinGuard)
