"""``Dial(Local/1@hotline-step&Local/2@hotline-step,…)``: a parallel step, leg by leg.

Plays what the shipped ``[hotline-step]`` context does on a real Asterisk
(hotline/contract.py: ``step_steps``): each Local leg reads its
``HOTLINE_LEG_<n>`` (inherited from the caller), waits its delay, and dials its
agent with the confirm subroutine; the leg answers the caller's Dial only when
its agent's subroutine returned ``ACCEPTED``.  The caller's Dial bridges the
first leg that answers and hangs up every other one with cause 26 (answered
elsewhere); an agent still in the confirm leg stays there until the runtime
ends it, and is then dropped (app_dial runs ``U()`` to its end before it looks
at the caller).

Every leg runs on its own virtual clock and the confirm legs talk to the
runtime at the same time over real sockets, kept in virtual-time order by a
:class:`Conductor`: a leg moves its clock on only when no other leg can still
do something earlier.  So the agent who presses 1 first is the first the
runtime hears, and two agents pressing at the same virtual moment really race:
the runtime's claim decides, as on a real PBX.
"""

from __future__ import annotations

import asyncio
import copy
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hotline.contract import ACCEPTED, LEG_VARIABLE, STEP_CONTEXT, STEP_VARIABLE
from hotline.sim import events
from hotline.sim.agents import AgentBehaviour
from hotline.sim.caller import DEFAULT_CONFIRM_HANGUP, DEFAULT_RINGING_HANGUP
from hotline.sim.channels import CAUSE_NORMAL, STATE_RINGING, Channel
from hotline.sim.clock import VirtualClock
from hotline.sim.confirm_leg import ConfirmLeg
from hotline.sim.dialplan import DialRequest, DialTarget, parse_dial, parse_target
from hotline.sim.media import DigitsRead, Outcome
from hotline.sim.records import AgentLeg

if TYPE_CHECKING:
    from hotline.sim.call import Call
    from hotline.sim.legs import AgiLeg

#: Q() default of app_dial: what the legs that lost are hung up with
CAUSE_ANSWERED_ELSEWHERE = 26
_FAILING = {"busy": "BUSY", "congestion": "CONGESTION", "unavailable": "CHANUNAVAIL"}


def is_step_dial(request: DialRequest) -> bool:
    """Every target of this Dial is a leg of ``[hotline-step]``."""
    return bool(request.targets) and all(
        t.tech == "Local" and t.resource.partition("@")[2] == STEP_CONTEXT for t in request.targets
    )


def _variable(channel: Channel, name: str) -> str:
    """A variable as the legs inherit it (set with a ``_`` or ``__`` prefix, or none)."""
    for key in (name, f"_{name}", f"__{name}"):
        if key in channel.variables:
            return channel.variables[key]
    return ""


@dataclass
class _Slot:
    clock: VirtualClock
    #: the virtual time the leg waits to reach; None while it talks to the runtime
    want: float | None
    done: bool = False


class Conductor:
    """Keeps several legs' clocks in virtual-time order (conservative: the earliest goes)."""

    def __init__(self, main: VirtualClock) -> None:
        self.main = main
        self._slots: dict[int, _Slot] = {}
        self._changed = asyncio.Condition()

    def expect(self, key: int, clock: VirtualClock, first: float) -> None:
        """A leg that will reach ``first`` before it does anything."""
        self._slots[key] = _Slot(clock, first)

    def _may_go(self, key: int, until: float) -> bool:
        return all(
            other.done or (other.want is not None and until <= other.want)
            for name, other in self._slots.items()
            if name != key
        )

    async def advance(self, key: int, until: float) -> None:
        """Move leg ``key``'s clock to ``until`` once no other leg can act earlier."""
        slot = self._slots[key]
        until = max(until, slot.clock.now())
        async with self._changed:
            slot.want = until
            self._changed.notify_all()
            await self._changed.wait_for(lambda: self._may_go(key, until))
            slot.clock.advance_to(until)
            self.main.advance_to(until)
            slot.want = None  # talking to the runtime again
            self._changed.notify_all()

    async def leave(self, key: int) -> None:
        async with self._changed:
            self._slots[key].done = True
            self._changed.notify_all()


