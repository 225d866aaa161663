"""Configuration: one TOML file, overridable by ``HOTLINE_…`` environment variables.

Loaded and validated once at startup into a frozen :class:`Settings` that is
passed explicitly to whatever needs it; there is no global settings object.

Precedence, highest first: environment (``HOTLINE_ASTERISK__SECRET``, nested
with ``__``), then the TOML file, then the defaults below.  Secrets (AMI
secret, PINs, license keys) may also come from files (``secret_file``,
``pin_file``, ``module_key_file``…, or ``HOTLINE_…_FILE`` in the environment)
so that they need not sit in the TOML: Docker and systemd secrets work as is.

Every problem is reported as one line naming the file, the field path
(``hotlines[1].targets[0].number``) and what is wrong; see :func:`load_settings`.
"""

from __future__ import annotations

import os
import re
import string
import tomllib
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.sources.utils import parse_env_vars

from hotline.errors import ConfigError
from hotline.logs import register_secrets
from hotline.prompts.catalogue import SLOT_NAMES

#: environment variable naming the config file when no --config is given
CONFIG_ENV = "HOTLINE_CONFIG"
DEFAULT_CONFIG_PATH = Path("config/hotline.toml")

#: characters that would break an AGI command line or a Dial argument list
_UNSAFE_CHARS = {
    "\n": "a newline",
    "\r": "a carriage return",
    "\0": "a NUL byte",
    '"': "a double quote",
    "'": "a single quote",
    "\\": "a backslash",
    " ": "a space",
    "\t": "a tab",
    ",": "a comma (Dial's argument separator)",
    "|": "a '|' (old argument separator)",
    "^": "a '^' (Gosub argument separator)",
    "$": "a '$' (dialplan expression)",
    "{": "a '{'",
    "}": "a '}'",
    ";": "a ';' (config comment)",
}

MAX_RING_TIME = 600

#: the environment a load uses (tests pass their own); None means os.environ
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("hotline_config_environ", default=None)


def _unsafe(value: str, allowed: str = "") -> str | None:
    """Name the first character of ``value`` that is unsafe on an AGI line."""
    for char in value:
        if char in _UNSAFE_CHARS and char not in allowed:
            return _UNSAFE_CHARS[char]
        if not char.isprintable():
            return f"the control character {char!r}"
    return None


