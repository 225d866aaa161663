"""The runtime trusts exactly the vendor key from ../shared/license, shipped as package data."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from hotline.licensing.keys import (
    VENDOR_KEY_RESOURCE,
    fingerprint,
    load_public_key_pem,
    public_pem,
    vendor_public_key,
    vendor_public_key_pem,
)
from hotline.licensing.verify import LicenseVerifier

SHARED_KEY = Path(__file__).resolve().parents[3] / "shared" / "license" / "vendor-ed25519.pub"
#: the vendor key as published; a second anchor in case the shared folder is not around
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


def test_embedded_key_equals_shared_vendor_key() -> None:
    if not SHARED_KEY.exists():
        pytest.skip(f"{SHARED_KEY} is not present in this checkout")
    shared = load_public_key_pem(SHARED_KEY.read_bytes(), str(SHARED_KEY))
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    assert vendor_public_key().public_bytes(*raw) == shared.public_bytes(*raw)
    assert vendor_public_key_pem() == SHARED_KEY.read_bytes()


def test_default_verifier_trusts_the_embedded_key() -> None:
    assert fingerprint(LicenseVerifier().public_key) == fingerprint(vendor_public_key())
