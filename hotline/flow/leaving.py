"""The end of a caller's record: the summary, written once, and at once when the caller
leaves while a Dial runs.

Asterisk's Dial returns only when the agent's confirm leg ends, and that leg
first tells the agent that the caller has gone (the ``caller_gone`` prompt,
1.75 s in English): on Asterisk 22 the ``call_summary`` came 1.8 s after the
caller's BYE.  AMI's ``HangupRequest`` for the caller's channel says it at
once (tests/ami/recordings/20_caller_hangs_up_during_confirm_signals.raw,
0.65 s before ``DialEnd`` there), and so does a confirm leg in this process
that found the caller's ``CHANNEL(checkhangup)`` set (hotline/flow/presence.py).
So while a Dial runs, the caller flow listens: the attempts in flight are
recorded as ``caller_gone`` and the summary is written then; when Dial
returns, nothing is recorded twice and nobody else is dialled.

Not when the call was bridged (in this process or, as AMI saw, in another):
then the talk is over, not the hunt.  Nor within :data:`NOT_DIALLED_WITHIN`
of the Dial's start unless an agent is already being asked: app_dial may have
refused it as "Caller hung up before dial" (tests/sim/recordings/20_*_hotline_*.raw),
which is no attempt; that Dial returns at once anyway.
"""

from __future__ import annotations

import contextvars
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from hotline.flow.hunt import DialAttempt
from hotline.flow.observers import AttemptRecord, CallEnded, TargetEnded
from hotline.flow.outcomes import CallOutcome, TargetOutcome
from hotline.logs import get_logger

if TYPE_CHECKING:
    from hotline.flow.caller import CallerFlow

log = get_logger()

#: a Dial that ends CANCEL this quickly, with no dial leg seen on AMI, never dialled: app_dial
#: checks for a caller hang-up before anything else (its "Caller hung up before dial")
NOT_DIALLED_WITHIN = 0.05


def record_attempt(
    flow: CallerFlow,
    planned: DialAttempt,
    outcome: TargetOutcome,
    seconds: float,
    **fields: object,
) -> None:
    """An attempt that ended without Dial's word on it (skipped, or its caller left): in the
    call's attempts, told to the observers, logged as ``target_outcome`` with ``fields``."""
    target = planned.target
    record = AttemptRecord(
        planned.attempt, planned.hunt_step, target.number, target.label, outcome.value, seconds
    )
    flow.attempts.append(record)
    flow.deps.observers.emit(TargetEnded(flow.call_id, flow.hotline_name, record))
    log.info(
        "target_outcome",
        attempt=planned.attempt,
        number=target.number,
        label=target.label,
        outcome=outcome.value,
        **fields,
        seconds=round(seconds, 3),
    )


def write_summary(flow: CallerFlow, outcome: CallOutcome) -> None:
    """The ``call_summary`` line and the journal's record: once per call."""
    if flow.summarised:
        return
    flow.summarised = True
    connected = flow.connected_to
    ended = CallEnded(
        call_id=flow.call_id,
        hotline=flow.hotline_name,
        caller=flow.session.request.callerid,
        arrived=flow.arrived,
        outcome=outcome.value,
        step=flow.step if outcome is CallOutcome.ABANDONED else None,
        connected_to=connected.target.number if connected else None,
        connected_label=connected.target.label if connected else None,
        wait_seconds=(flow.connected_at - flow.started if flow.connected_at is not None else None),
        talk_seconds=flow.talk_seconds,
        hung_up_by=flow.hung_up_by,
        duration=flow.clock() - flow.started,
        attempts=tuple(flow.attempts),
        schedule=flow.plan.rule if flow.plan else None,
        shift=flow.plan.shift if flow.plan else None,
    )
    log.info("call_summary", **ended.summary())
    flow.deps.observers.emit(ended)


def abandoned(flow: CallerFlow) -> CallOutcome:
    """The caller hung up: logged and summarised once (AMI may have told it during a Dial)."""
    if not flow.summarised:
        flow.hung_up_by = "caller"
        log.info("abandoned", step=flow.step, seconds=round(flow.clock() - flow.started, 3))
        write_summary(flow, CallOutcome.ABANDONED)
    return CallOutcome.ABANDONED


def caller_leaving(
    flow: CallerFlow, legs: Sequence[DialAttempt], started: float
) -> AbstractContextManager[None]:
    """While ``legs`` are dialled (the context manager this returns): finish the call's
    record the moment its caller leaves.  Presence's own context manager, not one around
    it: a generator's costs ~14k instructions per Dial (callgrind)."""
    context = contextvars.copy_context()  # the call's log fields, for a word from AMI's task

    def left() -> None:
        context.run(_finish, flow, legs, started)

    return flow.deps.state.presence.listening(flow.call_id, left)


def _finish(flow: CallerFlow, legs: Sequence[DialAttempt], started: float) -> None:
    now = flow.clock()
    asked = flow.deps.registry.asked(flow.call_id)
    if (
        flow.summarised
        or flow.connected_at is not None
        or (not asked and now - started < NOT_DIALLED_WITHIN)
        or flow.bridged_elsewhere()
    ):
        return
    for leg in legs:
        record_attempt(
            flow,
            leg,
            TargetOutcome.CALLER_GONE,
            now - started,
            asked=leg.target.number in asked,
            noticed="caller_hangup",
        )
    flow.step = "confirm" if asked else "ringing"
    abandoned(flow)
