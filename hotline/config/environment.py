"""``HOTLINE_…`` environment variables, overriding the TOML file (nested with ``__``)."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar

from pydantic_settings import BaseSettings, EnvSettingsSource
from pydantic_settings.sources.utils import parse_env_vars

#: environment variable naming the config file when no --config is given
CONFIG_ENV = "HOTLINE_CONFIG"
ENV_PREFIX = "HOTLINE_"

#: the environment a load uses (tests pass their own); None means os.environ
ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("hotline_config_environ", default=None)


class MappingEnvSource(EnvSettingsSource):
    """The ``HOTLINE_…`` environment source, reading a given mapping instead of os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(
            self._environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )
