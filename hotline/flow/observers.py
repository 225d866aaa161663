"""What a call did, told to whoever listens: the flows' one event interface.

The caller flow emits a :data:`CallEvent` at each point that matters (call
started, step changed, target dialling, target outcome, connected, call
ended with its full summary).  The journal, the metrics, agent boards and
live pages subscribe through :class:`CallObservers`, registered on
``FlowDeps.observers``.

Observers run on the call's own task, so the contract is strict: an
observer's :meth:`CallObserver.on_call_event` is synchronous, only records or
enqueues, and returns at once; it never awaits and never does I/O.  The
fan-out isolates them anyway: an observer that raises is logged (once per
observer and exception type) and counted, and the call goes on untouched;
one that takes longer than :data:`SLOW_OBSERVER_SECONDS` is logged as slow.

Records are plain frozen dataclasses carrying facts, never secrets: the
caller id is the raw one (each subscriber applies its own privacy rule), a
PIN is never part of any event.  A dial attempt carries ``hunt_step``, the
step of the hunt it belongs to: attempts of one parallel step (several
agents rung at once) share it, so a subscriber can tell legs of one step
from successive steps.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import field
from typing import Any, Protocol

from hotline.logs import get_logger
from hotline.records import record

log = get_logger()

#: an observer slower than this on one event is logged (it blocks the call's task)
SLOW_OBSERVER_SECONDS = 0.005


@record
class CallStarted:
    call_id: str
    hotline: str
    caller: str  # the raw caller id; subscribers apply their own privacy rule
    channel: str
    arrived: float  # wall-clock time (epoch seconds)


@record
class StepChanged:
    call_id: str
    hotline: str
    step: str  # answer, pin, intro, please_hold, ringing, confirm, connected, ...


@record
class TargetDialing:
    call_id: str
    hotline: str
    attempt: int  # 1-based over the whole hunt
    hunt_step: int  # 1-based; legs dialled in parallel share it
    round: int
    number: str
    label: str | None
    ring_time: int


@record
class AttemptRecord:
    """One dial attempt as it ended (also one element of the call's summary)."""

    attempt: int
    hunt_step: int
    number: str
    label: str | None
    outcome: str  # a TargetOutcome value (future: "skipped")
    seconds: float  # ring (and confirm) time; until the agent accepted when confirmed
    dialstatus: str = ""
    hangupcause: str = ""

    def summary(self) -> dict[str, Any]:
        """The attempt as the ``call_summary`` log line shows it."""
        return {
            "attempt": self.attempt,
            "number": self.number,
            "label": self.label,
            "outcome": self.outcome,
            "seconds": round(self.seconds, 3),
        }


@record
class TargetEnded:
    call_id: str
    hotline: str
    record: AttemptRecord


@record
class CallConnected:
    call_id: str
    hotline: str
    attempt: int
    number: str
    label: str | None
    wait_seconds: float


@record
class CallEnded:
    """The whole call: the ``call_summary`` log line and the journal's record."""

    call_id: str
    hotline: str
    caller: str
    arrived: float  # wall-clock time (epoch seconds)
    outcome: str  # a CallOutcome value
    step: str | None  # where an abandoned call ended
    connected_to: str | None
    connected_label: str | None
    wait_seconds: float | None  # arrival until an agent accepted
    talk_seconds: float | None
    hung_up_by: str | None  # caller, agent, runtime
    duration: float
    attempts: tuple[AttemptRecord, ...] = field(default=())
    #: the schedule's rule that let the call in (or closed it) and the shift it used
    schedule: str | None = None
    shift: str | None = None

    def summary(self) -> dict[str, Any]:
        """The fields of the ``call_summary`` log line (call id and caller are bound already)."""
        return {
            "outcome": self.outcome,
            "step": self.step,
            "connected_to": self.connected_to,
            "connected_label": self.connected_label,
            "wait_seconds": _round(self.wait_seconds),
            "talk_seconds": _round(self.talk_seconds),
            "hung_up_by": self.hung_up_by,
            "duration": round(self.duration, 3),
            "targets": [a.summary() for a in self.attempts],
            "schedule": self.schedule,
            "shift": self.shift,
        }


@record
class ConfirmStarted:
    """An agent answered and is being asked to press the confirm digit (the agent's leg)."""

    call_id: str  # the caller's call id, as the confirm subroutine passes it
    hotline: str
    number: str  # the target number


@record
class ConfirmEnded:
    call_id: str
    hotline: str
    number: str
    verdict: str  # ACCEPTED, DECLINED, TIMEOUT, TAKEN, ... (hotline/flow/outcomes.py)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


CallEvent = (
    CallStarted
    | StepChanged
    | TargetDialing
    | TargetEnded
    | CallConnected
    | CallEnded
    | ConfirmStarted
    | ConfirmEnded
)


def unanswered(
    call_id: str, hotline: str, caller: str, channel: str, outcome: str
) -> tuple[CallStarted, CallEnded]:
    """The two events of a call the runtime did not take (e.g. ``refused``: no license)."""
    arrived = time.time()
    return (
        CallStarted(call_id, hotline, caller, channel, arrived),
        CallEnded(
            call_id, hotline, caller, arrived, outcome, None, None, None, None, None, None, 0.0
        ),
    )


class CallObserver(Protocol):
    """Anything that wants to know what calls do (journal, metrics, boards, live pages)."""

    def on_call_event(self, event: CallEvent) -> None:
        """Record or enqueue ``event`` and return at once: never block, never raise on purpose."""
        ...


class CallObservers:
    """The fan-out the flows emit to; isolates each observer from the call and the others."""

    def __init__(self, observers: Iterable[CallObserver] = ()) -> None:
        self._observers: list[CallObserver] = list(observers)
        #: exceptions raised by observers (each was logged once per observer and type)
        self.failures = 0
        self._reported: set[tuple[int, type[BaseException]]] = set()

    def add(self, observer: CallObserver) -> None:
        self._observers.append(observer)

    def remove(self, observer: CallObserver) -> None:
        self._observers.remove(observer)

    def __len__(self) -> int:
        return len(self._observers)

    def emit(self, event: CallEvent) -> None:
        """Tell every observer; nothing an observer does reaches the caller."""
        clock = time.perf_counter
        # one reading between two observers ends the one's time and starts the next's
        started = clock()
        for observer in self._observers:
            try:
                observer.on_call_event(event)
            except Exception as exc:  # noqa: BLE001 - an observer must never break a call
                self._failed(observer, exc)
            ended = clock()
            if ended - started > SLOW_OBSERVER_SECONDS:
                log.warning(
                    "call_observer_slow",
                    observer=type(observer).__name__,
                    event_type=type(event).__name__,
                    seconds=round(ended - started, 4),
                )
                ended = clock()  # the warning is not the next observer's time
            started = ended

    def _failed(self, observer: CallObserver, exc: Exception) -> None:
        self.failures += 1
        key = (id(observer), type(exc))
        if key in self._reported:
            return
        self._reported.add(key)
        log.error(
            "call_observer_failed",
            observer=type(observer).__name__,
            error=f"{type(exc).__name__}: {exc}",
            hint="the call went on; this observer's record of it is incomplete",
        )
