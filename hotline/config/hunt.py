"""``[hotlines.hunt]``: how a hotline picks whom to ring (strategy, skipping, wrap-up).

The hotline gets one field, ``hunt``; the agent board (hotline/agents/) reads it.
"""

from __future__ import annotations

from typing import Annotated, Literal

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


class HuntConfig(ConfigModel):
    """The hunt's policy; the defaults hunt the way an admin would expect."""

    strategy: Strategy = "linear"
    #: seconds an agent is not offered hotline calls after a connected call of this hotline
    wrap_up: Annotated[int, Field(ge=0, le=_MAX_SECONDS)] = 0
    skip: SkipRules = Field(default_factory=SkipRules)

    def describe(self) -> str:
        parts = [f"strategy {self.strategy}", f"skip {self.skip.describe()}"]
        if self.wrap_up:
            parts.append(f"wrap-up {self.wrap_up}s")
        return ", ".join(parts)
