"""The root of the configuration: one field per section."""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import Field, field_validator, model_validator

from hotline.config.control import ControlConfig
from hotline.config.fields import ConfigModel
from hotline.config.hotlines import HotlineConfig
from hotline.config.http import HttpConfig
from hotline.config.journal import JournalConfig
from hotline.config.metrics import MetricsConfig
from hotline.config.pin_guard import PinGuardConfig
from hotline.config.sections import AgiConfig, AsteriskConfig, LicenseConfig, LoggingConfig
from hotline.config.state import StateConfig


class Settings(ConfigModel):
    """The whole runtime configuration, validated once and frozen.

    Each field is a section (``[agi]``, ``[[hotlines]]``…) and the name of its
    ``HOTLINE_<SECTION>__…`` environment variables.
    """

    asterisk: AsteriskConfig = Field(default_factory=AsteriskConfig)
    agi: AgiConfig = Field(default_factory=AgiConfig)
    license: LicenseConfig = Field(default_factory=LicenseConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    pin_guard: PinGuardConfig = Field(default_factory=PinGuardConfig)
    control: ControlConfig = Field(default_factory=ControlConfig)
    journal: JournalConfig = Field(default_factory=JournalConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    state: StateConfig = Field(default_factory=StateConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    hotlines: Annotated[list[HotlineConfig], Field(min_length=1)]

    @field_validator("hotlines", mode="before")
    @classmethod
    def _hotlines_not_empty(cls, value: Any) -> Any:
        if isinstance(value, list) and not value:
            raise ValueError("is empty; define at least one [[hotlines]] table")
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        seen: dict[str, int] = {}
        for index, hotline in enumerate(self.hotlines):
            key = hotline.name.lower()
            if key in seen:
                raise ValueError(
                    f"hotlines[{index}].name: {hotline.name!r} is already used by "
                    f"hotlines[{seen[key]}]; hotline names must be unique"
                )
            seen[key] = index
        return self

    def hotline(self, name: str) -> HotlineConfig:
        for hotline in self.hotlines:
            if hotline.name == name:
                return hotline
        raise KeyError(name)
