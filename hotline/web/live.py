"""Calls in progress as the live page shows them, kept from the flows' call events.

:class:`LiveCalls` is a :class:`~hotline.flow.observers.CallObserver`: each
event updates one small record per call (step, who rings, who confirms, since
when) and bumps a change counter; nothing is built or sent here.  The page
reads through :class:`LiveCallSource`, the one interface a store shared by
several runtimes implements too (``calls()`` and ``changes``).

Times are this process's wall clock when the event arrived (not the call's own
clock, which is virtual under the simulator): the page counts "ringing for N s"
from them.  No caller number and no PIN is kept: the page has no use for them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from hotline.flow.observers import (
    CallConnected,
    CallEnded,
    CallEvent,
    CallStarted,
    ConfirmEnded,
    ConfirmStarted,
    StepChanged,
    TargetDialing,
    TargetEnded,
)


@dataclass(frozen=True, slots=True)
class AgentOnCall:
    """An agent a call rings, asks to confirm, or is connected to."""

    number: str
    label: str | None
    since: float  # epoch seconds


@dataclass(slots=True)
class LiveCall:
    """One call in progress."""

    call_id: str
    hotline: str
    arrived: float  # epoch seconds
    step: str = "answer"
    step_since: float = 0.0
    ringing: dict[str, AgentOnCall] = field(default_factory=dict)
    confirming: dict[str, AgentOnCall] = field(default_factory=dict)
    connected: AgentOnCall | None = None


class Changes:
    """A change counter the page's broadcaster waits on; free when nobody waits."""

    def __init__(self) -> None:
        self.version = 0
        self._event: asyncio.Event | None = None

    def bump(self) -> None:
        self.version += 1
        if self._event is not None:
            self._event.set()

    async def wait(self, seen: int, within: float) -> bool:
        """Until the version differs from ``seen`` (True) or ``within`` seconds passed (False)."""
        if self.version != seen:
            return True
        if self._event is None:
            self._event = asyncio.Event()
        event = self._event
        try:
            async with asyncio.timeout(within):
                while self.version == seen:
                    event.clear()
                    await event.wait()
        except TimeoutError:
            return False
        return True


class LiveCallSource(Protocol):
    """What the live page reads: the calls in progress and a counter of their changes.

    :class:`LiveCalls` answers for this process; a shared store (several
    runtimes) answers for all of them.
    """

    @property
    def changes(self) -> Changes: ...

    def calls(self) -> list[LiveCall]:
        """The calls in progress, oldest first (the caller must not change them)."""
        ...


class LiveCalls:
    """The calls in progress in this runtime, fed by its call events."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._calls: dict[str, LiveCall] = {}
        self._changes = Changes()

    @property
    def changes(self) -> Changes:
        return self._changes

    def calls(self) -> list[LiveCall]:
        return list(self._calls.values())

    def __len__(self) -> int:
        return len(self._calls)

    def on_call_event(self, event: CallEvent) -> None:
        now = self.clock()
        if isinstance(event, CallStarted):
            self._calls[event.call_id] = LiveCall(event.call_id, event.hotline, now, step_since=now)
            self._changes.bump()
            return
        call = self._calls.get(event.call_id)
        if call is None:
            return  # a confirm leg of a call served elsewhere, or one already ended
        match event:
            case StepChanged(step=step):
                call.step, call.step_since = step, now
            case TargetDialing(number=number, label=label):
                call.ringing[number] = AgentOnCall(number, label, now)
            case TargetEnded(record=record):
                call.ringing.pop(record.number, None)
                call.confirming.pop(record.number, None)
            case ConfirmStarted(number=number):
                ringing = call.ringing.pop(number, None)
                label = ringing.label if ringing is not None else None
                call.confirming[number] = AgentOnCall(number, label, now)
            case ConfirmEnded(number=number):
                call.confirming.pop(number, None)
            case CallConnected(number=number, label=label):
                call.ringing.clear()
                call.confirming.clear()
                call.connected = AgentOnCall(number, label, now)
            case CallEnded():
                del self._calls[event.call_id]
        self._changes.bump()
