"""The ``[journal]`` section: where calls are stored, for how long, and how callers appear."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from hotline.config.fields import ConfigModel
from hotline.config.files import secret_from_file

CallerPrivacy = Literal["full", "masked", "hashed"]

_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+asyncpg")


class JournalConfig(ConfigModel):
    """The call journal (``hotline report`` reads it)."""

    enabled: bool = False
    #: the embedded SQLite file, created on first start (ignored when ``url`` is set)
    path: Path = Path("var/journal.sqlite")
    #: PostgreSQL for several runtimes: postgresql://user:password@host:5432/db (a secret:
    #: it may hold a password; ``url_file`` reads it from a file)
    url: SecretStr | None = None
    url_file: Path | None = None
    #: calls older than this many days are deleted
    keep_days: Annotated[int, Field(ge=1, le=36500)] = 365
    #: how caller numbers are stored: full, masked (last 3 digits kept) or hashed (HMAC)
    caller: CallerPrivacy = "masked"
    #: key of the ``hashed`` caller numbers; without it one is made and kept in the journal
    hash_key: SecretStr | None = None
    hash_key_file: Path | None = None
    #: calls kept in memory while the database cannot take them; beyond, the oldest are lost
    queue_size: Annotated[int, Field(ge=10, le=1_000_000)] = 50_000
    #: calls written in one transaction (each batch briefly holds the event loop: keep it small)
    batch_size: Annotated[int, Field(ge=1, le=10_000)] = 100
    #: how long a finished call may wait for others to share its transaction (seconds)
    flush_interval: Annotated[float, Field(ge=0, le=60)] = 1.0
    #: longest pause between retries while the database is unavailable (seconds)
    retry_max: Annotated[float, Field(gt=0, le=600)] = 30.0

    @model_validator(mode="before")
    @classmethod
    def _secrets_from_files(cls, data: Any) -> Any:
        return secret_from_file(secret_from_file(data, "url"), "hash_key")

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        try:
            parts = urlsplit(value.get_secret_value())
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            raise ValueError("is not a URL; use postgresql://user:password@host:5432/db") from None
        if parts.scheme not in _POSTGRES_SCHEMES:
            raise ValueError(
                "must be a PostgreSQL URL like postgresql://user:password@host:5432/db "
                "(for SQLite set journal.path instead)"
            )
        return value

    def database_url(self) -> str:
        """The SQLAlchemy URL with its async driver (aiosqlite or asyncpg)."""
        if self.url is None:
            return f"sqlite+aiosqlite:///{self.path}"
        url = self.url.get_secret_value()
        return "postgresql+asyncpg" + url[url.index(":") :]

    def where(self) -> str:
        """The database as logs and ``hotline check`` show it: never the password."""
        if self.url is None:
            return str(self.path)
        parts = urlsplit(self.url.get_secret_value())
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
        return f"postgresql://{host}{port}{parts.path}"
