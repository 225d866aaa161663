"""State that outlives a call and a config: owned by the runtime, kept across reloads.

A reload swaps the config and everything derived from it (prompts, schedules,
routes) but hands the same :class:`RuntimeState` to the new flows, so what the
runtime has learnt (who is waiting for an agent, which numbers are locked out)
stays.  Anything else of that kind belongs here too, as one field each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hotline.agents.board import AgentBoard
from hotline.flow.live import LiveCalls
from hotline.flow.presence import CallerPresence
from hotline.flow.registry import CallRegistry
from hotline.guard.pin import PinGuard

if TYPE_CHECKING:
    from hotline.config import HotlineConfig
    from hotline.flow.caller import FlowDeps


@dataclass
class RuntimeState:
    """Built once per runtime; every config generation's flows share it."""

    registry: CallRegistry = field(default_factory=CallRegistry)
    pin_guard: PinGuard = field(default_factory=PinGuard)
    #: calls in progress here, by call id: the hotline config and deps they started
    #: with, so that their confirm legs use the same even after a reload
    calls: dict[str, tuple[HotlineConfig, FlowDeps]] = field(default_factory=dict)
    #: callers AMI saw hang up, for the calls with a leg here
    presence: CallerPresence = field(default_factory=CallerPresence)
    #: every agent's state for all hotlines: skipping, strategies (hotline/agents/board.py)
    board: AgentBoard = field(default_factory=AgentBoard)
    #: the calls in progress (the live page's source; shared through Redis when configured)
    live: LiveCalls = field(default_factory=LiveCalls)
