"""``[state]``: where the state shared by several runtimes lives (Redis), if anywhere.

Unset (the default), everything a runtime learns across calls (who is on a
hotline call, wrap-up, rotation, PIN lockouts, the live calls) stays in its
own process, exactly as with one runtime.  Set ``redis_url`` to share it
between runtimes behind ``hagi://`` (hotline/shared_state/, README "Several runtimes").
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from hotline.config.fields import ConfigModel
from hotline.config.files import secret_from_file

_RUNTIME_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def default_runtime_id() -> str:
    """``<host>-<pid>``: unique among the runtimes sharing one Redis."""
    host = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname())[:40] or "host"
    return f"{host}-{os.getpid()}"


class StateConfig(ConfigModel):
    """Redis for shared state; a call waits on a Redis round trip at most ``timeout``."""

    #: ``redis://host:6379/0``, ``rediss://…`` (TLS) or ``unix:///run/redis.sock``;
    #: unset = everything stays in this process
    redis_url: SecretStr | None = None
    #: a file holding the whole URL (when it carries a password)
    redis_url_file: Path | None = None
    #: the Redis password (AUTH), or ``redis_password_file`` (Docker/systemd secrets)
    redis_password: SecretStr | None = None
    redis_password_file: Path | None = None
    #: seconds one Redis round trip may take before this runtime uses its local view
    timeout: Annotated[float, Field(gt=0, le=5)] = 0.25
    #: seconds a runtime's entries (calls in progress, agents it rings) outlive its last
    #: heartbeat: a crashed runtime's entries are gone this long after it died
    ttl: Annotated[float, Field(ge=3, le=3600)] = 15.0
    #: prefix of every key, so several installations can share one Redis
    key_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,40}$")] = "hotline"
    #: this runtime's name in Redis and on the live page (default: host name and pid)
    runtime_id: str = Field(default_factory=default_runtime_id)

    @model_validator(mode="before")
    @classmethod
    def _secret_files(cls, data: Any) -> Any:
        return secret_from_file(secret_from_file(data, "redis_password"), "redis_url")

    @field_validator("redis_url")
    @classmethod
    def _known_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        try:
            parts = urlsplit(value.get_secret_value())
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            raise ValueError("is not a URL; use redis://host:6379/0") from None
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise ValueError(
                f"scheme {parts.scheme or '(none)'!r} is not redis://, rediss:// or unix://"
            )
        if parts.scheme != "unix" and not parts.hostname:
            raise ValueError("has no host; use redis://host:6379/0")
        return value

    @field_validator("runtime_id")
    @classmethod
    def _plain_id(cls, value: str) -> str:
        if not _RUNTIME_ID.fullmatch(value):
            raise ValueError("may hold only letters, digits, '.', '_' and '-' (1-64)")
        return value

    @property
    def shared(self) -> bool:
        return self.redis_url is not None

    def where(self) -> str:
        """The Redis address for log lines: host and port, never a password."""
        if self.redis_url is None:
            return "in-process"
        parts = urlsplit(self.redis_url.get_secret_value())
        if parts.scheme == "unix":
            return f"unix:{parts.path}"
        return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}"
