"""Loading Ed25519 keys from PEM, and the one public key the runtime trusts.

The vendor's public key ships inside the package (``vendor-ed25519.pem``).
There is deliberately no configuration option to trust another key: that would
let anyone license themselves.  Tests hand their own key to
:class:`~hotline.licensing.verify.LicenseVerifier` through its constructor.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import resources

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hotline.licensing.errors import VendorKeyError

VENDOR_KEY_RESOURCE = "vendor-ed25519.pem"


def vendor_public_key_pem() -> bytes:
    """The embedded vendor public key, exactly as shipped."""
    return resources.files(__package__).joinpath(VENDOR_KEY_RESOURCE).read_bytes()


@functools.cache
def vendor_public_key() -> Ed25519PublicKey:
    """The only key whose signatures license a running hotline."""
    return load_public_key_pem(vendor_public_key_pem(), f"embedded {VENDOR_KEY_RESOURCE}")


def load_public_key_pem(data: bytes, source: str) -> Ed25519PublicKey:
    """Parse an Ed25519 public key (PEM, SubjectPublicKeyInfo); ``source`` names it in errors."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise VendorKeyError(f"{source} is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise VendorKeyError(f"{source} holds a {type(key).__name__}, not an Ed25519 public key")
    return key


def load_private_key_pem(data: bytes, source: str) -> Ed25519PrivateKey:
    """Parse an unencrypted Ed25519 private key (PEM, PKCS#8); ``source`` names it in errors."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise VendorKeyError(
            f"{source} is encrypted with a passphrase: hotline needs it unencrypted "
            "(keep the file on an offline, protected machine instead)"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        if b"PUBLIC KEY" in data:
            raise VendorKeyError(
                f"{source} holds a public key: issuing needs the private key file"
            ) from None
        raise VendorKeyError(f"{source} is not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise VendorKeyError(f"{source} holds a {type(key).__name__}, not an Ed25519 private key")
    return key


def public_pem(key: Ed25519PublicKey) -> bytes:
    """PEM (SubjectPublicKeyInfo) of a public key, as in ``vendor-ed25519.pem``."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(key: Ed25519PublicKey) -> str:
    """Short, stable name for a public key, for ``license show`` and ``keygen`` output."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]
