"""The caller leg (AGI route ``hotline/<name>``): PIN, prompts, hunt, outcome.

Steps (docs/architecture.md, "The call flow"): answer → optional PIN → intro → "please
hold" → dial each target in turn with music on hold and the confirm
subroutine on the callee leg → connected, or apology and fallback.  A caller
who hangs up stops the flow at once: nobody is dialled after that.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import re
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from hotline.agents.plan import ordered, planned_steps, planned_targets
from hotline.agi.errors import AgiHangup
from hotline.config import FallbackConfig, HotlineConfig
from hotline.config.pin_guard import PinGuardConfig
from hotline.contract import CONFIRM_CONTEXT, VERDICT_VARIABLE, confirm_gosub
from hotline.flow.deadlines import Deadlines
from hotline.flow.hunt import DialAttempt
from hotline.flow.leaving import NOT_DIALLED_WITHIN, abandoned, caller_leaving, write_summary
from hotline.flow.observers import (
    AttemptRecord,
    CallConnected,
    CallObservers,
    CallStarted,
    StepChanged,
    TargetDialing,
    TargetEnded,
)
from hotline.flow.outcomes import CallOutcome, DialReport, TargetOutcome
from hotline.flow.parallel import dial_attempt, dial_step, record_skipped
from hotline.flow.ports import CallSession, Clock
from hotline.flow.prompting import PromptBook
from hotline.flow.registry import Acceptance, CallRegistry
from hotline.flow.state import RuntimeState
from hotline.logs import bind_context, get_logger
from hotline.schedule.engine import Decision, Schedules

log = get_logger()

#: what may travel from the caller id into Gosub arguments: digits and a leading +
_CALLER_DIGITS = re.compile(r"\+?[0-9]{1,32}")
#: what the caller leg asks after each Dial, in one GET FULL VARIABLE
_DIAL_REPORT = "${DIALSTATUS}|${GOSUB_RETVAL}|${HANGUPCAUSE}"


def caller_digits(callerid: str) -> str:
    """The caller's number if it is a plain number, else "" (never trust caller id text)."""
    return callerid if _CALLER_DIGITS.fullmatch(callerid) else ""


@dataclass(frozen=True)
class FlowDeps:
    """Everything a flow needs besides the session and its hotline."""

    prompts: PromptBook
    registry: CallRegistry = field(default_factory=CallRegistry)
    #: per-call clock; the simulator hands out virtual clocks
    clock_factory: Callable[[str], Clock] = field(default=lambda _call_id: _loop_clock())
    #: may new calls be taken (the license guard); checked when a call arrives
    call_gate: Callable[[], bool] = field(default=lambda: True)
    #: what AMI saw of a dial leg (hangup cause, ring time), keyed by (call id, dial
    #: string); None without AMI.  Must return promptly, and {} when it knows nothing.
    dial_details: DialDetails | None = None
    #: who hears what calls do (journal, metrics, ...): hotline/flow/observers.py
    observers: CallObservers = field(default_factory=CallObservers)
    #: the hotlines' schedules of this config; asked once per call, at arrival
    schedules: Schedules = field(default_factory=Schedules)
    #: the wall clock the schedules are asked with (tests and the demo pass their own)
    now: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    #: what outlives calls and configs (PIN lockouts…), owned by the runtime
    state: RuntimeState = field(default_factory=RuntimeState)
    #: the config's ``[pin_guard]`` limits
    pin_limits: PinGuardConfig = field(default_factory=PinGuardConfig)
    bridged: Callable[[str], bool] | None = None  # AMI sees the call bridged (keeps a Dial)


DialDetails = Callable[[str, str], Awaitable[Mapping[str, Any]]]


def _loop_clock() -> Clock:
    """The running loop's clock, asked for once per call (asking asyncio for the loop is a
    getpid() system call on CPython 3.11: 11 times per call before)."""
    return asyncio.get_running_loop().time


