"""What a module key says, and what identifies the installation it is checked on.

An installation is identified by the PBX's server license key(s) and/or its
hardware identity (Asterisk's Entity ID, e.g. ``02:fc:00:00:00:01``).  Keys
never carry those values in clear: each is normalised and hashed with a
per-kind personalisation (so a server key can never match a hardware id), and
only the short hash travels in the module key and in messages.
"""

from __future__ import annotations

import enum
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

#: bytes of each installation hash kept in a key: 80 bits, enough to never collide by chance
INSTALLATION_HASH_BYTES = 10

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_WHITESPACE = re.compile(r"\s+")


class LicenseKind(enum.StrEnum):
    """full: no expiry; demo: coded expiry date; nfr: partners' not-for-resale installations."""

    FULL = "full"
    DEMO = "demo"
    NFR = "nfr"

    @property
    def label(self) -> str:
        """How the kind appears in messages; NFR is always spelled out as NFR."""
        return "NFR" if self is LicenseKind.NFR else self.value


class BindingKind(enum.StrEnum):
    """What an installation hash was computed from."""

    SERVER = "server"
    HARDWARE = "hardware"

    @property
    def person(self) -> bytes:
        """BLAKE2b personalisation: separates the two hash domains."""
        return b"hotline-srv-key" if self is BindingKind.SERVER else b"hotline-hw-id"


def normalise_server_key(text: str) -> str:
    """A server license key is opaque text; compare it ignoring case and whitespace."""
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", text)).upper()


def normalise_hardware_id(text: str) -> str:
    """``02:FC:00:00:00:01``, ``02-fc-00-00-00-01`` and ``02fc.0000.0001`` are one id."""
    return _NON_ALNUM.sub("", unicodedata.normalize("NFKC", text).lower())


@dataclass(frozen=True, order=True)
class InstallationHash:
    """One installation a key is bound to, as a short hash; ``str()`` is what admins see."""

    kind: BindingKind
    digest: bytes

    @classmethod
    def of(cls, kind: BindingKind, normalised: str) -> InstallationHash:
        """Hash an already normalised server key or hardware id."""
        digest = hashlib.blake2b(
            normalised.encode("utf-8"), digest_size=INSTALLATION_HASH_BYTES, person=kind.person
        ).digest()
        return cls(kind, digest)

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.digest.hex()}"


@dataclass(frozen=True)
class InstallationIdentity:
    """What identifies this PBX: its server license key(s) and/or hardware id(s).

    Values are normalised on construction; blank ones are dropped.  Server
    keys are secrets, so they are kept out of ``repr``.
    """

    server_keys: tuple[str, ...] = field(default=(), repr=False)
    hardware_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "server_keys", _normalised(self.server_keys, normalise_server_key))
        object.__setattr__(
            self, "hardware_ids", _normalised(self.hardware_ids, normalise_hardware_id)
        )

    @classmethod
    def of(
        cls, server_key: str | None = None, hardware_id: str | None = None
    ) -> InstallationIdentity:
        """The common case: at most one server key and one hardware id, either may be unset."""
        return cls(
            server_keys=(server_key,) if server_key else (),
            hardware_ids=(hardware_id,) if hardware_id else (),
        )

    @property
    def is_empty(self) -> bool:
        """True when nothing identifies the installation."""
        return not self.server_keys and not self.hardware_ids

    @property
    def hashes(self) -> tuple[InstallationHash, ...]:
        """Every hash this installation answers to, server keys first."""
        return tuple(InstallationHash.of(BindingKind.SERVER, k) for k in self.server_keys) + tuple(
            InstallationHash.of(BindingKind.HARDWARE, h) for h in self.hardware_ids
        )

    def is_server_key(self, text: str) -> bool:
        """True when ``text`` is one of this installation's server license keys."""
        candidate = normalise_server_key(text)
        return bool(candidate) and candidate in self.server_keys


def _normalised(values: Iterable[str], normalise: Callable[[str], str]) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        norm = normalise(value)
        if norm and norm not in out:
            out.append(norm)
    return tuple(out)


@dataclass(frozen=True)
class License:
    """The decoded statement of a module key (trusted only after verification)."""

    product: str
    installations: tuple[InstallationHash, ...]
    kind: LicenseKind
    expires: date | None
    max_major: int
    issued: date
    licensee: str | None = None

    def covers(self, identity: InstallationIdentity) -> bool:
        """True when any of the installation's hashes is among the key's bindings."""
        return any(h in self.installations for h in identity.hashes)

    def expired_on(self, today: date) -> bool:
        """``expires`` is the last valid day: a key expiring on 31 March works all that day."""
        return self.expires is not None and today > self.expires
