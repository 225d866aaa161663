"""The order a hunt offers the call to its targets: strategy first, then skipping.

A hunt goes through its *steps* (today: one target each) ``rounds`` times, in
the order the hotline's strategy gives at the moment the call reaches the hunt:

* ``linear``: the configured order, every time;
* ``round_robin``: the configured order rotated to start after the target this
  hotline last offered a call to (the board's rotation memory);
* ``least_recent``: the agent whose last connected hotline call, on any
  hotline, ended longest ago first (never = first), ties in configured order;
* ``random``: a fresh shuffle per call.

Whether a target is skipped is asked of the board when its turn comes, not
up front: an agent who becomes free during the hunt is dialled.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from hotline.agents.board import AgentBoard
from hotline.agents.devices import device_of_dial_string
from hotline.config import HotlineConfig, Target

_SHUFFLE = random.Random()  # noqa: S311 - spreading load, not security


@dataclass(frozen=True, slots=True)
class PlannedTarget:
    """One target of a hunt, with what the board and Dial need to know of it."""

    target: Target
    position: int  # 1-based in the hotline's target list
    agent: str  # the board's key: the device, else the dial string
    device: str | None
    dial_string: str
    ring_time: int


def device_for(hotline: HotlineConfig, target: Target) -> str | None:
    """The target's device: configured, else derived from its dial string, else None."""
    if target.device is not None:
        return target.device
    return device_of_dial_string(hotline.dial_string_for(target))


def agent_key(hotline: HotlineConfig, target: Target) -> str:
    """One agent across hotlines: the device when there is one, else the dial string."""
    return device_for(hotline, target) or hotline.dial_string_for(target)


def planned_targets(
    hotline: HotlineConfig, targets: Sequence[Target] | None = None
) -> list[PlannedTarget]:
    """``targets`` (default: the hotline's own, else e.g. a shift's) ready for the hunt."""
    return [
        PlannedTarget(
            target=target,
            position=position,
            agent=agent_key(hotline, target),
            device=device_for(hotline, target),
            dial_string=hotline.dial_string_for(target),
            ring_time=hotline.ring_time_for(target),
        )
        for position, target in enumerate(hotline.targets if targets is None else targets, 1)
    ]


def agents_of(hotlines: Iterable[HotlineConfig]) -> dict[str, str | None]:
    """Every agent of these hotlines and their shifts (key -> device), for
    :meth:`AgentBoard.watch`."""
    agents = {}
    for hotline in hotlines:
        shifts = hotline.schedule.shifts if hotline.schedule else []
        for targets in (hotline.targets, *(shift.targets for shift in shifts)):
            agents.update({p.agent: p.device for p in planned_targets(hotline, targets)})
    return agents


def ordered(
    hotline: HotlineConfig,
    board: AgentBoard,
    targets: Sequence[PlannedTarget] | None = None,
    rng: random.Random = _SHUFFLE,
) -> list[PlannedTarget]:
    """The targets in the order this hotline's strategy offers them now."""
    items = list(targets if targets is not None else planned_targets(hotline))
    strategy = hotline.hunt.strategy
    if strategy == "round_robin":
        last = board.last_offered(hotline.name)
        agents = [t.agent for t in items]
        if last in agents:
            start = agents.index(last) + 1
            items = items[start:] + items[:start]
    elif strategy == "least_recent":
        ended: Mapping[str, float | None] = {t.agent: board.last_ended(t.agent) for t in items}

        def rested(t: PlannedTarget) -> float:
            at = ended[t.agent]
            return float("-inf") if at is None else at

        items.sort(key=rested)  # stable: ties keep the configured order
    elif strategy == "random":
        rng.shuffle(items)
    return items
