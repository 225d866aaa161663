"""Feeds the board's own view from what calls do (the flows' observer events).

Ringing when a target is dialled, confirming while its agent is asked,
connected once they accepted, released when the leg ends, and on the end of a
connected call: the agent's last hotline call time and the hotline's wrap-up.
Whatever a call still holds when it ends is dropped, however it ended, so the
board never keeps an agent busy for a call that is over.
"""

from __future__ import annotations

from collections.abc import Iterable

from hotline.agents.board import Activity, AgentBoard
from hotline.agents.plan import agent_key
from hotline.config import HotlineConfig
from hotline.flow.observers import (
    CallConnected,
    CallEnded,
    CallEvent,
    ConfirmEnded,
    ConfirmStarted,
    TargetDialing,
    TargetEnded,
)
from hotline.flow.outcomes import TargetOutcome

#: attempt outcomes that leave the agent on the call (released by CallEnded instead)
_STAYS = frozenset({TargetOutcome.CONFIRMED.value, TargetOutcome.SKIPPED.value})


class BoardObserver:
    """A :class:`~hotline.flow.observers.CallObserver` that keeps an :class:`AgentBoard`."""

    def __init__(self, board: AgentBoard, hotlines: Iterable[HotlineConfig]) -> None:
        self.board = board
        #: the newest config of each hotline (its wrap-up applies when a call ends)
        self._hotlines: dict[str, HotlineConfig] = {}
        #: (hotline, target number) -> agent key
        self._agents: dict[tuple[str, str], str] = {}
        self.watch(hotlines)

    def watch(self, hotlines: Iterable[HotlineConfig]) -> None:
        """Know these hotlines' targets (also their shifts'); a reload adds, and never
        forgets, so the calls of an older config still reach the board."""
        for h in hotlines:
            self._hotlines[h.name] = h
            shifts = h.schedule.shifts if h.schedule else []
            for targets in (h.targets, *(shift.targets for shift in shifts)):
                self._agents.update({(h.name, t.number): agent_key(h, t) for t in targets})

    def _agent(self, hotline: str, number: str) -> str | None:
        return self._agents.get((hotline, number))

    def on_call_event(self, event: CallEvent) -> None:
        # Dispatched on the exact type: a ``match`` of class patterns asks isinstance of
        # each case in turn, ~3.5k instructions more per event (callgrind; the events
        # are final dataclasses, never subclassed).  StepChanged and CallStarted, most
        # of a call's events, concern no agent.
        board = self.board
        if type(event) is TargetDialing:
            agent = self._agent(event.hotline, event.number)
            if agent is not None:
                board.ringing(agent, event.call_id, event.hotline)
        elif type(event) is TargetEnded:
            record = event.record
            agent = self._agent(event.hotline, record.number)
            if agent is not None and record.outcome not in _STAYS:
                board.released(agent, event.call_id)
        elif type(event) is ConfirmStarted:
            agent = self._agent(event.hotline, event.number)
            if agent is not None:
                board.confirming(agent, event.call_id, event.hotline)
        elif type(event) is ConfirmEnded:
            call_id = event.call_id
            agent = self._agent(event.hotline, event.number)
            if agent is not None and board.activity_in(agent, call_id) is Activity.CONFIRMING:
                board.released(agent, call_id)
        elif type(event) is CallConnected:
            agent = self._agent(event.hotline, event.number)
            if agent is not None:
                board.connected(agent, event.call_id, event.hotline)
        elif type(event) is CallEnded:
            call_id, hotline, number = event.call_id, event.hotline, event.connected_to
            config = self._hotlines.get(hotline)
            agent = self._agent(hotline, number) if number is not None else None
            if agent is not None and config is not None:
                board.call_ended(agent, call_id, config.hunt.wrap_up)
            board.forget_call(call_id)
