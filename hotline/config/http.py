"""The ``[http]`` section: the runtime's one web address (live page, ``/metrics``).

Loopback by default.  Bound anywhere else it must name credentials (a token,
or a user and a password, each also from a ``*_file``): the config is refused
otherwise, so ``hotline run`` never serves the page unauthenticated to a network.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import Field, SecretStr, model_validator

from hotline.config.fields import ConfigModel, SafeToken
from hotline.config.files import secret_from_file

#: a secret shorter than this is refused (a token or password guessed in a few tries)
MIN_SECRET_LENGTH = 12


def is_loopback(host: str) -> bool:
    """True for an address only this machine reaches (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class HttpConfig(ConfigModel):
    """The live page and ``/metrics``, served by ``hotline run`` in its event loop.

    The server runs when ``page`` or ``[metrics] enabled`` asks for it.
    """

    #: the live page at ``/`` (calls in progress, agents, today's numbers)
    page: bool = False
    bind: SafeToken = "127.0.0.1"
    #: 0 picks a free port (tests)
    port: Annotated[int, Field(ge=0, le=65535)] = 9464
    #: a bearer token (``Authorization: Bearer``; in a browser: any user name, the token
    #: as the password)
    token: SecretStr | None = None
    token_file: Path | None = None
    #: HTTP basic authentication (a browser asks for them)
    user: SafeToken | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    #: the page's language when the browser names neither English nor German first
    language: Literal["en", "de"] = "en"

    @model_validator(mode="before")
    @classmethod
    def _secrets_from_files(cls, data: Any) -> Any:
        return secret_from_file(secret_from_file(data, "token"), "password")

    @model_validator(mode="after")
    def _credentials(self) -> Self:
        for name in ("token", "password"):
            secret: SecretStr | None = getattr(self, name)
            if secret is not None and len(secret.get_secret_value()) < MIN_SECRET_LENGTH:
                raise ValueError(f"{name}: must be at least {MIN_SECRET_LENGTH} characters long")
        if (self.user is None) != (self.password is None):
            raise ValueError("password: set http.user and http.password together (or neither)")
        if not is_loopback(self.bind) and not self.authenticated:
            raise ValueError(
                f"bind: {self.bind} is reachable from other machines; set http.token "
                "(or http.user and http.password, or their *_file) or bind 127.0.0.1"
            )
        return self

    @property
    def authenticated(self) -> bool:
        """True when requests must carry credentials."""
        return self.token is not None or self.password is not None

    def url(self, port: int | None = None, path: str = "/") -> str:
        host = f"[{self.bind}]" if ":" in self.bind else self.bind
        return f"http://{host}:{self.port if port is None else port}{path}"
