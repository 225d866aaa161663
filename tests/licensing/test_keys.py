"""The runtime trusts exactly the vendor's published signing key, shipped as package data."""

from __future__ import annotations

from importlib import resources

from hotline.licensing.keys import (
    VENDOR_KEY_RESOURCE,
    fingerprint,
    public_pem,
    vendor_public_key,
    vendor_public_key_pem,
)
from hotline.licensing.verify import LicenseVerifier

#: the vendor key as published to installations: the anchor the package data must equal
VENDOR_PEM = (
    b"-----BEGIN PUBLIC KEY-----\n"
    b"MCowBQYDK2VwAyEAcuFp156ryx0tBD9mMBrkxP6mdUtZcvkk+5Sn3WbpbJI=\n"
    b"-----END PUBLIC KEY-----\n"
)


def test_embedded_key_is_package_data() -> None:
    resource = resources.files("hotline.licensing") / VENDOR_KEY_RESOURCE
    assert resource.is_file()
    assert resource.read_bytes() == vendor_public_key_pem()


def test_embedded_key_is_the_published_vendor_key() -> None:
    assert vendor_public_key_pem() == VENDOR_PEM
    assert public_pem(vendor_public_key()) == VENDOR_PEM


def test_default_verifier_trusts_the_embedded_key() -> None:
    assert fingerprint(LicenseVerifier().public_key) == fingerprint(vendor_public_key())
