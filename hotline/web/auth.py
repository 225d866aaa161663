"""Who may read the page and ``/metrics``: nobody unchecked beyond this machine.

With credentials configured (``[http]`` token, or user and password) every
request must carry them, bound to loopback or not; without them the config
only allows a loopback bind (:mod:`hotline.config.http`).  Accepted forms:

* ``Authorization: Bearer <token>`` (Prometheus' ``authorization`` setting);
* HTTP basic: ``user:password``, or with a token any user name and the token as
  the password, so that a browser's own login prompt works for both.

Secrets are compared as SHA-256 digests with :func:`hmac.compare_digest`: the
time taken says nothing about how much of a guess was right, not even its
length.  A refused request gets 401 and a body that says only that.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from hotline.config.http import HttpConfig

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REALM = 'Basic realm="hotline", charset="UTF-8"'


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def _same(given: str, expected: bytes) -> bool:
    return hmac.compare_digest(_digest(given), expected)


class Credentials:
    """The configured secrets, as digests (the plain values are not kept here)."""

    def __init__(self, config: HttpConfig) -> None:
        self._token = _digest(config.token.get_secret_value()) if config.token else None
        self._user = _digest(config.user) if config.user else None
        self._password = _digest(config.password.get_secret_value()) if config.password else None

    @property
    def required(self) -> bool:
        return self._token is not None or self._password is not None

    def allows(self, authorization: str | None) -> bool:
        """True when the ``Authorization`` header carries valid credentials."""
        if not self.required:
            return True
        if not authorization:
            return False
        scheme, _, value = authorization.strip().partition(" ")
        value = value.strip()
        scheme = scheme.lower()
        if scheme == "bearer":
            return self._token is not None and _same(value, self._token)
        if scheme != "basic":
            return False
        try:
            user, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        if not sep:
            return False
        ok = False
        if self._token is not None:
            ok = _same(password, self._token)
        if self._user is not None and self._password is not None:
            # both compared every time: which one was wrong takes no other time
            user_ok = _same(user, self._user)
            password_ok = _same(password, self._password)
            ok = ok or (user_ok and password_ok)
        return ok


def unauthorized() -> web.Response:
    return web.Response(
        status=401,
        text="401: authentication required\n",
        headers={"WWW-Authenticate": REALM, "Cache-Control": "no-store"},
    )


def auth_middleware(credentials: Credentials) -> Middleware:
    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not credentials.allows(request.headers.get("Authorization")):
            return unauthorized()
        return await handler(request)

    return check
