"""``[pin_guard]``: how many failed PIN calls lock a caller out, and when to raise the alarm."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from hotline.config.fields import ConfigModel


class PinGuardConfig(ConfigModel):
    """Defaults: 5 failed calls from one number in 15 minutes lock it out for the rest of
    those 15 minutes; 20 failed calls to one hotline in 5 minutes raise the alarm."""

    #: failed PIN calls from one caller number that lock it out (0: never lock out)
    failed_calls: Annotated[int, Field(ge=0, le=1000)] = 5
    #: seconds a failed call counts against the caller number
    window: Annotated[float, Field(gt=0, le=7 * 86400)] = 900.0
    #: failed PIN calls to one hotline (any caller) that raise the alarm (0: no alarm);
    #: at most 1,000, what the store keeps per key (hotline/guard/store.py)
    alarm_failed_calls: Annotated[int, Field(ge=0, le=1000)] = 20
    #: seconds over which the alarm counts
    alarm_window: Annotated[float, Field(gt=0, le=86400)] = 300.0