class CallerFlow:
    """One caller's call, from the first AGI command to the summary line."""

    def __init__(self, session: CallSession, hotline: HotlineConfig, deps: FlowDeps) -> None:
        self.session = session
        self.hotline = hotline
        #: read once: a config model's attribute costs ~10 times a plain one (pydantic's
        #: ``__getattr__`` hook), and the flow names its hotline in every event
        self.hotline_name = hotline.name
        self.deps = deps
        self.call_id = session.request.uniqueid
        #: the caller's number as the confirm leg may read it out ("" when not a number)
        self.caller_number = caller_digits(session.request.callerid)
        self.clock = deps.clock_factory(self.call_id)
        self.deadlines = Deadlines(deps.prompts, hotline, session.command_timeout)
        self.started = self.clock()
        self.arrived = time.time()
        self._step = "answer"
        self.attempts: list[AttemptRecord] = []
        self.connected_to: DialAttempt | None = None
        self.connected_at: float | None = None
        self.talk_seconds: float | None = None
        self.hung_up_by: str | None = None
        self.plan: Decision | None = None
        self.locked_out = False
        self.summarised = False  # the record is written (hotline/flow/leaving.py)

    @property
    def step(self) -> str:
        return self._step

    @step.setter
    def step(self, step: str) -> None:
        if step != self._step:
            self._step = step
            self.deps.observers.emit(StepChanged(self.call_id, self.hotline_name, step))

    def _prompt(self, slot: str) -> str:
        return self.deps.prompts.name(self.hotline_name, slot)

    def _play(self, slot: str) -> Coroutine[Any, Any, str | None]:
        """The slot's prompt: the session's coroutine itself, not one of ours around it (a
        coroutine fewer for its command to resume through, issue 19)."""
        return self.session.stream_file(self._prompt(slot), timeout=self.deadlines.play(slot))

    async def run(self) -> CallOutcome:
        """The whole call.  One coroutine with the hunt's two below it: each of the leg's
        commands resumes through every one (issue 19, benchmarks/RESULTS.md session 13)."""
        bind_context(hotline=self.hotline_name, caller=self.session.request.callerid)
        log.info("call_started", channel=self.session.request.channel)
        request = self.session.request
        self.deps.observers.emit(
            CallStarted(
                self.call_id, self.hotline_name, request.callerid, request.channel, self.arrived
            )
        )
        # its confirm legs find the config this call started with here (a reload may
        # come while it runs)
        calls = self.deps.state.calls
        calls[self.call_id] = (self.hotline, self.deps)
        try:
            with self.deps.state.presence.watching(self.call_id):
                # The plan is made once, when the call arrives: a shift change or a
                # reload later does not change whom this call hunts.
                self.plan = plan = self.deps.schedules.get(self.hotline).decide(self.deps.now())
                log.info("schedule_decision", **plan.log_fields())
                await self.session.answer()
                await self.session.set_variable("CHANNEL(language)", self.hotline.language)
                if not plan.open:
                    outcome = await self._closed()
                elif self.hotline.pin is not None and not await self._pin_accepted():
                    outcome = CallOutcome.LOCKED_OUT if self.locked_out else CallOutcome.PIN_FAILED
                else:
                    self.step = "intro"
                    await self._play("intro")
                    log.info(
                        "intro_played",
                        prompt=self._prompt("intro"),
                        custom=self.deps.prompts.is_custom(self.hotline, "intro"),
                    )
                    self.step = "please_hold"
                    await self._play("please_hold")
                    log.info(
                        "prompt_played", slot="please_hold", prompt=self._prompt("please_hold")
                    )
                    if await self._hunt():
                        outcome = CallOutcome.CONNECTED
                    else:
                        outcome = await self._nobody_available()
        except AgiHangup:
            return abandoned(self)
        except BaseException:  # a deadline, nonsense, a bug, a cancel: summary (journal) still
            write_summary(self, CallOutcome.FAILED)
            raise
        finally:
            calls.pop(self.call_id, None)
        write_summary(self, outcome)
        return outcome

    # --- PIN ---------------------------------------------------------------

    async def _pin_accepted(self) -> bool:
        pin = self.hotline.pin_value
        assert pin is not None
        attempts = self.hotline.pin_attempts
        self.step = "pin"
        guard, limits = self.deps.state.pin_guard, self.deps.pin_limits
        caller = self.caller_number
        failed_calls = await guard.locked_out(self.hotline_name, caller, limits)
        if failed_calls:
            # No PIN prompt at all: a locked-out number learns nothing more.
            log.info("pin_lockout_refused", failed_calls=failed_calls, window=limits.window)
            self.locked_out = True
            return await self._goodbye()
        counted = False
        for attempt in range(1, attempts + 1):
            log.info("pin_prompted", attempt=attempt, attempts=attempts)
            entered = await self.session.get_data(
                self._prompt("enter_pin"),
                timeout_ms=int(self.hotline.pin_timeout * 1000),
                max_digits=len(pin),
                secret=True,
                timeout=self.deadlines.get_data("enter_pin", self.hotline.pin_timeout, len(pin)),
            )
            if entered is not None and hmac.compare_digest(entered.encode(), pin.encode()):
                log.info("pin_accepted", attempt=attempt, attempts=attempts)
                if counted:
                    await guard.succeeded(self.hotline_name, caller)
                return True
            if entered and not counted:
                counted = True  # counted at once: hanging up now does not escape it
                await guard.failed(self.hotline_name, caller, limits)
            log.info(
                "pin_rejected",
                attempt=attempt,
                attempts=attempts,
                reason="no input" if entered is None else "wrong",
            )
            if attempt < attempts:
                await self._play("wrong_pin")
        log.info("pin_locked_out", attempts=attempts)
        return await self._goodbye()

    async def _goodbye(self) -> bool:
        self.step = "goodbye"
        await self._play("goodbye")
        await self.session.hangup()
        self.hung_up_by = "runtime"
        return False

    # --- closed ------------------------------------------------------------

    async def _closed(self) -> CallOutcome:
        """Outside opening hours: the ``closed`` prompt, then the closed destination or hang-up."""
        self.step = "closed"
        assert self.hotline.schedule is not None  # only a schedule closes a hotline
        destination = self.hotline.schedule.closed
        if destination is None or destination.announce:
            await self._play("closed")
            log.info("prompt_played", slot="closed", prompt=self._prompt("closed"))
        if destination is None:
            await self.session.hangup()
            self.hung_up_by = "runtime"
            return CallOutcome.CLOSED
        await self._go_to(destination, "closed_destination_taken")
        return CallOutcome.CLOSED

    async def _go_to(self, destination: FallbackConfig, event: str) -> None:
        """Continue the dialplan there once this AGI ends (SET PRIORITY last: it is the jump)."""
        await self.session.command("SET", "CONTEXT", destination.context)
        await self.session.command("SET", "EXTENSION", destination.extension)
        await self.session.command("SET", "PRIORITY", str(destination.priority))
        log.info(
            event,
            context=destination.context,
            extension=destination.extension,
            priority=destination.priority,
        )

    # --- hunt --------------------------------------------------------------

    async def _hunt(self) -> bool:
        """Offer the call to the targets in the strategy's order, ``rounds`` times, passing
        over those the board says to skip; True once an agent confirmed and was bridged."""
        hunt_started = self.clock()
        max_wait = self.hotline.max_wait
        board = self.deps.state.board
        assert self.plan is not None
        if not self.plan.targets:
            log.warning("no_target_in_hours", off_hours=list(self.plan.off_hours))
        # the targets this call's plan chose (a shift's, or those in their own hours)
        targets = planned_targets(self.hotline, self.plan.targets)
        steps = planned_steps(self.hotline, targets)
        attempt = hunt_step = 0
        for round_no in range(1, self.hotline.rounds + 1):
            await board.refresh()  # other runtimes' calls and rotation (no-op when alone)
            for index, step in enumerate(ordered(self.hotline, board, steps)):
                if index:
                    await board.refresh()
                hunt_step += 1
                if max_wait is not None:
                    remaining = max_wait - (self.clock() - hunt_started)
                    if remaining < 1:
                        log.info(
                            "max_wait_reached",
                            max_wait=max_wait,
                            waited=round(self.clock() - hunt_started, 3),
                            skipped=attempt + 1,
                        )
                        return False
                if self.session.hung_up or self.deps.state.presence.gone(self.call_id):
                    raise AgiHangup("the caller hung up before the next target was dialled")
                # Asked and marked without an await in between: no other call takes these
                # agents in the meantime (TargetDialing tells the board they are ringing).
                legs = []
                for target in step.targets:
                    attempt += 1
                    planned = dial_attempt(attempt, round_no, target, len(targets), hunt_step)
                    reason = board.skip_reason(target.agent, self.hotline.hunt.skip)
                    if reason is None:
                        legs.append(planned)
                        board.offered(self.hotline_name, target.agent)
                    else:
                        record_skipped(self, planned, reason)
                if not legs:
                    continue
                if len(legs) == 1:  # alone, or the only one of its step still free
                    ring_time = legs[0].ring_time
                    if max_wait is not None:
                        ring_time = min(ring_time, int(remaining))
                    if await self._dial(legs[0], ring_time):
                        return True
                    continue
                ring_time = step.ring_time
                if max_wait is not None:
                    ring_time = min(ring_time, int(remaining))
                if await dial_step(self, legs, ring_time):
                    return True
        return False

    async def _dial(self, planned: DialAttempt, ring_time: int) -> bool:
        self.step = "ringing"
        target = planned.target
        number, label = target.number, target.label  # read once (see __init__)
        log.info(
            "target_dialing",
            attempt=planned.attempt,
            round=planned.round,
            target=planned.position,
            of=planned.of,
            number=number,
            label=label,
            ring_time=ring_time,
        )
        self.deps.observers.emit(
            TargetDialing(
                self.call_id,
                self.hotline_name,
                planned.attempt,
                planned.hunt_step,
                planned.round,
                number,
                label,
                ring_time,
            )
        )
        gosub = confirm_gosub(
            (
                self.call_id,
                self.hotline_name,
                number,
                self.caller_number,
            )
        )
        options = f"m({self.hotline.moh_class})U({gosub})"
        await self.session.set_variable("GOSUB_RETVAL", "")
        dial_started = self.clock()
        accepted = self.deps.registry.expect(self.call_id, (number,))
        accepted.add_done_callback(lambda f: self._on_accepted(f, planned))
        try:
            with caller_leaving(self, (planned,), dial_started):
                result = await self.session.exec_app(
                    "Dial",
                    planned.dial_string,
                    str(ring_time),
                    options,
                    timeout=self.deadlines.dial(ring_time, self.caller_number),
                    keep=self.bridged_elsewhere,
                )
        finally:
            self.deps.registry.forget(self.call_id)
        if self.summarised:  # the caller left meanwhile and the record says so already
            raise AgiHangup(f"the caller hung up while target {planned.attempt} was tried")
        # the report's one command awaited here, not in a coroutine of its own (issue 19)
        report = self._dial_report(result, await self.session.get_full_variable(_DIAL_REPORT))
        outcome = report.outcome
        said = outcome.value  # an enum's value is a Python property: read once
        seconds = self.clock() - dial_started
        details: Mapping[str, Any] = {}
        if self.deps.dial_details is not None:
            details = await self.deps.dial_details(self.call_id, planned.dial_string)
        if report.dialstatus == "CANCEL" and seconds < NOT_DIALLED_WITHIN and not details:
            # "Caller hung up before dial": app_dial refused at once, nobody rang
            # (tests/sim/recordings/20_*_hotline_*.raw, the second Dial): not an attempt
            log.info("target_not_dialled", attempt=planned.attempt, number=number)
            raise AgiHangup(f"the caller hung up before target {planned.attempt} was dialled")
        if outcome is not TargetOutcome.CONFIRMED and self.connected_to is planned:
            # an acceptance in this process that Asterisk did not act on (a leg that was
            # not the agent's channel): what the channel says wins (issue 12, forged legs)
            log.warning(
                "acceptance_not_bridged",
                number=number,
                outcome=said,
                hint="a confirm connection said ACCEPTED but Dial did not bridge: not connected",
            )
            self.connected_to = self.connected_at = None
            self.step = "ringing"
        if outcome is TargetOutcome.CONFIRMED:
            if self.connected_at is None:  # the confirm leg ran in another process
                self._connected(planned)
            assert self.connected_at is not None
            seconds = self.connected_at - dial_started
        record = AttemptRecord(
            planned.attempt,
            planned.hunt_step,
            number,
            label,
            said,
            seconds,
            report.dialstatus,
            report.hangupcause,
        )
        self.attempts.append(record)
        self.deps.observers.emit(TargetEnded(self.call_id, self.hotline_name, record))
        log.info(
            "target_outcome",
            **details,
            attempt=planned.attempt,
            number=number,
            label=label,
            outcome=said,
            seconds=round(seconds, 3),
            dialstatus=report.dialstatus,
            confirm=report.gosub_retval or None,
            hangupcause=report.hangupcause or None,
        )
        if outcome is TargetOutcome.CONFIRMED:
            if report.unconfirmed_bridge:
                log.warning(
                    "confirm_subroutine_gave_no_verdict",
                    hint=(
                        f"the {CONFIRM_CONTEXT} subroutine must end with "
                        f"Return(${{{VERDICT_VARIABLE}}})"
                    ),
                )
            self._ended()
            if not self.session.hung_up:
                await self.session.hangup()
            return True
        if outcome is TargetOutcome.CALLER_GONE or report.caller_hung_up:
            self.step = "confirm" if report.dialstatus == "ANSWER" else "ringing"
            raise AgiHangup(f"the caller hung up while target {planned.attempt} was tried")
        if outcome is TargetOutcome.FAILED:
            log.error(
                "target_failed",
                number=number,
                dial_string=planned.dial_string,
                dialstatus=report.dialstatus,
                confirm=report.gosub_retval or None,
                hint=f"check the dial string and the {CONFIRM_CONTEXT} subroutine",
            )
        return False

    def _dial_report(self, result: int, values: str | None) -> DialReport:
        """What the Dial did, from its result and :data:`_DIAL_REPORT`'s value."""
        dialstatus, gosub_retval, hangupcause = ((values or "") + "||").split("|")[:3]
        return DialReport(
            result=result,
            dialstatus=dialstatus,
            gosub_retval=gosub_retval,
            hangupcause=hangupcause,
            caller_hung_up=self.session.hung_up or dialstatus == "CANCEL",
        )

    def _on_accepted(self, future: asyncio.Future[Acceptance], planned: DialAttempt) -> None:
        if not future.cancelled():
            self.accepted_by(planned)

    def accepted_by(self, planned: DialAttempt | None) -> None:
        """An agent took the call (once per call; None: not one of the dialled targets)."""
        if planned is None or self.connected_at is not None or self.summarised:
            return
        self.session.extend_deadline(None)  # bridged: hours maybe (keepalive watches the peer)
        self._connected(planned)

    def bridged_elsewhere(self) -> bool:
        """Past a Dial's deadline: bridged after all (confirm leg in another runtime)?"""
        return self.deps.bridged is not None and self.deps.bridged(self.call_id)

    def ended(self) -> None:
        """The bridged call is over."""
        self._ended()

    def _connected(self, planned: DialAttempt) -> None:
        self.step = "connected"
        self.connected_to = planned
        self.connected_at = self.clock()
        target = planned.target
        number, label = target.number, target.label
        log.info(
            "call_connected",
            number=number,
            label=label,
            attempt=planned.attempt,
            wait_seconds=round(self.connected_at - self.started, 3),
        )
        self.deps.observers.emit(
            CallConnected(
                self.call_id,
                self.hotline_name,
                planned.attempt,
                number,
                label,
                self.connected_at - self.started,
            )
        )

    def _ended(self) -> None:
        assert self.connected_at is not None
        self.talk_seconds = self.clock() - self.connected_at
        self.hung_up_by = "caller" if self.session.hung_up else "agent"
        log.info(
            "call_ended",
            talk_seconds=round(self.talk_seconds, 3),
            hung_up_by=self.hung_up_by,
        )

    # --- nobody ------------------------------------------------------------

    async def _nobody_available(self) -> CallOutcome:
        self.step = "nobody_available"
        await self._play("nobody_available")
        log.info("nobody_available", attempts=len(self.attempts))
        fallback = self.hotline.fallback
        if fallback is None:
            await self.session.hangup()
            self.hung_up_by = "runtime"
            return CallOutcome.NOBODY_AVAILABLE
        self.step = "fallback"
        if fallback.announce:
            await self._play("fallback")
        await self._go_to(fallback, "fallback_taken")
        return CallOutcome.FALLBACK


def serve_caller(
    session: CallSession, hotline: HotlineConfig, deps: FlowDeps
) -> Coroutine[Any, Any, CallOutcome]:
    """Entry point of the ``hotline/<name>`` route: the flow's own coroutine, awaited by
    the route's handler without a coroutine of this function in between (issue 19)."""
    return CallerFlow(session, hotline, deps).run()
