"""In-process meeting point of a call's two legs.

The confirm verdict travels to the caller leg on the channel (``GOSUB_RETVAL``),
so any runtime instance can serve either leg.  When both legs run in this
process, the confirm leg also tells the caller leg the moment the agent
accepts, so ``call_connected`` is logged when it happens rather than when the
bridged call ends.

It is also where the legs of a parallel step settle who takes the call: the
first confirm leg to :meth:`CallRegistry.claim` it wins, any later one is told
"taken" (and the caller leg learns every leg's verdict).  Without the caller
leg in this process a claim always succeeds and Asterisk settles it: the
caller's Dial bridges the first leg that answers and hangs up the others.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from hotline.records import record


@record
class Acceptance:
    call_id: str
    target: str


@dataclass
class Claims:
    """One dial of one call: who took it, and each confirm leg's verdict by target."""

    taken_by: str | None = None
    verdicts: dict[str, str] = field(default_factory=dict)
    #: the targets this dial rings (empty: not told); a confirm leg for another is forged
    dialling: frozenset[str] = frozenset()
    #: the targets whose agent a confirm leg here began to ask
    asked: set[str] = field(default_factory=set)


#: calls whose taker is remembered after their dial ended, for colleagues still being asked
SETTLED_KEPT = 1024


class CallRegistry:
    """Caller legs waiting for an agent's acceptance, by call id."""

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[Acceptance]] = {}
        self._claims: dict[str, Claims] = {}
        #: call id -> the target that took it, after the dial ended (bounded, oldest out)
        self._settled: OrderedDict[str, str] = OrderedDict()

    def expect(self, call_id: str, targets: Iterable[str] = ()) -> asyncio.Future[Acceptance]:
        """Called by the caller leg before it dials ``targets``; resolved by :meth:`accepted`."""
        future: asyncio.Future[Acceptance] = asyncio.get_running_loop().create_future()
        self._waiting[call_id] = future
        self._claims[call_id] = Claims(dialling=frozenset(targets))
        return future

    def unexpected(self, call_id: str, target: str) -> bool:
        """True when the call's caller leg is here and is not dialling ``target`` now: a
        confirm leg for it is not one Asterisk opened (issue 12: a forged /confirm)."""
        claims = self._claims.get(call_id)
        if claims is None:
            return call_id in self._waiting  # between dials: nobody is being asked
        return bool(claims.dialling) and target not in claims.dialling

    def claim(self, call_id: str, target: str) -> bool:
        """May ``target``'s agent take the call?  True for the first to ask, and when
        the caller leg is not in this process; False once a colleague has it."""
        claims = self._claims.get(call_id)
        if claims is None:
            return True
        if claims.taken_by is None:
            claims.taken_by = target
        return claims.taken_by == target

    def taken_by_other(self, call_id: str, target: str) -> bool:
        """True when another target's agent has already taken the call."""
        claims = self._claims.get(call_id)
        taken_by = claims.taken_by if claims is not None else self._settled.get(call_id)
        return taken_by not in (None, target)

    def asking(self, call_id: str, target: str) -> None:
        """A confirm leg began to ask ``target``'s agent (the caller leg is at "confirm")."""
        claims = self._claims.get(call_id)
        if claims is not None:
            claims.asked.add(target)

    def asked(self, call_id: str) -> frozenset[str]:
        """The targets of the call's current dial whose agent a confirm leg here asks."""
        claims = self._claims.get(call_id)
        return frozenset(claims.asked) if claims is not None else frozenset()

    def verdict(self, call_id: str, target: str, verdict: str) -> None:
        """A confirm leg's verdict, for the caller leg's per-leg outcomes."""
        claims = self._claims.get(call_id)
        if claims is not None:
            claims.verdicts[target] = verdict

    def accepted(self, call_id: str, target: str) -> bool:
        """The agent took the call; returns False when the caller leg is not in this process."""
        future = self._waiting.get(call_id)
        if future is None or future.done() or self.unexpected(call_id, target):
            return False
        future.set_result(Acceptance(call_id, target))
        return True

    def forget(self, call_id: str) -> Claims:
        """The dial is over: drop the call, return what its legs said."""
        future = self._waiting.pop(call_id, None)
        if future is not None and not future.done():
            future.cancel()
        claims = self._claims.pop(call_id, None) or Claims()
        if claims.taken_by is not None:  # colleagues may still be in their confirm legs
            self._settled[call_id] = claims.taken_by
            if len(self._settled) > SETTLED_KEPT:
                self._settled.popitem(last=False)
        return claims

    def __len__(self) -> int:
        return len(self._waiting)

    def sizes(self) -> dict[str, int]:
        """How many entries each table holds (the benchmarks check they stay bounded)."""
        return {
            "waiting": len(self._waiting),
            "claims": len(self._claims),
            "settled": len(self._settled),
        }
