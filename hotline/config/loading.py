"""Finding, reading and validating the configuration file, with the environment on top."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hotline.config.environment import CONFIG_ENV, ENV_PREFIX, ENVIRON
from hotline.config.problems import format_validation_error
from hotline.config.settings import Settings
from hotline.errors import ConfigError
from hotline.logs import register_secrets

DEFAULT_CONFIG_PATH = Path("config/hotline.toml")


def config_path(cli_value: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> Path:
    """The config file: ``--config`` first, then ``$HOTLINE_CONFIG``, then the default."""
    if cli_value:
        return Path(cli_value)
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    return DEFAULT_CONFIG_PATH


def _line_of(raw: bytes, offset: int) -> int:
    return raw[:offset].count(b"\n") + 1


def load_settings(path: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, validate and freeze the configuration; raise :class:`ConfigError` with every problem.

    ``environ`` defaults to the process environment; tests pass their own.
    """
    source = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            [f"{source}: config file not found; copy config/hotline.toml or pass --config PATH"]
        ) from None
    except IsADirectoryError:
        raise ConfigError([f"{source}: is a directory, not a config file"]) from None
    except OSError as exc:
        raise ConfigError([f"{source}: cannot read config file: {exc.strerror}"]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [f"{source}: not UTF-8 text (line {_line_of(raw, exc.start)}); save the file as UTF-8"]
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{source}: TOML syntax error: {exc}"]) from None

    env = {
        name: value
        for name, value in (os.environ if environ is None else environ).items()
        if name.upper().startswith(ENV_PREFIX) and name.upper() != CONFIG_ENV
    }
    unknown_env = _unknown_env(env)
    if unknown_env:
        raise ConfigError(
            [f"environment: {name}: unknown setting (a typo?)" for name in unknown_env]
        )
    return _validated(data, env, source)


def _unknown_env(env: Mapping[str, str]) -> list[str]:
    """``HOTLINE_…`` variables that name no setting: typos must not pass silently."""
    unknown = []
    for name in env:
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper == CONFIG_ENV:
            continue
        section = upper.removeprefix(ENV_PREFIX).split("__", 1)[0]
        if section.lower() not in Settings.model_fields:
            unknown.append(name)
    return sorted(unknown)


def settings_from_mapping(
    data: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> Settings:
    """Settings from already-parsed data (the demo, tests); raises :class:`ConfigError`."""
    return _validated(dict(data), environ or {}, "<settings>")


def _validated(data: dict[str, Any], env: Mapping[str, str], source: str) -> Settings:
    """Validate into frozen settings (one line per problem) and register their secrets."""
    try:
        settings = _build(data, env)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None
    register_secrets(settings.secrets())
    return settings


def _build(data: dict[str, Any], env: Mapping[str, str]) -> Settings:
    """Build settings from TOML data, with ``env`` standing in for the process environment."""
    token = ENVIRON.set(env)
    try:
        return Settings(**data)
    finally:
        ENVIRON.reset(token)
