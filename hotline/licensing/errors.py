"""Why a module key is refused, one class per reason.

The runtime refuses to take calls when the key is not valid for this
installation; the CLI prints ``str(error)`` as the one line an admin reads, so
every message says exactly what is wrong and what to do, on one line, and
never contains the module key or a server license key in clear text.
"""

from __future__ import annotations

from datetime import date

from hotline.errors import HotlineError


class LicenseError(HotlineError):
    """The module key does not license this installation; no calls are taken."""

    #: distinct from config errors (2) so scripts can tell a licensing refusal apart
    exit_code = 3


class MissingKeyError(LicenseError):
    """No module key was configured at all."""

    def __init__(self) -> None:
        super().__init__(
            "no module key configured: set license.module_key "
            "(or HOTLINE_LICENSE__MODULE_KEY, or license.module_key_file) "
            "to the key from the vendor; `hotline demo` needs none"
        )


class NotAKeyError(LicenseError):
    """The text is not a hotline module key at all (wrong text pasted)."""


class ServerKeyPastedError(NotAKeyError):
    """The PBX's own server license key was pasted where the module key belongs."""

    def __init__(self) -> None:
        super().__init__(
            "the module key setting holds this PBX's server license key, not a hotline "
            "module key: keep the server key in license.server_key and put the module key "
            "from the vendor (it starts with HL1-) in license.module_key"
        )


class DamagedKeyError(LicenseError):
    """The text is a module key with a typo, a missing part or a damaged character."""


class BadSignatureError(LicenseError):
    """The key is well formed but not signed by the hotline vendor."""

    def __init__(self) -> None:
        super().__init__(
            "module key is well formed but signed by someone else, not by the hotline vendor: "
            "use the module key the vendor issued"
        )


class WrongProductError(LicenseError):
    """A genuine vendor key, but for another product."""

    def __init__(self, product: str) -> None:
        self.product = product
        super().__init__(
            f"module key is for the product {product!r}, not hotline: "
            "use the hotline module key from the vendor"
        )


class NoInstallationIdentityError(LicenseError):
    """Nothing identifies this installation, so no key can be checked against it."""

    def __init__(self) -> None:
        super().__init__(
            "cannot identify this installation: set license.server_key to the PBX's "
            "server license key, or let hotline read the PBX's Entity ID over AMI"
        )


class WrongInstallationError(LicenseError):
    """A genuine key, bound to other installations than this one."""

    def __init__(self, expected: list[str], bound: list[str]) -> None:
        self.expected = list(expected)
        self.bound = list(bound)
        super().__init__(
            f"module key is for another installation: this installation is "
            f"{', '.join(self.expected)} but the key is for {', '.join(self.bound)}; "
            "ask the vendor for a key bound to this installation"
        )


class ExpiredError(LicenseError):
    """A demo (or other time-limited) key whose last valid day has passed."""

    def __init__(self, kind: str, expires: date, today: date) -> None:
        self.expires = expires
        self.today = today
        super().__init__(
            f"{kind} module key expired on {expires.isoformat()} "
            f"(today is {today.isoformat()}): ask the vendor for a full key or a new demo key"
        )


class VersionTooOldError(LicenseError):
    """A genuine key that covers only older major versions (paid upgrade needed)."""

    def __init__(self, max_major: int, product_major: int) -> None:
        self.max_major = max_major
        self.product_major = product_major
        super().__init__(
            f"module key covers hotline up to major version {max_major}, "
            f"this is major version {product_major}: ask the vendor for an upgrade key "
            f"or run hotline {max_major}.x"
        )


class VendorKeyError(HotlineError):
    """The vendor's private (or a public) key file is missing, unreadable or of the wrong type."""

    exit_code = 2


class LicenseIssueError(HotlineError):
    """The vendor asked to issue a key with impossible or contradictory fields."""

    exit_code = 2