def _safe_token(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    bad = _unsafe(value)
    if bad:
        raise ValueError(f"contains {bad}, which would break the AGI command line; remove it")
    return value


def _dialable(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9+*#._\-]+", value):
        bad = _unsafe(value)
        what = f"contains {bad}" if bad else f"{value!r} is not a dialable number"
        raise ValueError(f"{what}; use digits, letters and + * # . _ - only")
    return value


def _printable_label(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    if any(not c.isprintable() for c in value):
        raise ValueError("contains a newline or control character; use one line of text")
    return value


def _dial_template(value: str) -> str:
    """A dial string with exactly one field, ``{number}``."""
    fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
    if "number" not in fields:
        raise ValueError(f"{value!r} has no '{{number}}' placeholder, e.g. 'PJSIP/{{number}}'")
    others = sorted({f for f in fields if f != "number"})
    if others:
        raise ValueError(f"unknown placeholder(s) {others}; only '{{number}}' is replaced")
    bad = _unsafe(value.replace("{number}", ""))
    if bad:
        raise ValueError(f"contains {bad}, which would break the Dial command; remove it")
    return value


def _prompt_path(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(
            f"{value!r} must be an absolute path (as both this host and Asterisk see it), "
            "e.g. /var/lib/hotline/sounds/custom/support/intro"
        )
    _safe_token(value)
    return value.removesuffix(".wav16").removesuffix(".wav")


def _prompt_slot(value: str) -> str:
    if value not in SLOT_NAMES:
        raise ValueError(f"{value!r} is not a prompt slot; valid slots: {', '.join(SLOT_NAMES)}")
    return value


Port = Annotated[int, Field(ge=1, le=65535)]
RingTime = Annotated[int, Field(ge=1, le=MAX_RING_TIME, description="seconds")]
SafeToken = Annotated[str, AfterValidator(_safe_token)]
Dialable = Annotated[str, AfterValidator(_dialable)]
Label = Annotated[str, AfterValidator(_printable_label)]
DialTemplate = Annotated[str, AfterValidator(_dial_template)]
Digit = Annotated[str, Field(pattern=r"^[0-9*#]$")]


def _hotline_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}", value):
        raise ValueError(
            f"{value!r} is not a usable name; use letters, digits, '-' and '_' "
            "(it becomes part of the AGI path hotline/<name>)"
        )
    return value


HotlineName = Annotated[str, AfterValidator(_hotline_name)]
Language = Literal["de", "en"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class _Model(BaseModel):
    """Frozen, and unknown keys are errors: a typo must never pass silently."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _read_secret_file(data: Any, field: str) -> Any:
    """Fill ``field`` from ``<field>_file`` if that is given (Docker/systemd secrets)."""
    if not isinstance(data, dict):
        return data
    file_key = f"{field}_file"
    path = data.get(file_key)
    if path in (None, ""):
        return data
    if data.get(field) not in (None, ""):
        raise ValueError(f"both {field} and {file_key} are set; keep only one of them")
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ValueError(f"{file_key}: cannot read {path}: {reason}") from None
    if not text:
        raise ValueError(f"{file_key}: {path} is empty")
    return {**data, field: text}


class AsteriskConfig(_Model):
    """How to reach Asterisk's Manager Interface, and where it finds our prompts."""

    host: SafeToken = "127.0.0.1"
    port: Port = 5038
    username: SafeToken = "hotline"
    secret: SecretStr | None = None
    secret_file: Path | None = None
    #: the directory holding hotline's prompts as *Asterisk* sees it (shared volume)
    sounds_dir: str = "/var/lib/hotline/sounds"
    connect_timeout: Annotated[float, Field(gt=0, le=120)] = 5.0
    action_timeout: Annotated[float, Field(gt=0, le=120)] = 10.0
    #: when false, `run` serves calls without AMI (no startup checks, no event enrichment)
    enabled: bool = True

    @model_validator(mode="before")
    @classmethod
    def _secret_from_file(cls, data: Any) -> Any:
        return _read_secret_file(data, "secret")


class AgiConfig(_Model):
    """The FastAGI server Asterisk connects to."""

    bind: SafeToken = "127.0.0.1"
    port: Port = 4573
    header_timeout: Annotated[float, Field(gt=0, le=60)] = 5.0
    command_timeout: Annotated[float, Field(gt=0, le=600)] = 30.0
    drain_timeout: Annotated[float, Field(ge=0, le=3600)] = 30.0


class LicenseConfig(_Model):
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
        return _read_secret_file(_read_secret_file(data, "module_key"), "server_key")


class LoggingConfig(_Model):
    level: LogLevel = "INFO"
    format: Literal["auto", "json", "console"] = "auto"
    #: append JSON lines to this file instead of stdout
    file: Path | None = None

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class ConfirmConfig(_Model):
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


class FallbackConfig(_Model):
    """Dialplan destination after the apology, e.g. a voicemail box."""

    context: SafeToken
    extension: SafeToken = "s"
    priority: Annotated[int, Field(ge=1)] = 1
    #: play the ``fallback`` prompt ("please leave a message…") before going there
    announce: bool = True


class Target(_Model):
    """One agent to try: internal extension or external number."""

    number: Dialable
    label: Label | None = None
    ring_time: RingTime | None = None
    #: dial string template overriding the hotline's, e.g. "Local/{number}@from-external"
    dial: DialTemplate | None = None


class HotlineConfig(_Model):
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
    targets: Annotated[list[Target], Field(min_length=1)]

    @model_validator(mode="before")
    @classmethod
    def _pin_from_file(cls, data: Any) -> Any:
        return _read_secret_file(data, "pin")

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

    def ring_time_for(self, target: Target) -> int:
        return target.ring_time if target.ring_time is not None else self.ring_time

    def dial_string_for(self, target: Target) -> str:
        return (target.dial or self.dial).replace("{number}", target.number)

    @property
    def pin_value(self) -> str | None:
        return self.pin.get_secret_value() if self.pin is not None else None


class Settings(BaseSettings):
    """The whole runtime configuration, validated once and frozen."""

    model_config = SettingsConfigDict(
        env_prefix="HOTLINE_",
        env_nested_delimiter="__",
        frozen=True,
        extra="forbid",
        case_sensitive=False,
    )

    asterisk: AsteriskConfig = Field(default_factory=AsteriskConfig)
    agi: AgiConfig = Field(default_factory=AgiConfig)
    license: LicenseConfig = Field(default_factory=LicenseConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    hotlines: Annotated[list[HotlineConfig], Field(min_length=1)]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file arrives as init values; the environment overrides it.
        environ = _ENVIRON.get()
        if environ is not None:
            env_settings = _MappingEnvSource(settings_cls, environ)
        return (env_settings, init_settings)

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

    def secrets(self) -> list[str]:
        """Every secret value in this configuration, for log redaction."""
        values = [self.asterisk.secret, self.license.module_key, self.license.server_key]
        values += [h.pin for h in self.hotlines]
        return [v.get_secret_value() for v in values if v is not None]


def config_path(cli_value: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> Path:
    """The config file: ``--config`` first, then ``$HOTLINE_CONFIG``, then the default."""
    if cli_value:
        return Path(cli_value)
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    return DEFAULT_CONFIG_PATH


def _field_path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


#: pydantic error kinds whose message reads better with the offending value
_SHOW_INPUT = frozenset(
    {"greater_than_equal", "less_than_equal", "greater_than", "less_than", "literal_error"}
)


def _describe(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key (a typo?); remove it or check the spelling against config/hotline.toml"
    if kind == "missing":
        return "is required but missing"
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if kind in (
        "greater_than_equal",
        "less_than_equal",
        "greater_than",
        "less_than",
        "literal_error",
    ):
        message = f"{message} (got {error.get('input')!r})"
    return message


def format_validation_error(exc: ValidationError, source: str) -> list[str]:
    """One line per problem: ``<file>: <field path>: <what is wrong>``."""
    lines = []
    for error in exc.errors(include_url=False):
        # union members add their type name to the location; drop it
        loc = [p for p in error["loc"] if p not in ("function-after[_safe_token(), str]",)]
        loc = [p for p in loc if not (isinstance(p, str) and p.startswith(("function-", "constr")))]
        message = _describe(error)
        path = _field_path(loc)
        if message.startswith("hotlines[") and ":" in message:
            # a model-level check that already names its field
            path, message = message.split(": ", 1)
        lines.append(f"{source}: {path or '(top level)'}: {message}")
    return lines


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
        if name.upper().startswith("HOTLINE_") and name.upper() != CONFIG_ENV
    }
    unknown_env = _unknown_env(env)
    if unknown_env:
        raise ConfigError(
            [f"environment: {name}: unknown setting (a typo?)" for name in unknown_env]
        )
    return _validated(data, env, source)


_SECTIONS = ("ASTERISK", "AGI", "LICENSE", "LOGGING", "HOTLINES")


def _unknown_env(env: Mapping[str, str]) -> list[str]:
    """``HOTLINE_…`` variables that name no setting: typos must not pass silently."""
    unknown = []
    for name in env:
        upper = name.upper()
        if not upper.startswith("HOTLINE_") or upper == CONFIG_ENV:
            continue
        section = upper.removeprefix("HOTLINE_").split("__", 1)[0]
        if section not in _SECTIONS:
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
    token = _ENVIRON.set(env)
    try:
        return Settings(**data)
    finally:
        _ENVIRON.reset(token)


class _MappingEnvSource(EnvSettingsSource):
    """The ``HOTLINE_…`` environment source, reading a given mapping instead of os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(
            self._environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )
