"""Repeated warnings of one kind become one line per window, with a count.

A slowloris on the FastAGI port made 33,523 ``agi_header_timeout`` lines in
60 s; a descriptor shortage, one line per failed ``accept()``.  A flood says
no more than its first line and how often it repeated, so:

* the first warning of a kind (its ``event`` name) is logged as it is;
* more of that kind within ``window`` seconds are dropped and counted;
* when the window ends, one line ``{"event": <kind>, "repeated": N,
  "window_s": 10}`` reports them, and a kind that stays quiet for a whole
  window is forgotten (its next warning is logged at once again).

Only ``warning`` lines are squashed: ``info`` is the per-call story and
``error`` is rare by nature.  The cost for every other line is one set lookup.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Callable, Collection, MutableMapping
from dataclasses import dataclass
from typing import Any

import structlog

#: logs a count line: ``emit(event, fields)`` at warning level
Emit = Callable[[str, dict[str, Any]], None]

#: seconds over which repeats of one kind are counted into one line
WINDOW_S = 10.0
#: distinct kinds tracked at once (event names are code constants; this only bounds a bug)
MAX_KINDS = 1024
#: marks a count line so that it is not squashed itself
_COUNT_LINE = "_squash_count_line"


class RateLimit:
    """When a repeated condition deserves a line: the first time, then once per window.

    :meth:`hit` returns how many hits were not logged since the last line
    (``0`` the first time) when this one should be logged, else ``None``.
    """

    def __init__(self, window: float = WINDOW_S, clock: Callable[[], float] = time.monotonic):
        self._window = window
        self._clock = clock
        self._next = float("-inf")
        self._held = 0

    def hit(self) -> int | None:
        now = self._clock()
        if now < self._next:
            self._held += 1
            return None
        held, self._held = self._held, 0
        self._next = now + self._window
        return held


@dataclass
class _Kind:
    until: float
    held: int = 0
    #: a count line is scheduled for the end of the window (or there is no loop to do it)
    scheduled: bool = False


class SquashRepeats:
    """A structlog-style processor (see the module docstring); count lines go to ``emit``."""

    def __init__(
        self,
        window: float = WINDOW_S,
        *,
        emit: Emit,
        levels: Collection[str] = ("warning",),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window = window
        self._emit = emit
        #: the levels whose lines it sees (the others it passes as they are)
        self.levels = frozenset(levels)
        self._clock = clock
        self._kinds: dict[str, _Kind] = {}
        self._lock = threading.Lock()

    def __call__(
        self, _logger: Any, method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        if method not in self.levels:
            return event_dict
        if event_dict.pop(_COUNT_LINE, False):
            return event_dict
        kind = str(event_dict.get("event"))
        now = self._clock()
        with self._lock:
            state = self._kinds.get(kind)
            if state is not None and now < state.until:
                state.held += 1
                if not state.scheduled:
                    state.scheduled = True
                    _call_later(state.until - now, self._flush, kind)
                raise structlog.DropEvent
            if state is not None and state.held:
                # no loop to flush it (sync code): the count rides on this line
                event_dict["repeated"] = state.held
                event_dict["window_s"] = self.window
            if len(self._kinds) >= MAX_KINDS:
                self._kinds.clear()
            self._kinds[kind] = _Kind(until=now + self.window)
        return event_dict

    def flush(self) -> None:
        """Log every count held now (the process is about to stop or close its log)."""
        for kind in list(self._kinds):
            self._flush(kind, final=True)

    def _flush(self, kind: str, *, final: bool = False) -> None:
        """Window over: one count line if any were dropped, and a new window for the flood."""
        with self._lock:
            state = self._kinds.get(kind)
            if state is None:
                return
            held = state.held
            if held and not final:
                self._kinds[kind] = _Kind(until=self._clock() + self.window)
            else:
                del self._kinds[kind]
        if held:
            self._emit(kind, {"repeated": held, "window_s": self.window, _COUNT_LINE: True})


def _call_later(delay: float, callback: Callable[[str], None], kind: str) -> None:
    """``callback(kind)`` after ``delay`` on this thread's running loop, outside any call's
    context (the count line belongs to no call); nothing without a running loop."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    loop.call_later(delay, callback, kind, context=contextvars.Context())
