"""The runtime's own sections: ``[asterisk]``, ``[agi]``, ``[license]`` and ``[logging]``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from hotline.agi.limits import DEFAULT_MAX_CONNECTIONS
from hotline.config.fields import AbsolutePath, ConfigModel, LogLevel, Port, SafeToken
from hotline.config.files import secret_from_file


class AsteriskConfig(ConfigModel):
    """How to reach Asterisk's Manager Interface, and where it finds our prompts."""

    host: SafeToken = "127.0.0.1"
    port: Port = 5038
    username: SafeToken = "hotline"
    secret: SecretStr | None = None
    secret_file: Path | None = None
    #: the directory holding hotline's prompts as *Asterisk* sees it (shared volume)
    sounds_dir: AbsolutePath = "/var/lib/hotline/sounds"
    connect_timeout: Annotated[float, Field(gt=0, le=120)] = 5.0
    action_timeout: Annotated[float, Field(gt=0, le=120)] = 10.0
    #: when false, `run` serves calls without AMI (no startup checks, no event enrichment)
    enabled: bool = True

    @model_validator(mode="before")
    @classmethod
    def _secret_from_file(cls, data: Any) -> Any:
        return secret_from_file(data, "secret")


class AgiConfig(ConfigModel):
    """The FastAGI server Asterisk connects to."""

    bind: SafeToken = "127.0.0.1"
    port: Port = 4573
    header_timeout: Annotated[float, Field(gt=0, le=60)] = 5.0
    command_timeout: Annotated[float, Field(gt=0, le=600)] = 30.0
    drain_timeout: Annotated[float, Field(ge=0, le=3600)] = 30.0
    #: FastAGI connections open at once (a call is two); accepting pauses at the cap
    max_connections: Annotated[int, Field(ge=1, le=1_000_000)] = DEFAULT_MAX_CONNECTIONS


class LicenseConfig(ConfigModel):
    """The module license key and the installation it must be bound to."""

    module_key: SecretStr | None = None
    module_key_file: Path | None = None
    #: the PBX's server license key; when unset the identity is read over AMI
    server_key: SecretStr | None = None
    server_key_file: Path | None = None
    #: global dialplan variable that may hold the server license key on the PBX
    server_key_variable: SafeToken = "HOTLINE_SERVER_KEY"

    @model_validator(mode="before")
    @classmethod
    def _keys_from_files(cls, data: Any) -> Any:
        return secret_from_file(secret_from_file(data, "module_key"), "server_key")


class LoggingConfig(ConfigModel):
    level: LogLevel = "INFO"
    format: Literal["auto", "json", "console"] = "auto"
    #: append JSON lines to this file instead of stdout
    file: Path | None = None

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("file")
    @classmethod
    def _appendable(cls, value: Path | None) -> Path | None:
        """Refuse what ``run`` could not append to: a directory, a FIFO (opening it would
        wait for a reader), a file in a directory that does not exist."""
        if value is None:
            return value
        if "\0" in str(value):
            raise ValueError("contains a NUL byte; name a file")
        if value.is_dir():
            raise ValueError(
                f"{value} is a directory; name a file in it, e.g. {value / 'hotline.log'}"
            )
        if value.is_fifo() or value.is_socket():
            raise ValueError(f"{value} is a FIFO or a socket; name a regular file")
        if not value.parent.is_dir():
            what = "is not a directory" if value.parent.exists() else "does not exist"
            raise ValueError(
                f"the directory {value.parent} {what}; create it or name a file in "
                "an existing directory"
            )
        return value
