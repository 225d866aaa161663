"""Offline verification of a module key, and the guard that enforces a demo's expiry.

Order of checks: is it a module key at all (or the server key pasted by
mistake), is it typed correctly (checksum), did the vendor sign it, and only
then what it says — product, installation, major version, expiry.  The payload
is parsed only once its signature is known to be the vendor's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

import hotline
from hotline.licensing.codec import PRODUCT, SignedKey, compact, decode_payload, unpack_key
from hotline.licensing.errors import (
    BadSignatureError,
    ExpiredError,
    MissingKeyError,
    NoInstallationIdentityError,
    ServerKeyPastedError,
    VersionTooOldError,
    WrongInstallationError,
    WrongProductError,
)
from hotline.licensing.keys import vendor_public_key
from hotline.licensing.model import InstallationIdentity, License, LicenseKind
from hotline.logs import get_logger

log = get_logger()

Clock = Callable[[], date]


def current_major(version: str | None = None) -> int:
    """Major version of the running hotline (``1`` for ``1.4.2``)."""
    return int((version or hotline.__version__).split(".")[0])


def describe(lic: License) -> str:
    """One line for logs and ``check``: whom, which kind (NFR always marked), until when."""
    whom = lic.licensee or "an unnamed licensee"
    until = f"until {lic.expires.isoformat()}" if lic.expires else "with no expiry"
    kind = "NFR (not for resale)" if lic.kind is LicenseKind.NFR else lic.kind.label
    return f"licensed to {whom}, kind {kind}, {until}, for hotline up to major {lic.max_major}"


def log_fields(lic: License) -> dict[str, object]:
    """Fields every log line about the license carries, so NFR is visible in each one."""
    return {
        "licensee": lic.licensee,
        "kind": lic.kind.label,
        "expires": lic.expires.isoformat() if lic.expires else None,
        "max_major": lic.max_major,
    }


class LicenseVerifier:
    """Checks module keys against one trusted public key (the embedded vendor key by default)."""

    def __init__(
        self, public_key: Ed25519PublicKey | None = None, *, clock: Clock = date.today
    ) -> None:
        self._public_key = public_key if public_key is not None else vendor_public_key()
        self._clock = clock

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The key this verifier trusts."""
        return self._public_key

    def signature_valid(self, signed: SignedKey) -> bool:
        """True when the trusted key signed this payload."""
        try:
            self._public_key.verify(signed.signature, signed.message)
        except InvalidSignature:
            return False
        return True

    def verify(
        self, key_text: str, identity: InstallationIdentity, product_major: int | None = None
    ) -> License:
        """What ``key_text`` licenses on this installation today, or a LicenseError saying why not.

        ``product_major`` defaults to the running hotline's major version.
        """
        major = product_major if product_major is not None else current_major()
        if not compact(key_text):
            raise MissingKeyError()
        if identity.is_server_key(key_text):
            raise ServerKeyPastedError()
        signed = unpack_key(key_text)
        if not self.signature_valid(signed):
            raise BadSignatureError()
        lic = decode_payload(signed.payload)
        if lic.product != PRODUCT:
            raise WrongProductError(lic.product)
        if identity.is_empty:
            raise NoInstallationIdentityError()
        if not lic.covers(identity):
            raise WrongInstallationError(
                [str(h) for h in identity.hashes], [str(h) for h in lic.installations]
            )
        if lic.max_major < major:
            raise VersionTooOldError(lic.max_major, major)
        today = self._clock()
        if lic.expires is not None and lic.expired_on(today):
            raise ExpiredError(lic.kind.label, lic.expires, today)
        return lic

    def describe(self, lic: License) -> str:
        """See :func:`describe`."""
        return describe(lic)


class LicenseGuard:
    """Lets the running server take new calls only while the license has not expired.

    Calls already in progress are not this guard's business: the caller asks
    before accepting each new call.  Expiry is sticky and logged once.
    """

    def __init__(self, lic: License, *, clock: Clock = date.today) -> None:
        self.license = lic
        self._clock = clock
        self._expired = False

    def allows_new_calls(self) -> bool:
        """False from the first day after ``expires``; logs ``license_expired`` the first time."""
        if self._expired:
            return False
        if not self.license.expired_on(self._clock()):
            return True
        self._expired = True
        log.warning(
            "license_expired",
            action="refusing new calls; calls in progress continue",
            **log_fields(self.license),
        )
        return False


def check_license(
    module_key: str | None,
    identity: InstallationIdentity,
    *,
    verifier: LicenseVerifier | None = None,
    product_major: int | None = None,
) -> License:
    """Verify the configured module key for this installation and log ``license_valid``.

    Raises a :class:`~hotline.licensing.errors.LicenseError` whose message is
    the one line to show; the caller must then not open the FastAGI port.
    """
    if module_key is None or not module_key.strip():
        raise MissingKeyError()
    lic = (verifier or LicenseVerifier()).verify(module_key, identity, product_major)
    log.info("license_valid", summary=describe(lic), **log_fields(lic))
    return lic
