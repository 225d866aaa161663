"""The order a hunt offers the call to its targets: strategy first, then skipping.

A hunt goes through its *steps* ``rounds`` times.  A step is one target, or
the targets of one ``[[hotlines.hunt.steps]]`` table, rung at once (each with
its own ``delay``).  The strategy orders the steps at the moment the call
reaches the hunt (a step of several counts as its most rested agent):

* ``linear``: the configured order, every time;
* ``round_robin``: the configured order rotated to start after the step of the
  target this hotline last offered a call to (the board's rotation memory);
* ``least_recent``: the agent whose last connected hotline call, on any
  hotline, ended longest ago first (never = first), ties in configured order;
* ``random``: a fresh shuffle per call.

Whether a target is skipped is asked of the board when its turn comes, not
up front: an agent who becomes free during the hunt is dialled.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import replace

from hotline.agents.board import AgentBoard
from hotline.agents.devices import device_of_dial_string
from hotline.config import HotlineConfig, Target
from hotline.records import record

_SHUFFLE = random.Random()  # noqa: S311 - spreading load, not security


@record
class PlannedTarget:
    """One target of a hunt, with what the board and Dial need to know of it."""

    target: Target
    position: int  # 1-based in the hotline's target list
    agent: str  # the board's key: the device, else the dial string
    device: str | None
    dial_string: str
    ring_time: int
    delay: int = 0


@record
class PlannedStep:
    """Targets rung at the same time (one, in a hunt without steps)."""

    targets: tuple[PlannedTarget, ...]
    #: seconds the step rings (its targets' delays included)
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
        _planned(hotline, position, target)
        for position, target in enumerate(hotline.targets if targets is None else targets, 1)
    ]


def _planned(hotline: HotlineConfig, position: int, target: Target) -> PlannedTarget:
    # agent_key and device_for, with the dial string made once: once per call and target
    # (callgrind: 222k instructions per call of the benchmark's three targets before)
    dial_string = hotline.dial_string_for(target)
    device = target.device if target.device is not None else device_of_dial_string(dial_string)
    return PlannedTarget(
        target,
        position,
        device or dial_string,
        device,
        dial_string,
        hotline.ring_time_for(target),
        target.delay,
    )


def planned_steps(
    hotline: HotlineConfig, targets: Sequence[PlannedTarget] | None = None
) -> list[PlannedStep]:
    """``targets`` grouped into the hotline's steps, in configured order.

    Targets named in one ``[[hotlines.hunt.steps]]`` are one step (where the
    first of them stands in the list); any other target is a step of its own.
    ``targets`` may be fewer than the configured ones (a shift, opening hours).
    """
    items = list(targets if targets is not None else planned_targets(hotline))
    step_of = {n: i for i, step in enumerate(hotline.hunt.steps) for n in step.targets}
    groups: dict[object, list[PlannedTarget]] = {}
    for planned in items:
        key: object = step_of.get(planned.target.number, ("alone", planned.position))
        groups.setdefault(key, []).append(planned)
    steps = []
    for key, members in groups.items():
        if isinstance(key, int):
            configured = hotline.hunt.steps[key].ring_time
            ring = configured or max(m.ring_time + m.delay for m in members)
            steps.append(PlannedStep(tuple(members), ring))
        else:
            (only,) = members
            alone = only if only.delay == 0 else replace(only, delay=0)  # equal, and no copy
            steps.append(PlannedStep((alone,), only.ring_time))
    return steps


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
    steps: Sequence[PlannedStep] | None = None,
    rng: random.Random = _SHUFFLE,
) -> list[PlannedStep]:
    """The steps in the order this hotline's strategy offers them now."""
    items = list(steps if steps is not None else planned_steps(hotline))
    strategy = hotline.hunt.strategy
    if strategy == "round_robin":
        last = board.last_offered(hotline.name)
        for index, step in enumerate(items):
            if any(t.agent == last for t in step.targets):
                items = items[index + 1 :] + items[: index + 1]
                break
    elif strategy == "least_recent":

        def rested(step: PlannedStep) -> float:
            ended = [board.last_ended(t.agent) for t in step.targets]
            return min(float("-inf") if at is None else at for at in ended)

        items.sort(key=rested)  # stable: ties keep the configured order
    elif strategy == "random":
        rng.shuffle(items)
    return items
