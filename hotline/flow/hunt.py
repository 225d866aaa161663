"""The order in which targets are dialled: the list in order, ``rounds`` times."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from hotline.config import HotlineConfig, Target
from hotline.records import record


@record
class DialAttempt:
    """One planned dial: which target, in which round, for how long."""

    attempt: int  # 1-based over the whole hunt
    round: int  # 1-based
    position: int  # 1-based in the target list
    of: int  # number of targets in the list
    target: Target
    ring_time: int
    dial_string: str
    #: 1-based over the whole hunt; the legs of one parallel step share it
    hunt_step: int = 0
    #: seconds into its parallel step before this target rings
    delay: int = 0

    @property
    def label(self) -> str:
        return self.target.label or self.target.number


def hunt_plan(
    hotline: HotlineConfig, targets: Sequence[Target] | None = None
) -> Iterator[DialAttempt]:
    """Every dial the hunt may make, in order; the flow stops early on success or hang-up.

    ``targets`` is the list the call's schedule chose (a shift's, or those in their
    hours); default: the hotline's own.
    """
    targets = hotline.targets if targets is None else targets
    count = len(targets)
    attempt = 0
    for round_no in range(1, hotline.rounds + 1):
        for position, target in enumerate(targets, start=1):
            attempt += 1
            yield DialAttempt(
                attempt=attempt,
                round=round_no,
                position=position,
                of=count,
                target=target,
                ring_time=hotline.ring_time_for(target),
                dial_string=hotline.dial_string_for(target),
            )
