"""Offline module licensing: Ed25519-signed keys bound to the installation.

The runtime trusts only the vendor public key embedded in this package
(``vendor-ed25519.pem``); see ``docs/licensing.md`` for the key format and how
admins install and vendors issue keys.
"""

from hotline.licensing.errors import (
    BadSignatureError,
    DamagedKeyError,
    ExpiredError,
    LicenseError,
    LicenseIssueError,
    MissingKeyError,
    NoInstallationIdentityError,
    NotAKeyError,
    ServerKeyPastedError,
    VendorKeyError,
    VersionTooOldError,
    WrongInstallationError,
    WrongProductError,
)
from hotline.licensing.model import InstallationIdentity, License, LicenseKind
from hotline.licensing.verify import (
    LicenseGuard,
    LicenseVerifier,
    check_license,
    current_major,
    describe,
)

__all__ = [
    "BadSignatureError",
    "DamagedKeyError",
    "ExpiredError",
    "InstallationIdentity",
    "License",
    "LicenseError",
    "LicenseGuard",
    "LicenseIssueError",
    "LicenseKind",
    "LicenseVerifier",
    "MissingKeyError",
    "NoInstallationIdentityError",
    "NotAKeyError",
    "ServerKeyPastedError",
    "VendorKeyError",
    "VersionTooOldError",
    "WrongInstallationError",
    "WrongProductError",
    "check_license",
    "current_major",
    "describe",
]