class _StepConfirmLeg(ConfirmLeg):
    """A confirm leg whose clock moves only in turn with the step's other legs."""

    def __init__(self, conductor: Conductor, key: int, *args: Any) -> None:
        super().__init__(*args)
        self.conductor = conductor
        self.key = key

    async def _advance(self, outcome: Outcome | DigitsRead, start: float) -> None:
        await self.conductor.advance(self.key, outcome.at)
        await super()._advance(outcome, start)


@dataclass
class _Leg:
    number: int
    start: float  # step start + delay
    ring_time: float
    agent: DialTarget | None
    behaviour: AgentBehaviour
    record: AgentLeg
    one: Channel | None = None  # Local/<n>@hotline-step;1, what the caller's Dial sees
    phone: Channel | None = None  # the agent's channel
    phone_two: Channel | None = None  # its ;2 when the agent is a Local channel
    verdict: str = ""
    ended_at: float = math.inf
    args: tuple[str, ...] = field(default=())

    @property
    def answers_at(self) -> float:
        if not self.behaviour.answers or self.behaviour.answer_after >= self.ring_time:
            return math.inf
        return self.start + self.behaviour.answer_after


class StepDial:
    """One ``EXEC Dial`` of a parallel step on the caller leg."""

    def __init__(self, leg: AgiLeg, data: str) -> None:
        self.leg = leg
        self.call: Call = leg.call
        self.env = leg.call.env
        self.caller = leg.call.caller
        self.data = data
        self.request = parse_dial(data)

    async def run(self) -> str:
        call, leg = self.call, self.leg
        call.record.dialed.append(self.data)
        for name in ("DIALSTATUS", "DIALEDPEERNAME", "DIALEDPEERNUMBER"):
            await leg.set_var(name, "")
        if not self.caller.alive():
            await leg.set_var("DIALSTATUS", "CANCEL")
            return "200 result=-1"
        start = call.now()
        window = start + (self.request.timeout or math.inf)
        step = _variable(self.caller, STEP_VARIABLE).split("^")
        legs = [self._leg(t, start, step) for t in self.request.targets]
        leg.note(f"parallel step: {len(legs)} legs into [{STEP_CONTEXT}]")
        for each in legs:
            await self._open(each)
        first = min((each.answers_at for each in legs), default=math.inf)
        script = call.script
        if script.hangs_up_during("ringing", call.count("ringing")):
            gives_up = start + call.hangup_offset(
                DEFAULT_RINGING_HANGUP, min(first, window) - start
            )
            if gives_up < first:
                call.clock.advance_to(gives_up)
                return await self._caller_left("while the step rang", legs)
        if first < window and script.hangs_up_during("confirm", call.count("confirm")):
            # the caller hangs up while the agents are asked: they find the caller gone
            call.clock.advance_to(first + call.hangup_offset(DEFAULT_CONFIRM_HANGUP, None))
            self.caller.hang_up(CAUSE_NORMAL)
            call.caller_hung_up("confirm")
        winner = await self._confirm(legs, window)
        if winner is None:
            end = min(window, max((each.ended_at for each in legs), default=start))
            call.clock.advance_to(end if math.isfinite(end) else start)
            for each in legs:
                await self._end(each, "NOANSWER", CAUSE_NORMAL)
            if not self.caller.alive():
                return await self._caller_left("during the step's confirmation", legs)
            await leg.set_var("DIALSTATUS", "NOANSWER")
            await leg.set_var("HANGUPCAUSE", "0")
            return "200 result=0"
        call.clock.advance_to(winner.ended_at)
        for each in legs:
            if each is not winner:
                await self._end(each, "CANCEL", CAUSE_ANSWERED_ELSEWHERE)
        return await self._bridge(winner)

    # -- legs -----------------------------------------------------------------

    def _leg(self, target: DialTarget, start: float, step: list[str]) -> _Leg:
        number = int(target.resource.partition("@")[0] or 0)
        fields = _variable(self.caller, f"{LEG_VARIABLE}{number}").split("^")
        delay, dial, ring, agent_number = (*fields, "", "", "", "")[:4]
        agent = parse_target(dial) if dial else None
        behaviour = self.env.behaviour_for(agent) if agent else AgentBehaviour("unavailable")
        record = AgentLeg(target=dial or target.raw, agent=agent_number, behaviour=behaviour)
        self.call.record.agent_legs.append(record)
        call_id, hotline, caller = (*step, "", "", "")[:3]
        return _Leg(
            number=number,
            start=start + (float(delay) if delay.isdigit() else 0.0),
            ring_time=float(ring) if ring.isdigit() else math.inf,
            agent=agent,
            behaviour=behaviour,
            record=record,
            args=(call_id, hotline, agent_number, caller),
        )

    async def _open(self, leg: _Leg) -> None:
        """The leg's Local pair and its agent's channel; a failing agent ends it at once."""
        call = self.call
        clock = VirtualClock(leg.start)
        leg.one, two = self.env.new_local_pair(
            str(leg.number), STEP_CONTEXT, call.clock, linkedid=call.linkedid
        )
        for channel in (leg.one, two):
            call.channels.append(channel)
            await call.emit(events.newchannel, channel)
        await call.emit(events.dial_begin, self.caller, leg.one, f"{leg.number}@{STEP_CONTEXT}")
        kind = leg.behaviour.kind
        if leg.agent is None or not leg.agent.known_tech or kind in _FAILING:
            leg.record.status = _FAILING.get(kind, "CHANUNAVAIL")
            leg.ended_at = leg.start
            self.leg.note(f"leg {leg.number} ({leg.record.agent}): {leg.record.status}")
            await self._end(leg, leg.record.status, CAUSE_NORMAL)
            return
        phone, phone_two = self.env.new_target_channels(leg.agent, clock, call.linkedid)
        leg.phone, leg.phone_two = phone, phone_two
        leg.record.channel, leg.record.uniqueid = phone.name, phone.uniqueid
        for ringing in (phone, phone_two):
            if ringing is not None:
                ringing.state = STATE_RINGING
                call.channels.append(ringing)
        leg.one.state = STATE_RINGING
        await call.emit(events.dial_state, self.caller, leg.one, "RINGING")
        if math.isinf(leg.answers_at):
            leg.ended_at = leg.start + leg.ring_time
            leg.record.status = "NOANSWER"

    async def _confirm(self, legs: list[_Leg], window: float) -> _Leg | None:
        """Every agent who answers in time is asked, in virtual-time order, unless a
        colleague accepted before they answered; the first ``ACCEPTED`` wins."""
        answering = [each for each in legs if each.answers_at < window]
        if not answering:
            return None
        conductor = Conductor(self.call.clock)
        for each in answering:
            assert each.phone is not None
            conductor.expect(each.number, each.phone.clock, each.answers_at)
        self._winner: _Leg | None = None
        await asyncio.gather(*(self._ask(each, conductor) for each in answering))
        return self._winner

    async def _ask(self, leg: _Leg, conductor: Conductor) -> None:
        """The agent answers and is asked (on the leg's own clock); sets the verdict."""
        assert leg.phone is not None
        try:
            await conductor.advance(leg.number, leg.answers_at)
            winner = self._winner
            if winner is not None:  # still ringing when a colleague took the call
                leg.ended_at = winner.ended_at
                return
            await self._confirm_leg(leg, conductor)
        finally:
            await conductor.leave(leg.number)
        if leg.verdict != ACCEPTED or not self.caller.alive():
            return
        if self._winner is None:
            self._winner = leg
        else:  # a second ACCEPTED: its leg answers after the caller's Dial hung it up
            leg.record.released = True
            self.leg.note(f"leg {leg.number} accepted after a colleague: hung up unbridged")

    async def _confirm_leg(self, leg: _Leg, conductor: Conductor) -> None:
        assert leg.phone is not None
        call = copy.copy(self.call)
        call.clock = leg.phone.clock
        for channel in (leg.phone, leg.phone_two):
            if channel is not None:
                channel.answer()
        leg.record.answered = True
        leg.record.status = "ANSWER"
        call.note(f"leg {leg.number}: {leg.record.agent} answered")
        confirm = _StepConfirmLeg(
            conductor, leg.number, call, leg.phone, leg.record, leg.behaviour, leg.phone_two
        )
        await confirm.run(leg.args)
        sub = self.env.subroutine(
            leg.phone.variables.get("HOTLINE_CONFIRM", ""),
            leg.phone.variables.get("GOSUB_RESULT"),
            leg.phone.alive(),
        )
        leg.record.gosub_result = sub.gosub_result
        leg.record.gosub_retval = sub.retval
        leg.ended_at = call.clock.now()
        leg.verdict = sub.retval or ""
        call.note(f"leg {leg.number}: subroutine returned {leg.verdict or 'nothing'}")
        if leg.verdict != ACCEPTED:
            await self.call.hang_up_channels(*self._agent_channels(leg))
            leg.record.released = leg.record.released or not leg.record.agent_hung_up

    @staticmethod
    def _agent_channels(leg: _Leg) -> list[Channel]:
        return [c for c in (leg.phone, leg.phone_two) if c is not None]

    async def _end(self, leg: _Leg, status: str, cause: int) -> None:
        """The caller's Dial is done with this leg: DialEnd and hang-ups."""
        if leg.one is None or not leg.one.alive():
            return
        if not leg.record.answered:
            leg.record.status = leg.record.status or status
            if cause == CAUSE_ANSWERED_ELSEWHERE:
                leg.record.answered_elsewhere = True
            if leg.phone is not None:
                leg.record.released = True
        await self.call.emit(events.dial_end, self.caller, leg.one, status)
        channels = [leg.one, *self._agent_channels(leg)]
        await self.call.hang_up_channels(*channels, cause=cause)

    async def _caller_left(self, when: str, legs: list[_Leg]) -> str:
        self.caller.hang_up(CAUSE_NORMAL)
        self.call.caller_hung_up("ringing" if "rang" in when else "confirm")
        self.leg.note(f"caller hung up {when}")
        await self.call.hang_up_channels(self.call.caller_peer)
        for each in legs:
            await self._end(each, "CANCEL", CAUSE_NORMAL)
        await self.leg.set_var("DIALSTATUS", "CANCEL")
        await self.leg.set_var("HANGUPCAUSE", str(CAUSE_NORMAL))
        return "200 result=-1"

    async def _bridge(self, leg: _Leg) -> str:
        """The winning leg answers the caller's Dial: bridged until someone hangs up."""
        call, caller = self.call, self.caller
        assert leg.one is not None
        assert leg.phone is not None
        leg.one.answer()
        if caller.answer():
            await call.emit(events.newstate, caller)
        await call.emit(events.dial_end, caller, leg.one, "ANSWER")
        await self.leg.set_var("DIALSTATUS", "ANSWER")
        await self.leg.set_var("DIALEDPEERNAME", leg.one.name)
        await self.leg.set_var("DIALEDPEERNUMBER", f"{leg.number}@{STEP_CONTEXT}")
        bridge_id = self.env.new_bridge_id()
        await call.emit(events.bridge_create, bridge_id)
        await call.emit(events.bridge_enter, bridge_id, 1, leg.one)
        await call.emit(events.bridge_enter, bridge_id, 2, caller)
        began = leg.ended_at  # colleagues still being told "taken" do not hold the bridge up
        leg.record.bridged = True
        call.record.bridged_to = leg.record.agent
        call.record.note(began, f"caller connected to {leg.record.agent} (leg {leg.number})")
        talk = leg.behaviour.talk_seconds
        if call.script.hangs_up_during("bridge", call.count("bridge")):
            call.clock.advance_to(began + call.hangup_offset(30.0, talk))
            self.caller.hang_up(CAUSE_NORMAL)
            call.caller_hung_up("bridge")
            await call.hang_up_channels(call.caller_peer)
            leg.record.released = True
        else:
            call.clock.advance_to(began + talk)
            leg.record.agent_hung_up = True
            call.set_hung_up_by("agent")
        leg.record.talk_seconds = call.now() - began
        await call.emit(events.bridge_leave, bridge_id, 1, caller)
        await call.emit(events.bridge_leave, bridge_id, 0, leg.one)
        await call.emit(events.bridge_destroy, bridge_id)
        await call.hang_up_channels(leg.one, *self._agent_channels(leg))
        await self.leg.set_var("HANGUPCAUSE", str(CAUSE_NORMAL))
        return "200 result=-1"
