"""Vendor side: make a signing key pair and issue module keys with the private half.

The private key never ships with hotline; the vendor keeps it on a protected
machine and runs ``hotline license issue --private-key FILE …`` there.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hotline.licensing.codec import (
    PRODUCT,
    decode_payload,
    encode_payload,
    format_key,
    signed_message,
)
from hotline.licensing.errors import LicenseIssueError, VendorKeyError
from hotline.licensing.keys import load_private_key_pem, public_pem
from hotline.licensing.model import InstallationHash, InstallationIdentity, License, LicenseKind
from hotline.licensing.verify import current_major
from hotline.smallfile import FileRefused, read_small_file

#: a PEM key is a few hundred bytes; a larger file is not one (and is not read whole)
KEY_FILE_LIMIT = 64 * 1024


def generate_keypair() -> tuple[bytes, bytes]:
    """A new vendor key pair: (private PEM, unencrypted PKCS#8; public PEM, SPKI)."""
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return private_pem, public_pem(private.public_key())


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    """Read the vendor's private key; one clear line if it is missing, unreadable or wrong."""
    path = Path(path)
    try:
        data = read_small_file(path, KEY_FILE_LIMIT)
    except FileRefused as exc:
        if exc.missing:
            raise VendorKeyError(f"private key file {path} does not exist") from None
        raise VendorKeyError(f"cannot read private key file {path}: {exc}") from None
    return load_private_key_pem(data, f"private key file {path}")


def _bindings(installations: Iterable[InstallationIdentity]) -> tuple[InstallationHash, ...]:
    out: list[InstallationHash] = []
    for identity in installations:
        out.extend(h for h in identity.hashes if h not in out)
    return tuple(out)


def _clean_licensee(licensee: str | None) -> str | None:
    if licensee is None or not licensee.strip():
        return None
    text = licensee.strip()
    if any(unicodedata.category(c).startswith("C") for c in text):
        raise LicenseIssueError("licensee must be one line of printable text")
    return text


def issue_key(
    private_key_pem: bytes | Ed25519PrivateKey,
    *,
    installations: Iterable[InstallationIdentity],
    kind: LicenseKind | str,
    expires: date | None = None,
    max_major: int | None = None,
    licensee: str | None = None,
    issued: date | None = None,
) -> str:
    """Sign a module key for the given installation(s); returns the text to send the customer.

    Each identity's server keys and hardware ids become bindings; the key is
    valid on any installation that answers to one of them (a primary and its
    redundancy server, say).  ``expires`` is the last valid day; demo keys
    need one, full keys must not have one, NFR keys may.
    """
    if isinstance(private_key_pem, Ed25519PrivateKey):
        private = private_key_pem
    else:
        private = load_private_key_pem(private_key_pem, "private key")
    try:
        kind = LicenseKind(kind)
    except ValueError:
        raise LicenseIssueError(f"kind must be full, demo or nfr, not {kind!r}") from None
    bindings = _bindings(installations)
    if not bindings:
        raise LicenseIssueError("a key needs at least one server license key or hardware id")
    if kind is LicenseKind.DEMO and expires is None:
        raise LicenseIssueError("a demo key needs an expiry date (--expires or --days)")
    if kind is LicenseKind.FULL and expires is not None:
        raise LicenseIssueError("a full key has no expiry; issue a demo key for a time limit")
    issued = issued or date.today()
    if expires is not None and expires < issued:
        raise LicenseIssueError(
            f"expiry {expires.isoformat()} is before the issue date {issued.isoformat()}"
        )
    lic = License(
        product=PRODUCT,
        installations=bindings,
        kind=kind,
        expires=expires,
        max_major=current_major() if max_major is None else max_major,
        issued=issued,
        licensee=_clean_licensee(licensee),
    )
    try:
        payload = encode_payload(lic)
    except ValueError as exc:
        raise LicenseIssueError(str(exc)) from None
    if decode_payload(payload) != lic:  # the format must carry every field unchanged
        raise LicenseIssueError("internal error: the key format cannot represent this license")
    return format_key(payload, private.sign(signed_message(payload)))
