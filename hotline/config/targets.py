"""Whom a hotline dials (a target) and where a call goes next in the dialplan (a destination).

Used by ``[[hotlines]]`` and by its schedule's shifts and ``closed`` destination.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from hotline.agents.devices import valid_device
from hotline.config.fields import ConfigModel, Dialable, DialTemplate, Label, RingTime, SafeToken
from hotline.schedule.ranges import WeeklyHours


class FallbackConfig(ConfigModel):
    """Dialplan destination after the apology, e.g. a voicemail box."""

    context: SafeToken
    extension: SafeToken = "s"
    priority: Annotated[int, Field(ge=1)] = 1
    #: play the ``fallback`` prompt ("please leave a message…") before going there
    announce: bool = True


class Target(ConfigModel):
    """One agent to try: internal extension or external number."""

    number: Dialable
    label: Label | None = None
    ring_time: RingTime | None = None
    #: dial string template overriding the hotline's, e.g. "Local/{number}@from-external"
    dial: DialTemplate | None = None
    #: the PBX device whose state says whether this agent is free ("PJSIP/201",
    #: "Custom:agent201"); default: derived from the dial string when it names one
    device: Annotated[str, AfterValidator(valid_device)] | None = None
    #: seconds after its step starts before this target rings (within a step of several)
    delay: Annotated[int, Field(ge=0, le=600)] = 0
    #: when this target may be dialled, e.g. ["Mon-Fri 08:00-17:00"]; default: always
    hours: WeeklyHours | None = None
