"""The agent's leg (AGI route ``confirm``), run by Dial's ``U()`` Gosub before bridging.

"Hotline call — press 1 to accept."  Only the confirm digit, pressed while
the caller is still there, accepts; anything else (another key, silence such
as a voicemail box, the agent hanging up, the caller gone) declines, and the
verdict goes back on the channel: ``HOTLINE_CONFIRM`` for the subroutine to
``Return()``, ``GOSUB_RESULT=CONTINUE`` so Asterisk drops this agent and the
caller's Dial returns.  Fail-closed: if this flow cannot finish, the shipped
subroutine returns ``ERROR`` and never bridges.

The confirm digit and the decline digit interrupt every prompt of this leg
and count as the answer (agents press 1 as soon as they hear "hotline call");
while "press 1" plays, any other key declines as well.

The agent leg is not told when the caller hangs up, and the caller's channel
still exists until Dial returns (tests/sim/recordings/20_*_confirm_*.raw), so
the leg asks for the caller's ``CHANNEL(checkhangup)`` (hotline/flow/presence.py)
before asking and before accepting, and (without AMI) also between the pieces of
the announcement and at least every :data:`CHECK_EVERY` seconds while it waits
for a key.  With AMI the runtime learns of the hang-up at once and stops what
this leg plays, so the agent hears the caller-gone prompt within moments; the
leg then only looks at what AMI said between those steps (no round trip).  The caller's
number is read one digit at a time (``digits/N``, Asterisk's own sounds, as
``SAY DIGITS`` plays them) because only single prompts can be stopped that
way (recording 21).  A leading ``+`` is not spoken: the readout is the digits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn

from hotline.agi.errors import AgiHangup
from hotline.config import HotlineConfig
from hotline.contract import (
    ACCEPTED,
    AGENT_HANGUP,
    CALLER_GONE,
    CONFIRM_ARGS,
    CONTINUE,
    DECLINED,
    ERROR,
    TAKEN,
    TIMEOUT,
    VERDICT_VARIABLE,
    confirm_agi,
)
from hotline.flow.caller import FlowDeps
from hotline.flow.deadlines import Deadlines
from hotline.flow.observers import ConfirmEnded, ConfirmStarted
from hotline.flow.ports import CallSession
from hotline.flow.presence import CallerPresence
from hotline.logs import bind_context, get_logger

log = get_logger()

#: a caller's uniqueid as Asterisk makes them ("1795305542.0"); it goes into an AGI command
UNIQUEID = re.compile(r"[0-9A-Za-z_-]{1,64}(\.[0-9]{1,10})?")
#: what the caller leg passes as the caller's digits (hotline/flow/caller.py caller_digits)
_CALLER_DIGITS = re.compile(r"\+?[0-9]{1,32}")
#: longest stretch (s) the leg waits for a key without looking at the caller's channel
CHECK_EVERY = 1.0
#: every DTMF key: any of them answers while "press 1" plays
_ANY_KEY = "0123456789*#"
#: what the leg asks of the caller's channel: "1" while it hangs up
_CHECK_HANGUP = "${CHANNEL(checkhangup)}"


class _CallerLeft(Exception):
    """The caller hung up while this leg ran (internal to the flow)."""


class _Taken(Exception):
    """A colleague on another leg of a parallel step took the call (internal to the flow)."""


HotlineLookup = Callable[[str], HotlineConfig | None]


class ConfirmFlow:
    """Ask one agent to take one call; leave the verdict on the agent's channel."""

    def __init__(self, session: CallSession, lookup: HotlineLookup, deps: FlowDeps) -> None:
        self.session = session
        self.lookup = lookup
        self.deps = deps
        # read once: the press-1 loop looks at them for every command (issue 19)
        self.presence: CallerPresence = deps.state.presence
        self.registry = deps.registry
        args = (*session.request.args, *[""] * len(CONFIRM_ARGS))
        self.call_id, self.hotline_name, self.target, self.caller_number = args[:4]
        #: what played (a prompt's name) or "waiting" when the agent's key came
        self.during = ""

    async def run(self) -> str:
        # Log under the caller's call id, so both legs of a call share it.
        bind_context(
            call_id=self.call_id,
            leg_id=self.session.request.uniqueid,
            hotline=self.hotline_name,
            target=self.target,
        )
        hotline = self.lookup(self.hotline_name)
        if self.registry.unexpected(self.call_id, self.target):
            # the call is here and is not dialling this target now: not a leg Asterisk opened
            log.error(
                "confirm_unexpected_target",
                hint="a confirm connection for a target the call is not dialling: refused",
            )
            hotline = None
        if (
            hotline is None
            or not UNIQUEID.fullmatch(self.call_id)
            or (self.caller_number and not _CALLER_DIGITS.fullmatch(self.caller_number))
        ):
            log.error(
                "confirm_bad_arguments",
                args=list(self.session.request.args),
                hint=f"the dialplan must call {confirm_agi('agi://…')}",
            )
            verdict = ERROR
        else:
            observers = self.deps.observers
            observers.emit(ConfirmStarted(self.call_id, hotline.name, self.target))
            self.registry.asking(self.call_id, self.target)
            channel = self.session.request.channel
            verdict = ERROR
            try:
                with self.presence.watching(self.call_id, channel):
                    # not a method of its own: every command of the leg resumes through
                    # each coroutine between this task and the session (issue 19)
                    try:
                        verdict = await self._ask_agent(hotline)
                    except _CallerLeft:
                        await self.presence.quiet(channel)
                        verdict = await self._caller_gone(hotline)
                    except _Taken:
                        verdict = await self._taken(hotline)
            except AgiHangup:
                verdict = AGENT_HANGUP
                log.info("confirm_agent_hung_up")
            finally:
                # also when the leg fails: the board must not keep the agent "confirming"
                observers.emit(ConfirmEnded(self.call_id, hotline.name, self.target, verdict))
        await self._leave_verdict(verdict)
        return verdict

    def _deadlines(self, hotline: HotlineConfig) -> Deadlines:
        return Deadlines(self.deps.prompts, hotline, self.session.command_timeout)

    async def _check_caller(self, *, ask: bool = False) -> None:
        """Between prompts and wait slices: the caller gone, or the call taken by a colleague.

        Is the caller still there?  AMI's word first; Asterisk is asked (one round trip)
        whenever AMI is not watching (it would tell at once), and with ``ask`` even when it
        watches (before asking: the caller may have left before this leg began; before
        accepting: the last word before a bridge).
        """
        if self._must_ask(ask):
            self._asked(await self._ask_asterisk())

    def _must_ask(self, ask: bool) -> bool:
        """True when only Asterisk can say whether the caller is there; else what is known
        decides now (raises :class:`_CallerLeft` or :class:`_Taken`, or returns False)."""
        presence, call_id = self.presence, self.call_id
        if presence.gone(call_id):
            self._caller_left()
        if ask or not presence.ami_watching():
            return True
        if self.registry.taken_by_other(call_id, self.target):
            raise _Taken
        return False

    def _ask_asterisk(self) -> Coroutine[Any, Any, str | None]:
        return self.session.get_full_variable(_CHECK_HANGUP, self.call_id)

    def _asked(self, value: str | None) -> None:
        """Asterisk's answer on the caller's channel: "1" hanging up, None no such channel,
        "0" (or "" from an Asterisk without checkhangup) there as far as anyone can tell."""
        if value is None or value == "1":
            self._caller_left()
        if self.registry.taken_by_other(self.call_id, self.target):
            raise _Taken

    def _caller_left(self) -> NoReturn:
        presence, call_id = self.presence, self.call_id
        presence.noticed(call_id, self.session.request.channel)
        # without AMI this leg is the first here to know: the caller leg hears it now
        presence.hung_up(call_id)
        raise _CallerLeft

    def _announcement(self, deadlines: Deadlines) -> list[tuple[str, float]]:
        """The caller's number as the leg plays it: "the caller's number is", then one
        prompt per digit (only single prompts can be stopped, recording 21); each with
        its deadline."""
        pieces = [
            (
                self.deps.prompts.name(self.hotline_name, "caller_number_is"),
                deadlines.play("caller_number_is"),
            )
        ]
        pieces.extend(
            (f"digits/{digit}", deadlines.say_digits(digit))
            for digit in self.caller_number.lstrip("+")
        )
        return pieces

    async def _ask_agent(self, hotline: HotlineConfig) -> str:
        prompts = self.deps.prompts
        confirm = hotline.confirm
        deadlines = self._deadlines(hotline)
        answer_keys = confirm.digit + confirm.decline_digit
        session = self.session
        await session.set_variable("CHANNEL(language)", hotline.language)
        await self._check_caller(ask=True)
        log.info("confirm_asking", replays=confirm.replays)
        # Every prompt below comes after a look at the caller (:meth:`_check_caller`'s
        # work), and every wait too.  Written out here, not in methods of their own: each
        # command of the leg resumes through every coroutine between its task and the
        # session (issue 19, sessions 13 and 17)
        key = None
        if confirm.announce_caller and self.caller_number:
            # an answer key interrupts any piece of the announcement
            for name, seconds in self._announcement(deadlines):
                if self._must_ask(False):
                    self._asked(await self._ask_asterisk())
                self.during = name
                key = await session.stream_file(name, answer_keys, timeout=seconds)
                if key is not None:
                    break
        confirm_call = prompts.name(self.hotline_name, "confirm_call")
        every_ms = round(CHECK_EVERY * 1000)
        for round_no in range(1, confirm.replays + 2):
            if key is None:  # "press 1": any key answers it
                if self._must_ask(False):
                    self._asked(await self._ask_asterisk())
                self.during = confirm_call
                key = await session.stream_file(
                    confirm_call, _ANY_KEY, timeout=deadlines.play("confirm_call")
                )
            # Wait for a key, looking at the caller at least every CHECK_EVERY: slices of
            # WAIT FOR DIGIT that add up to the confirm timeout.
            if key is None:
                self.during = "waiting"
                left_ms = round(confirm.timeout * 1000)
                while left_ms > 0:
                    if self._must_ask(False):
                        self._asked(await self._ask_asterisk())
                    slice_ms = left_ms if left_ms < every_ms else every_ms
                    key = await session.wait_for_digit(slice_ms)
                    if key is not None:
                        break
                    left_ms -= slice_ms
            if key is None:
                log.info("confirm_no_key", round=round_no, of=confirm.replays + 1)
                continue
            if key != confirm.digit:
                log.info(
                    "confirm_declined",
                    key=key,
                    during=self.during,
                    reason="decline digit" if key == confirm.decline_digit else "other key",
                )
                return DECLINED
            await self._check_caller(ask=True)
            if not self.registry.claim(self.call_id, self.target):
                raise _Taken  # a colleague pressed 1 a moment earlier
            await self.session.stream_file(
                prompts.name(self.hotline_name, "accepted"), timeout=deadlines.play("accepted")
            )
            log.info("confirm_accepted", during=self.during)
            return ACCEPTED
        await self._check_caller()  # a colleague may have taken it meanwhile: say so
        log.info("confirm_timeout", rounds=confirm.replays + 1)
        return TIMEOUT

    async def _caller_gone(self, hotline: HotlineConfig) -> str:
        log.info("confirm_caller_gone")
        await self.session.stream_file(
            self.deps.prompts.name(self.hotline_name, "caller_gone"),
            timeout=self._deadlines(hotline).play("caller_gone"),
        )
        return CALLER_GONE

    async def _taken(self, hotline: HotlineConfig) -> str:
        """A colleague on another leg of a parallel step took the call first."""
        log.info("confirm_taken_by_colleague")
        await self.session.stream_file(
            self.deps.prompts.name(self.hotline_name, "taken"),
            timeout=self._deadlines(hotline).play("taken"),
        )
        return TAKEN

    async def _leave_verdict(self, verdict: str) -> None:
        """Set the variables the subroutine reads; SET VARIABLE works on a dead channel too.

        ``GOSUB_RESULT`` is set for every verdict: CONTINUE drops the agent, and
        ACCEPTED (a value app_dial does not act on) lets Dial bridge.  app_dial
        copies the subroutine's ``Return()`` value to the caller's
        ``GOSUB_RETVAL`` only when the agent's channel has a ``GOSUB_RESULT``
        (app_dial.c; seen on Asterisk 22), so without it the caller leg could
        not read the verdict.
        """
        await self.session.set_variable(
            "GOSUB_RESULT", ACCEPTED if verdict == ACCEPTED else CONTINUE
        )
        await self.session.set_variable(VERDICT_VARIABLE, verdict)
        self.registry.verdict(self.call_id, self.target, verdict)
        if verdict == ACCEPTED:
            self.registry.accepted(self.call_id, self.target)
        log.info("confirm_result", result=verdict)


def serve_confirm(
    session: CallSession, lookup: HotlineLookup, deps: FlowDeps
) -> Coroutine[Any, Any, str]:
    """Entry point of the ``confirm`` route: the flow's own coroutine, awaited by the
    route's handler without a coroutine of this function in between (issue 19)."""
    return ConfirmFlow(session, lookup, deps).run()
