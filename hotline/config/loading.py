"""Finding, reading and validating the configuration file, with the environment on top."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hotline.config.environment import CONFIG_ENV, env_values, origins, overlay
from hotline.config.files import CONFIG_FILE_LIMIT
from hotline.config.problems import format_validation_error
from hotline.config.settings import Settings
from hotline.errors import ConfigError
from hotline.smallfile import FileRefused, read_small_file

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
        raw = read_small_file(path, CONFIG_FILE_LIMIT)
    except FileRefused as exc:
        if exc.missing:
            raise ConfigError(
                [f"{source}: config file not found; copy config/hotline.toml or pass --config PATH"]
            ) from None
        raise ConfigError([f"{source}: cannot read config file: {exc}"]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [f"{source}: not UTF-8 text (line {_line_of(raw, exc.start)}); save the file as UTF-8"]
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{source}: TOML syntax error: {exc}"]) from None
    except RecursionError:
        raise ConfigError(
            [
                f"{source}: tables or arrays are nested too deeply (hundreds of levels); "
                "write the settings as the example config/hotline.toml does"
            ]
        ) from None
    return _validated(data, os.environ if environ is None else environ, source)


def settings_from_mapping(
    data: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> Settings:
    """Settings from already-parsed data (the demo, tests); raises :class:`ConfigError`."""
    return _validated(data, environ or {}, "<settings>")


def _validated(data: Mapping[str, Any], environ: Mapping[str, str], source: str) -> Settings:
    """Lay the environment over ``data`` and validate the result once into frozen settings
    (one line per problem, naming the variable or the file)."""
    values = env_values(environ, Settings)
    try:
        settings = Settings.model_validate(overlay(data, values))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source, origins(values))) from None
    return settings
