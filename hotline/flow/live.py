"""The calls in progress, as a live page shows them: one registry per runtime, fed by call events.

:class:`LiveCalls` is a :class:`~hotline.flow.observers.CallObserver`: a call
appears when it arrives, follows its step (``pin``, ``intro``, ``ringing``,
``connected``…) and the target being rung or talked to, and disappears when
it ends, however it ended.  Its size is the number of calls in progress.

With ``[state] redis_url`` the entries are also kept in Redis
(hotline/shared_state/live.py, expiring with their runtime) and :meth:`snapshot`
lists every runtime's calls; without it, or while Redis is lost, this
runtime's alone (``LiveSnapshot.complete`` says which).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol

from hotline.flow.observers import (
    CallConnected,
    CallEnded,
    CallEvent,
    CallStarted,
    StepChanged,
    TargetDialing,
)


@dataclass(frozen=True, slots=True)
class LiveCall:
    """One call in progress."""

    call_id: str
    hotline: str
    caller: str  # the raw caller id: the page applies its own privacy rule
    channel: str
    arrived: float  # wall-clock seconds (epoch)
    step: str
    target: str | None  # the number being rung or talked to
    runtime: str  # the runtime serving the caller's leg

    def as_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "hotline": self.hotline,
            "caller": self.caller,
            "channel": self.channel,
            "arrived": self.arrived,
            "step": self.step,
            "target": self.target,
            "runtime": self.runtime,
        }


@dataclass(frozen=True, slots=True)
class LiveSnapshot:
    calls: tuple[LiveCall, ...]  # oldest first
    #: False: only this runtime's calls (Redis configured but lost)
    complete: bool


class SharedLive(Protocol):
    """Where the calls are kept besides this process (hotline/shared_state/live.py)."""

    def changed(self, call_id: str) -> None: ...

    async def everyone(self) -> list[LiveCall] | None:
        """Every runtime's calls; None when they cannot be read now."""
        ...


class LiveCalls:
    """The calls in progress on this runtime (and, with Redis, on all of them)."""

    def __init__(self, runtime: str = "local") -> None:
        self.runtime = runtime
        self._calls: dict[str, LiveCall] = {}
        self.shared: SharedLive | None = None

    def on_call_event(self, event: CallEvent) -> None:
        match event:
            case CallStarted(call_id=call_id):
                self._calls[call_id] = LiveCall(
                    call_id,
                    event.hotline,
                    event.caller,
                    event.channel,
                    event.arrived,
                    "answer",
                    None,
                    self.runtime,
                )
                self._changed(call_id)
            case StepChanged(call_id=call_id, step=step):
                self._update(call_id, step=step)
            case TargetDialing(call_id=call_id, number=number):
                self._update(call_id, target=number)
            case CallConnected(call_id=call_id, number=number):
                self._update(call_id, step="connected", target=number)
            case CallEnded(call_id=call_id):
                if self._calls.pop(call_id, None) is not None:
                    self._changed(call_id)
            case _:
                return

    def _update(self, call_id: str, **changes: Any) -> None:
        call = self._calls.get(call_id)
        if call is not None:
            self._calls[call_id] = replace(call, **changes)
            self._changed(call_id)

    def _changed(self, call_id: str) -> None:
        if self.shared is not None:
            self.shared.changed(call_id)

    def get(self, call_id: str) -> LiveCall | None:
        """This runtime's entry for a call in progress."""
        return self._calls.get(call_id)

    def local(self) -> list[LiveCall]:
        """This runtime's calls in progress, oldest first."""
        return sorted(self._calls.values(), key=lambda c: c.arrived)

    async def snapshot(self) -> LiveSnapshot:
        """Every runtime's calls in progress (one bounded Redis read), else this one's."""
        if self.shared is not None:
            everyone = await self.shared.everyone()
            if everyone is not None:
                return LiveSnapshot(tuple(sorted(everyone, key=lambda c: c.arrived)), True)
            return LiveSnapshot(tuple(self.local()), False)
        return LiveSnapshot(tuple(self.local()), True)

    def __len__(self) -> int:
        return len(self._calls)
