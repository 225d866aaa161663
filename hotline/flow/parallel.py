"""The caller leg's steps: a skipped target, and a parallel step (several agents rung at
once, each confirming on their own).

One ``Dial`` of one Local channel per agent into ``[hotline-step]``
(hotline/contract.py tells why): each leg dials its agent with the confirm
subroutine and answers the caller's Dial only once its agent pressed 1, so the
first agent to accept is bridged and app_dial hangs up every other leg
("answered elsewhere").  Which leg won is known in this process from the
confirm leg's claim (hotline/flow/registry.py), else from ``DIALEDPEERNAME``
(``Local/<leg>@hotline-step-…;1``).  Each leg's outcome comes from its confirm
verdict when it had one; a leg that never got that far rang unanswered, or was
ended because a colleague took the call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hotline.agents.plan import PlannedTarget
from hotline.agi.errors import AgiHangup
from hotline.contract import (
    LEG_VARIABLE,
    STEP_CONTEXT,
    STEP_VARIABLE,
    leg_value,
    step_leg,
    step_value,
)
from hotline.flow.hunt import DialAttempt
from hotline.flow.leaving import caller_leaving, record_attempt
from hotline.flow.observers import AttemptRecord, TargetDialing, TargetEnded
from hotline.flow.outcomes import TargetOutcome, verdict_outcome
from hotline.logs import get_logger

if TYPE_CHECKING:
    from hotline.flow.caller import CallerFlow

log = get_logger()

_LEG_CHANNEL = re.compile(rf"Local/([0-9]+)@{re.escape(STEP_CONTEXT)}-[0-9a-f]+;1")


def dial_attempt(
    attempt: int, round_no: int, target: PlannedTarget, of: int, hunt_step: int
) -> DialAttempt:
    """The hunt's next attempt at ``target`` (in a step of one or of several)."""
    return DialAttempt(
        attempt=attempt,
        round=round_no,
        position=target.position,
        of=of,
        target=target.target,
        ring_time=target.ring_time,
        dial_string=target.dial_string,
        hunt_step=hunt_step,
        delay=target.delay,
    )


def record_skipped(flow: CallerFlow, planned: DialAttempt, reason: str) -> None:
    """A target the board said to pass over: an attempt of 0 s, logged with the reason."""
    record_attempt(flow, planned, TargetOutcome.SKIPPED, 0.0, reason=reason)


def leg_of_peer(peer: str) -> int | None:
    """The leg number in a ``DIALEDPEERNAME`` like ``Local/2@hotline-step-0000001a;1``."""
    match = _LEG_CHANNEL.fullmatch(peer)
    return int(match.group(1)) if match else None


async def dial_step(flow: CallerFlow, legs: Sequence[DialAttempt], ring_time: int) -> bool:
    """Ring ``legs`` at once for ``ring_time`` s; True once one agent confirmed and was bridged."""
    flow.step = "ringing"
    hotline = flow.hotline
    for leg in legs:  # before any await: the board marks them ringing at once
        log.info(
            "target_dialing",
            attempt=leg.attempt,
            round=leg.round,
            step=leg.hunt_step,
            target=leg.position,
            of=leg.of,
            number=leg.target.number,
            label=leg.target.label,
            ring_time=leg.ring_time,
            delay=leg.delay,
            parallel=len(legs),
        )
        flow.deps.observers.emit(
            TargetDialing(
                flow.call_id,
                hotline.name,
                leg.attempt,
                leg.hunt_step,
                leg.round,
                leg.target.number,
                leg.target.label,
                leg.ring_time,
            )
        )
    session = flow.session
    caller = flow.caller_number
    await session.set_variable(f"_{STEP_VARIABLE}", step_value(flow.call_id, hotline.name, caller))
    for index, leg in enumerate(legs, start=1):
        value = leg_value(leg.delay, leg.dial_string, leg.ring_time, leg.target.number)
        await session.set_variable(f"_{LEG_VARIABLE}{index}", value)
    by_number = {leg.target.number: leg for leg in legs}
    registry = flow.deps.registry
    started = flow.clock()
    accepted = registry.expect(flow.call_id, by_number)
    accepted.add_done_callback(
        lambda f: None if f.cancelled() else flow.accepted_by(by_number.get(f.result().target))
    )
    try:
        with caller_leaving(flow, legs, started):
            await session.exec_app(
                "Dial",
                "&".join(step_leg(n) for n in range(1, len(legs) + 1)),
                str(ring_time),
                f"m({hotline.moh_class})",
                timeout=flow.deadlines.dial(ring_time, caller),
                keep=flow.bridged_elsewhere,
            )
    finally:
        claims = registry.forget(flow.call_id)
    if flow.summarised:  # the caller left meanwhile and the record says so already
        raise AgiHangup("the caller hung up during a parallel step")
    values = await session.get_full_variable("${DIALSTATUS}|${DIALEDPEERNAME}|${HANGUPCAUSE}")
    dialstatus, peer, cause = ((values or "") + "||").split("|")[:3]
    winner = flow.connected_to if flow.connected_to in legs else None
    if dialstatus == "ANSWER" and winner is None:
        won = leg_of_peer(peer)
        if won is not None and 1 <= won <= len(legs):
            winner = legs[won - 1]  # the confirm leg ran in another process
            flow.accepted_by(winner)
    caller_gone = dialstatus != "ANSWER" and (session.hung_up or dialstatus == "CANCEL")
    for index, leg in enumerate(legs, start=1):
        number = leg.target.number
        verdict = claims.verdicts.get(number)
        if leg is winner:
            outcome = TargetOutcome.CONFIRMED
        elif verdict is not None:
            outcome = verdict_outcome(verdict)
        elif caller_gone:
            outcome = TargetOutcome.CALLER_GONE
        elif winner is not None:
            outcome = TargetOutcome.ANSWERED_ELSEWHERE
        else:
            outcome = TargetOutcome.NO_ANSWER
        # until the step was settled: a colleague took the call, or the Dial ended
        ended = flow.connected_at if winner and flow.connected_at else flow.clock()
        record = AttemptRecord(
            leg.attempt,
            leg.hunt_step,
            number,
            leg.target.label,
            outcome.value,
            ended - started,
            dialstatus,
            cause,
        )
        flow.attempts.append(record)
        flow.deps.observers.emit(TargetEnded(flow.call_id, hotline.name, record))
        details: Mapping[str, Any] = {}
        if flow.deps.dial_details is not None:  # AMI's view of the leg (e.g. a busy phone)
            details = await flow.deps.dial_details(flow.call_id, step_leg(index))
        log.info(
            "target_outcome",
            **details,
            attempt=leg.attempt,
            step=leg.hunt_step,
            number=number,
            label=leg.target.label,
            outcome=outcome.value,
            seconds=round(ended - started, 3),
            dialstatus=dialstatus,
            confirm=verdict,
            hangupcause=cause or None,
        )
    if dialstatus == "ANSWER":
        if winner is None:
            log.error(
                "parallel_step_winner_unknown",
                dialedpeername=peer,
                hint=f"the caller's Dial bridged a leg that is not one of [{STEP_CONTEXT}]'s",
            )
        else:
            flow.ended()
        if not session.hung_up:
            await session.hangup()
        return True
    if caller_gone:
        raise AgiHangup("the caller hung up during a parallel step")
    return False
