"""A correlator that ties AMI events to calls: what happened to each dial leg.

A call's log only knows what FastAGI tells it (``DIALSTATUS`` and friends).
AMI adds what FastAGI cannot see: the real hangup cause of each agent leg and
how long it rang.  :class:`CallEventLog` indexes the events (hotline/ami/events.py)
by the caller channel's uniqueid (the ``call_id`` in the logs, =
``agi_uniqueid``), by linkedid and by the dialled channel, and answers "what
happened to the dial leg for target X of call C".

It never raises into call handling and never blocks it for long: with AMI
down every query answers at once with what is known (maybe nothing), and the
flow logs what FastAGI knows.  Memory is bounded: finished calls are kept
only up to ``keep_finished`` and all calls up to ``max_calls``.

For Local agents the informative cause is often on the ``;2`` half only: BUSY
hangs up ``;1`` with ``0 Unknown`` and ``;2`` with ``17 User busy``
(tests/ami/recordings/04_agent203_busy.log).  A Local leg is settled once both
halves are gone.
"""

# The waits below take a timeout on purpose: they must never hold a call up.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hotline.ami.events import (
    EVENT_NAMES,
    AmiEvent,
    BridgeEnter,
    BridgeLeave,
    DialBegin,
    DialEnd,
    DialState,
    DTMFEnd,
    Hangup,
    parse_event,
)
from hotline.ami.messages import header_value
from hotline.logs import get_logger

if TYPE_CHECKING:
    from hotline.ami.client import AmiClient

log = get_logger()


def _local_sibling(channel: str) -> str | None:
    """``Local/x@ctx-0001;1`` -> ``Local/x@ctx-0001;2`` (the half that runs the agent)."""
    if channel.startswith("Local/") and channel.endswith(";1"):
        return channel[:-1] + "2"
    return None


@dataclass(frozen=True)
class HangupInfo:
    uniqueid: str
    channel: str
    cause: int
    cause_txt: str
    at: float


@dataclass
class DialLeg:
    """One target dialled by one call, as AMI saw it."""

    call_id: str
    linkedid: str
    dest_channel: str
    dest_uniqueid: str
    dial_string: str
    began_at: float
    ringing_at: float | None = None
    ended_at: float | None = None
    dial_status: str | None = None
    hangup_cause: int | None = None
    hangup_cause_txt: str | None = None
    bridged_at: float | None = None
    unbridged_at: float | None = None
    #: digits the agent side sent during the confirm (never the caller's PIN)
    agent_digits: str = ""
    #: channel names whose Hangup has not been seen yet
    pending_hangups: set[str] = field(default_factory=set)

    def matches(self, target: str) -> bool:
        """Is this the leg for ``target``, a dial string like ``PJSIP/201``/``Local/201@ctx``?"""
        _, _, resource = target.partition("/")
        return self.dial_string in (target, resource) or self.dest_channel.startswith(target + "-")

    @property
    def ring_time(self) -> float | None:
        """Seconds from DialBegin to DialEnd (the answer, or giving up)."""
        if self.ended_at is None:
            return None
        return max(0.0, self.ended_at - self.began_at)

    @property
    def talk_time(self) -> float | None:
        if self.bridged_at is None or self.unbridged_at is None:
            return None
        return max(0.0, self.unbridged_at - self.bridged_at)

    @property
    def ended(self) -> bool:
        """DialEnd was seen."""
        return self.dial_status is not None

    @property
    def settled(self) -> bool:
        """DialEnd was seen and every half of the dialled channel has hung up."""
        return self.ended and not self.pending_hangups

    def log_fields(self) -> dict[str, Any]:
        """What a target outcome line in the call log gets from AMI."""
        fields: dict[str, Any] = {"ami_dial_status": self.dial_status}
        if self.hangup_cause is not None:
            fields["hangup_cause"] = self.hangup_cause
            fields["hangup_cause_txt"] = self.hangup_cause_txt
        if self.ring_time is not None:
            fields["ring_time"] = round(self.ring_time, 3)
        if self.talk_time is not None:
            fields["talk_time"] = round(self.talk_time, 3)
        return fields


@dataclass
class _Call:
    call_id: str
    linkedid: str
    legs: list[DialLeg] = field(default_factory=list)
    caller_hangup: HangupInfo | None = None

    @property
    def finished(self) -> bool:
        return self.caller_hangup is not None and all(leg.settled for leg in self.legs)


