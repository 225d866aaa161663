"""The agent's leg (AGI route ``confirm``), run by Dial's ``U()`` Gosub before bridging.

"Hotline call — press 1 to accept."  Only the confirm digit, pressed while
the caller is still there, accepts; anything else (another key, silence such
as a voicemail box, the agent hanging up, the caller gone) declines, and the
verdict goes back on the channel: ``HOTLINE_CONFIRM`` for the subroutine to
``Return()``, ``GOSUB_RESULT=CONTINUE`` so Asterisk drops this agent and the
caller's Dial returns.  Fail-closed: if this flow cannot finish, the shipped
subroutine returns ``ERROR`` and never bridges.

The agent leg is not told when the caller hangs up (recording 10), so the
caller's channel is looked up (``CHANNEL_EXISTS``) before asking and again
before accepting.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import structlog

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
    TIMEOUT,
    VERDICT_VARIABLE,
    confirm_agi,
)
from hotline.flow.caller import FlowDeps
from hotline.flow.deadlines import Deadlines
from hotline.flow.observers import ConfirmEnded, ConfirmStarted
from hotline.flow.ports import CallSession
from hotline.logs import get_logger

log = get_logger()

#: a caller's uniqueid as Asterisk makes them ("1795305542.0"); guards the CHANNEL_EXISTS expression
_UNIQUEID = re.compile(r"[0-9A-Za-z_-]{1,64}(\.[0-9]{1,10})?")

HotlineLookup = Callable[[str], HotlineConfig | None]


class ConfirmFlow:
    """Ask one agent to take one call; leave the verdict on the agent's channel."""

    def __init__(self, session: CallSession, lookup: HotlineLookup, deps: FlowDeps) -> None:
        self.session = session
        self.lookup = lookup
        self.deps = deps
        args = (*session.request.args, *[""] * len(CONFIRM_ARGS))
        self.call_id, self.hotline_name, self.target, self.caller_number = args[:4]

    async def run(self) -> str:
        # Log under the caller's call id, so both legs of a call share it.
        structlog.contextvars.bind_contextvars(
            call_id=self.call_id,
            leg_id=self.session.request.uniqueid,
            hotline=self.hotline_name,
            target=self.target,
        )
        hotline = self.lookup(self.hotline_name)
        if hotline is None or not _UNIQUEID.fullmatch(self.call_id):
            log.error(
                "confirm_bad_arguments",
                args=list(self.session.request.args),
                hint=f"the dialplan must call {confirm_agi('agi://…')}",
            )
            verdict = ERROR
        else:
            observers = self.deps.observers
            observers.emit(ConfirmStarted(self.call_id, hotline.name, self.target))
            verdict = ERROR
            try:
                verdict = await self._ask(hotline)
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

    async def _caller_present(self) -> bool:
        value = await self.session.get_full_variable(f"${{CHANNEL_EXISTS({self.call_id})}}")
        # An Asterisk without CHANNEL_EXISTS gives "": assume present, Dial copes.
        return value != "0"

    async def _ask(self, hotline: HotlineConfig) -> str:
        prompts = self.deps.prompts
        confirm = hotline.confirm
        deadlines = self._deadlines(hotline)
        await self.session.set_variable("CHANNEL(language)", hotline.language)
        if not await self._caller_present():
            return await self._caller_gone(hotline)
        log.info("confirm_asking", replays=confirm.replays)
        if confirm.announce_caller and self.caller_number:
            await self.session.stream_file(
                prompts.name(hotline, "caller_number_is"),
                timeout=deadlines.play("caller_number_is"),
            )
            await self.session.say_digits(
                self.caller_number, timeout=deadlines.say_digits(self.caller_number)
            )
        for round_no in range(1, confirm.replays + 2):
            digit = await self.session.get_data(
                prompts.name(hotline, "confirm_call"),
                timeout_ms=int(confirm.timeout * 1000),
                max_digits=1,
                timeout=deadlines.get_data("confirm_call", confirm.timeout, 1),
            )
            if digit is None or digit == "":
                log.info("confirm_no_key", round=round_no, of=confirm.replays + 1)
                continue
            if digit != confirm.digit:
                log.info(
                    "confirm_declined",
                    key=digit,
                    reason="decline digit" if digit == confirm.decline_digit else "other key",
                )
                return DECLINED
            if not await self._caller_present():
                return await self._caller_gone(hotline)
            await self.session.stream_file(
                prompts.name(hotline, "accepted"), timeout=deadlines.play("accepted")
            )
            log.info("confirm_accepted")
            return ACCEPTED
        log.info("confirm_timeout", rounds=confirm.replays + 1)
        return TIMEOUT

    async def _caller_gone(self, hotline: HotlineConfig) -> str:
        log.info("confirm_caller_gone")
        await self.session.stream_file(
            self.deps.prompts.name(hotline, "caller_gone"),
            timeout=self._deadlines(hotline).play("caller_gone"),
        )
        return CALLER_GONE

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
        if verdict == ACCEPTED:
            self.deps.registry.accepted(self.call_id, self.target)
        log.info("confirm_result", result=verdict)


async def serve_confirm(session: CallSession, lookup: HotlineLookup, deps: FlowDeps) -> str:
    """Entry point of the ``confirm`` route."""
    return await ConfirmFlow(session, lookup, deps).run()
