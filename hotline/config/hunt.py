"""``[hotlines.hunt]``: how a hotline picks whom to ring (strategy, skipping, steps, wrap-up).

The hotline gets one field, ``hunt``; the agent board (hotline/agents/) reads
it.  The checks that need the hotline's target list (a step naming an unknown
target, a target in two steps, a delay that outlasts its step) are in
:func:`hunt_problems`, which the hotline's validator calls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Literal, Protocol, TypeVar

from pydantic import Field

from hotline.config.fields import ConfigModel

Strategy = Literal["linear", "round_robin", "least_recent", "random"]
STRATEGIES: tuple[str, ...] = ("linear", "round_robin", "least_recent", "random")

_MAX_SECONDS = 3600


class SkipRules(ConfigModel):
    """Which agents a hunt passes over without dialling (no ring time, no ``max_wait``)."""

    #: the device is UNAVAILABLE (e.g. an unregistered PJSIP endpoint) or INVALID
    unavailable: bool = True
    #: the device is INUSE, BUSY, ONHOLD or RINGINUSE (on any call, hotline or not)
    busy: bool = True
    #: the device is RINGING for some other call
    ringing: bool = False
    #: the agent is ringing, confirming or connected on a hotline call of this runtime
    on_hotline_call: bool = True
    #: the agent is in the wrap-up time after a connected hotline call
    wrap_up: bool = True

    def describe(self) -> str:
        names = [name for name, on in self.model_dump().items() if on]
        return ", ".join(names) if names else "nothing"


class StepConfig(ConfigModel):
    """Targets rung at the same time; each answering agent confirms on their own leg."""

    #: target numbers, as in ``[[hotlines.targets]]``
    targets: Annotated[list[str], Field(min_length=1)]
    #: seconds the step rings; default: the longest target ring time plus its delay
    ring_time: Annotated[int, Field(ge=1, le=600)] | None = None


class HuntConfig(ConfigModel):
    """The hunt's policy; the defaults hunt the way an admin would expect."""

    strategy: Strategy = "linear"
    #: seconds an agent is not offered hotline calls after a connected call of this hotline
    wrap_up: Annotated[int, Field(ge=0, le=_MAX_SECONDS)] = 0
    skip: SkipRules = Field(default_factory=SkipRules)
    #: groups of targets rung at once; without steps every target is its own step
    steps: list[StepConfig] = Field(default_factory=list)

    def describe(self) -> str:
        parts = [f"strategy {self.strategy}", f"skip {self.skip.describe()}"]
        if self.wrap_up:
            parts.append(f"wrap-up {self.wrap_up}s")
        if self.steps:
            steps = [
                "+".join(step.targets) + (f" {step.ring_time}s" if step.ring_time else "")
                for step in self.steps
            ]
            parts.append(f"steps {' | '.join(steps)}")
        return ", ".join(parts)


class _Target(Protocol):
    @property
    def number(self) -> str: ...
    @property
    def delay(self) -> int: ...


T = TypeVar("T", bound=_Target)


def step_ring_time(step: StepConfig, targets: Sequence[T], ring_time_of: Callable[[T], int]) -> int:
    """How long a step rings: its own ``ring_time``, else the longest target's ring + delay."""
    if step.ring_time is not None:
        return step.ring_time
    return max(ring_time_of(t) + t.delay for t in targets)


def hunt_problems(
    hunt: HuntConfig,
    targets: Sequence[T],
    ring_time_of: Callable[[T], int],
) -> list[tuple[str, str]]:
    """(field path below the hotline, what is wrong) for each cross-field problem."""
    problems: list[tuple[str, str]] = []
    by_number = {t.number: t for t in targets}
    in_step: dict[str, int] = {}
    for index, step in enumerate(hunt.steps):
        members: list[T] = []
        for number in step.targets:
            where = f"hunt.steps[{index}].targets"
            if number not in by_number:
                problems.append(
                    (
                        where,
                        f"{number!r} is not one of this hotline's targets; add it to "
                        "[[hotlines.targets]] or fix the number",
                    )
                )
                continue
            if number in in_step:
                problems.append(
                    (
                        where,
                        f"{number!r} is already in hunt.steps[{in_step[number]}]; "
                        "a target belongs to one step",
                    )
                )
                continue
            in_step[number] = index
            members.append(by_number[number])
        if not members:
            continue
        ring = step_ring_time(step, members, ring_time_of)
        for target in members:
            if target.delay >= ring:
                position = list(by_number).index(target.number)
                problems.append(
                    (
                        f"targets[{position}].delay",
                        f"{target.delay} s is not shorter than the ring time of "
                        f"hunt.steps[{index}] ({ring} s), so {target.number} would never ring; "
                        "shorten the delay",
                    )
                )
    for position, target in enumerate(targets):
        if hunt.steps and target.number not in in_step:
            problems.append(
                (
                    f"targets[{position}]",
                    f"{target.number!r} is in no step; list it in one [[hotlines.hunt.steps]] "
                    "(a step of one target rings it alone)",
                )
            )
        elif target.delay and not _in_parallel_step(hunt, target.number):
            problems.append(
                (
                    f"targets[{position}].delay",
                    "only applies within a step of several targets; remove it or put the "
                    "target in such a step",
                )
            )
    return problems


def _in_parallel_step(hunt: HuntConfig, number: str) -> bool:
    return any(number in step.targets and len(step.targets) > 1 for step in hunt.steps)