class CallEventLog:
    """Correlates AMI events to calls; bounded; never raises into call handling.

    Attach it to an :class:`~hotline.ami.client.AmiClient` (``attach``) or
    :meth:`feed` it messages directly.  ``clock`` stamps events on receipt
    (an event's own ``Timestamp:`` header, if Asterisk sends one, wins).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_calls: int = 5000,
        keep_finished: int = 500,
        max_hangups: int = 5000,
    ) -> None:
        self._clock = clock
        self._max_calls = max_calls
        self._keep_finished = keep_finished
        self._max_hangups = max_hangups
        self._calls: OrderedDict[str, _Call] = OrderedDict()
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._by_channel: dict[str, DialLeg] = {}  # dest channel name (and its ;2 half)
        self._by_dest_uniqueid: dict[str, DialLeg] = {}
        self._by_linkedid: dict[str, set[str]] = {}  # linkedid -> call ids
        self._hangups: OrderedDict[str, HangupInfo] = OrderedDict()
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._unsubscribe: Callable[[], None] | None = None
        #: False while AMI is known to be down: waits then return at once
        self.ami_up = True

    # -- wiring ---------------------------------------------------------------

    def attach(self, client: AmiClient) -> None:
        """Subscribe to the events we use on ``client`` and follow its connection state."""
        self._unsubscribe = client.on_event(EVENT_NAMES, self.feed)
        self.ami_up = client.connected
        client.on_connection(self._on_connection)

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _on_connection(self, up: bool) -> None:
        self.ami_up = up
        if not up:  # nobody should wait for events that cannot come
            for key in list(self._waiters):
                self._wake(key)

    # -- input ----------------------------------------------------------------

    def feed(self, message: Mapping[str, Any]) -> None:
        """Take one AMI event (a panoramisk Message or any mapping)."""
        stamp = header_value(message, "Timestamp")
        try:
            at = float(stamp) if stamp else self._clock()
        except ValueError:
            at = self._clock()
        try:
            event = parse_event(message, at)
            if event is not None:
                self._apply(event)
        except Exception:  # a malformed event must not break the AMI connection
            log.exception("ami_event_not_understood", ami_event=header_value(message, "Event"))

    def _apply(self, event: AmiEvent) -> None:
        if isinstance(event, DialBegin):
            self._dial_begin(event)
        elif isinstance(event, DialState | DialEnd):
            leg = self._by_channel.get(event.dest.channel)
            if leg is None:
                return
            if isinstance(event, DialState):
                if event.status == "RINGING" and leg.ringing_at is None:
                    leg.ringing_at = event.at
            else:
                leg.ended_at = event.at
                leg.dial_status = event.status
            self._touch(leg.call_id)
        elif isinstance(event, Hangup):
            self._hangup(event)
        elif isinstance(event, BridgeEnter | BridgeLeave):
            leg = self._by_channel.get(event.channel.channel)
            if leg is not None:
                if isinstance(event, BridgeEnter):
                    leg.bridged_at = event.at
                else:
                    leg.unbridged_at = event.at
                self._touch(leg.call_id)
        elif isinstance(event, DTMFEnd):
            leg = self._by_channel.get(event.channel.channel)
            if leg is not None:
                leg.agent_digits += event.digit
                self._touch(leg.call_id)

    def _dial_begin(self, event: DialBegin) -> None:
        if event.caller is None:
            return  # an Originate's own dial (docs/asterisk/facts.md, fact 20), not a hunt leg
        call = self._call(event.caller.uniqueid, event.caller.linkedid)
        dest = event.dest
        leg = DialLeg(
            call_id=call.call_id,
            linkedid=dest.linkedid,
            dest_channel=dest.channel,
            dest_uniqueid=dest.uniqueid,
            dial_string=event.dial_string,
            began_at=event.at,
            pending_hangups={dest.channel},
        )
        sibling = _local_sibling(dest.channel)
        if sibling is not None:
            leg.pending_hangups.add(sibling)
            self._by_channel[sibling] = leg
        self._by_channel[dest.channel] = leg
        self._by_dest_uniqueid[dest.uniqueid] = leg
        call.legs.append(leg)
        self._touch(call.call_id)

    def _hangup(self, event: Hangup) -> None:
        ref = event.channel
        info = HangupInfo(ref.uniqueid, ref.channel, event.cause, event.cause_txt, event.at)
        self._hangups[ref.uniqueid] = info
        self._hangups.move_to_end(ref.uniqueid)
        while len(self._hangups) > self._max_hangups:
            self._hangups.popitem(last=False)
        leg = self._by_channel.get(ref.channel)
        if leg is not None:
            leg.pending_hangups.discard(ref.channel)
            if leg.hangup_cause is None or (leg.hangup_cause == 0 and event.cause != 0):
                leg.hangup_cause = event.cause
                leg.hangup_cause_txt = event.cause_txt
            self._touch(leg.call_id)
            self._maybe_finished(leg.call_id)
        call = self._calls.get(ref.uniqueid)
        if call is not None:
            call.caller_hangup = info
            self._maybe_finished(call.call_id)
        self._wake(ref.uniqueid)

    # -- bookkeeping -----------------------------------------------------------

    def _call(self, call_id: str, linkedid: str) -> _Call:
        call = self._calls.get(call_id)
        if call is None:
            call = _Call(call_id, linkedid)
            self._calls[call_id] = call
            self._by_linkedid.setdefault(linkedid, set()).add(call_id)
            while len(self._calls) > self._max_calls:
                oldest = next(iter(self._calls))
                self._evict(oldest)
        self._calls.move_to_end(call_id)
        return call

    def _maybe_finished(self, call_id: str) -> None:
        call = self._calls.get(call_id)
        if call is None or not call.finished or call_id in self._finished:
            return
        self._finished[call_id] = None
        while len(self._finished) > self._keep_finished:
            oldest, _ = self._finished.popitem(last=False)
            self._evict(oldest)

    def _evict(self, call_id: str) -> None:
        call = self._calls.pop(call_id, None)
        self._finished.pop(call_id, None)
        if call is None:
            return
        for leg in call.legs:
            for name in (leg.dest_channel, _local_sibling(leg.dest_channel)):
                if name is not None and self._by_channel.get(name) is leg:
                    del self._by_channel[name]
            if self._by_dest_uniqueid.get(leg.dest_uniqueid) is leg:
                del self._by_dest_uniqueid[leg.dest_uniqueid]
        siblings = self._by_linkedid.get(call.linkedid)
        if siblings is not None:
            siblings.discard(call_id)
            if not siblings:
                del self._by_linkedid[call.linkedid]
        self._wake(call_id)

    def forget(self, call_id: str) -> None:
        """Drop a call's records now (the flow logged them)."""
        self._evict(call_id)

    @property
    def size(self) -> int:
        """Calls held (for tests of the memory bound)."""
        return len(self._calls)

    def _touch(self, call_id: str) -> None:
        if call_id in self._calls:
            self._calls.move_to_end(call_id)
        self._wake(call_id)

    def _wake(self, key: str) -> None:
        for future in self._waiters.pop(key, []):
            if not future.done():
                future.set_result(None)

    async def _wait_change(self, key: str, deadline: float) -> bool:
        """Wait for news about ``key`` until ``deadline`` (loop time); False on timeout."""
        loop = asyncio.get_running_loop()
        remaining = deadline - loop.time()
        if remaining <= 0 or not self.ami_up:
            return False
        future: asyncio.Future[None] = loop.create_future()
        self._waiters.setdefault(key, []).append(future)
        try:
            await asyncio.wait_for(future, remaining)
        except TimeoutError:
            return False
        finally:
            waiters = self._waiters.get(key)
            if waiters is not None and future in waiters:
                waiters.remove(future)
                if not waiters:
                    del self._waiters[key]
        return True

    # -- queries -----------------------------------------------------------------

    def legs(self, call_id: str) -> list[DialLeg]:
        """Every leg the call dialled, in order."""
        call = self._calls.get(call_id)
        return list(call.legs) if call is not None else []

    def bridged(self, call_id: str) -> bool:
        """Is one of the call's dialled legs in a bridge right now (its agent talking)?"""
        return any(
            leg.bridged_at is not None and leg.unbridged_at is None for leg in self.legs(call_id)
        )

    def leg(self, call_id: str, target: str) -> DialLeg | None:
        """The latest leg of ``call_id`` that dialled ``target``."""
        for leg in reversed(self.legs(call_id)):
            if leg.matches(target):
                return leg
        return None

    def leg_of_channel(self, uniqueid: str) -> DialLeg | None:
        """The leg whose dialled channel has this uniqueid (what the confirm AGI knows)."""
        return self._by_dest_uniqueid.get(uniqueid)

    def calls_of_linkedid(self, linkedid: str) -> list[str]:
        """Call ids (caller uniqueids) that belong to one linked call."""
        return sorted(self._by_linkedid.get(linkedid, ()))

    async def wait_leg(
        self, call_id: str, target: str, *, timeout: float = 1.0, need_hangup: bool = True
    ) -> DialLeg | None:
        """The leg for ``target`` once it has ended (and, by default, hung up).

        Returns what is known when ``timeout`` runs out or AMI is down (a
        partial leg, or None): the caller logs it and goes on.
        """
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            leg = self.leg(call_id, target)
            if leg is not None and (leg.settled if need_hangup else leg.ended):
                return leg
            if not await self._wait_change(call_id, deadline):
                return self.leg(call_id, target)

    def hangup_of(self, uniqueid: str) -> HangupInfo | None:
        """How a channel hung up, if AMI told us (kept for the last ``max_hangups``)."""
        return self._hangups.get(uniqueid)

    async def wait_hangup(self, uniqueid: str, *, timeout: float) -> HangupInfo | None:
        """Wait for a channel's Hangup (e.g. the test call ``hotline call`` placed)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            info = self._hangups.get(uniqueid)
            if info is not None:
                return info
            if not await self._wait_change(uniqueid, deadline):
                return self._hangups.get(uniqueid)
