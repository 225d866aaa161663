"""``[[hotlines]]``: who may call a hotline (PIN), what they hear, whom it hunts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import AfterValidator, Field, SecretStr, field_validator, model_validator

from hotline.config.fields import (
    ConfigModel,
    DialTemplate,
    Digit,
    Language,
    RingTime,
    SafeToken,
    absolute_path,
)
from hotline.config.files import secret_from_file
from hotline.config.hunt import HuntConfig, hunt_problems
from hotline.config.problems import nested_problems
from hotline.config.schedule import ScheduleConfig
from hotline.config.targets import FallbackConfig, Target
from hotline.prompts.catalogue import SLOT_NAMES


def _prompt_path(value: str) -> str:
    absolute_path(value, example="/var/lib/hotline/sounds/custom/support/intro")
    return value.removesuffix(".wav16").removesuffix(".wav")


def _prompt_slot(value: str) -> str:
    if value not in SLOT_NAMES:
        raise ValueError(f"{value!r} is not a prompt slot; valid slots: {', '.join(SLOT_NAMES)}")
    return value


def _hotline_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}", value):
        raise ValueError(
            f"{value!r} is not a usable name; use letters, digits, '-' and '_' "
            "(it becomes part of the AGI path hotline/<name>)"
        )
    return value


HotlineName = Annotated[str, AfterValidator(_hotline_name)]


class ConfirmConfig(ConfigModel):
    """What the agent must do to take a call (the callee leg's confirm flow)."""

    digit: Digit = "1"
    decline_digit: Digit = "2"
    #: seconds to wait for a key after each whisper
    timeout: Annotated[float, Field(gt=0, le=60)] = 5.0
    #: how many times the whisper is repeated when the agent presses nothing
    replays: Annotated[int, Field(ge=0, le=5)] = 2
    #: read the caller's number to the agent before asking
    announce_caller: bool = False

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if self.digit == self.decline_digit:
            raise ValueError(f"digit and decline_digit are both {self.digit!r}; make them differ")
        return self


class HotlineConfig(ConfigModel):
    """One hotline: who may call it (PIN), what they hear, whom it hunts."""

    name: HotlineName
    #: the dialplan entry that hands calls to this hotline (checked over AMI, used by `call`)
    context: SafeToken = "hotline-in"
    extension: SafeToken | None = None
    pin: SecretStr | None = None
    pin_file: Path | None = None
    pin_attempts: Annotated[int, Field(ge=1, le=10)] = 3
    #: seconds the caller has to type the PIN after the prompt
    pin_timeout: Annotated[float, Field(gt=0, le=60)] = 6.0
    language: Language = "en"
    #: admin recordings replacing default prompts: slot -> converted prompt (`hotline prompts
    #: convert` prints the path), absolute and without extension, the same on Asterisk's host
    prompts: dict[
        Annotated[str, AfterValidator(_prompt_slot)], Annotated[str, AfterValidator(_prompt_path)]
    ] = Field(default_factory=dict)
    moh_class: SafeToken = "default"
    dial: DialTemplate = "PJSIP/{number}"
    ring_time: RingTime = 20
    rounds: Annotated[int, Field(ge=1, le=10)] = 1
    #: total seconds a caller may wait in the hunt before the apology
    max_wait: Annotated[int, Field(ge=1, le=3600)] | None = None
    confirm: ConfirmConfig = Field(default_factory=ConfirmConfig)
    fallback: FallbackConfig | None = None
    #: strategy, skip rules and wrap-up (hotline/config/hunt.py)
    hunt: HuntConfig = Field(default_factory=HuntConfig)
    #: the targets when no shift of the schedule is active
    targets: Annotated[list[Target], Field(min_length=1)]
    #: opening hours, holidays and shifts (hotline/config/schedule.py); default: always open
    schedule: ScheduleConfig | None = None

    @model_validator(mode="before")
    @classmethod
    def _pin_from_file(cls, data: Any) -> Any:
        return secret_from_file(data, "pin")

    @field_validator("pin")
    @classmethod
    def _pin_digits(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            pin = value.get_secret_value()
            if not pin.isascii() or not pin.isdigit():
                raise ValueError("must contain digits only (0-9), as typed on a phone keypad")
            if not 1 <= len(pin) <= 16:
                raise ValueError("must have 1 to 16 digits")
        return value

    @field_validator("targets", mode="before")
    @classmethod
    def _targets_not_empty(cls, value: Any) -> Any:
        if isinstance(value, list) and not value:
            raise ValueError("is empty; list at least one target to dial")
        return value

    @model_validator(mode="after")
    def _hunt_fits_targets(self) -> Self:
        problems = hunt_problems(self.hunt, self.targets, self.ring_time_for)
        if problems:
            raise nested_problems(problems)
        return self

    def ring_time_for(self, target: Target) -> int:
        return target.ring_time if target.ring_time is not None else self.ring_time

    def dial_string_for(self, target: Target) -> str:
        return (target.dial or self.dial).replace("{number}", target.number)

    @property
    def pin_value(self) -> str | None:
        return self.pin.get_secret_value() if self.pin is not None else None
