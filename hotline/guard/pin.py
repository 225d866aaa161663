"""PIN guessing across calls: lock out a caller number, alarm on a hotline under attack.

A call counts as failed at its first wrong PIN (so hanging up after a wrong
try does not escape the count), and a right PIN later in the same call takes
the caller's count back to zero.  Counts are per hotline and caller number:
as the right PIN clears a count, knowing one hotline's PIN must not reset the
guesses at another's.  Callers without a usable number share the
key ``anonymous``: hiding one's number must not be a way round the lockout.
Caller ids can be forged, which is what the per-hotline alarm is for.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from hotline.config.pin_guard import PinGuardConfig
from hotline.guard.store import FailureStore, MemoryFailureStore, WallClock
from hotline.logs import get_logger

log = get_logger()

ANONYMOUS = "anonymous"


def _caller_key(hotline: str, caller: str) -> str:
    return f"pin:{hotline}:{caller or ANONYMOUS}"


def _alarm_key(hotline: str) -> str:
    return f"pin-alarm:{hotline}"


@dataclass
class PinGuard:
    """Owned by the runtime (it outlives configs); the limits come with each call's config."""

    store: FailureStore = field(default_factory=MemoryFailureStore)
    clock: WallClock = time.time
    #: when each hotline's alarm was last raised, so it is logged once per alarm window
    _alarmed: dict[str, float] = field(default_factory=dict)

    async def locked_out(self, hotline: str, caller: str, limits: PinGuardConfig) -> int:
        """The caller's failed calls in the window when that locks them out, else 0."""
        if limits.failed_calls == 0:
            return 0
        count = await self.store.count(_caller_key(hotline, caller), self.clock(), limits.window)
        return count if count >= limits.failed_calls else 0

    async def failed(self, hotline: str, caller: str, limits: PinGuardConfig) -> None:
        """One call with a wrong PIN; counts for the caller and towards the hotline's alarm."""
        now = self.clock()
        count = await self.store.add(_caller_key(hotline, caller), now, limits.window)
        if limits.failed_calls and count == limits.failed_calls:
            log.warning(
                "pin_caller_locked_out",
                failed_calls=count,
                window=limits.window,
            )
        if limits.alarm_failed_calls == 0:
            return
        total = await self.store.add(_alarm_key(hotline), now, limits.alarm_window)
        last = self._alarmed.get(hotline)
        quiet = last is None or now - last >= limits.alarm_window
        if total >= limits.alarm_failed_calls and quiet:
            self._alarmed[hotline] = now
            # error, not warning: at most one per window and hotline, and it must never
            # be folded into another hotline's alarm by the warning squasher (hotline/logsquash.py)
            log.error(
                "pin_guess_alarm",
                failed_calls=total,
                window=limits.alarm_window,
                threshold=limits.alarm_failed_calls,
                hint="many wrong PINs for this hotline: someone may be guessing it",
            )

    async def succeeded(self, hotline: str, caller: str) -> None:
        """The right PIN: the caller's earlier failures no longer count."""
        await self.store.clear(_caller_key(hotline, caller))
