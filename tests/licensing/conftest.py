"""A throwaway vendor for the licensing tests: its own key pair, injected, never configured."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hotline.licensing.errors import LicenseError
from hotline.licensing.keys import load_public_key_pem
from hotline.licensing.model import InstallationIdentity, LicenseKind
from hotline.licensing.vendor import generate_keypair, issue_key
from hotline.licensing.verify import LicenseVerifier

ISSUED = date(2026, 3, 1)
TODAY = date(2026, 3, 10)
SERVER_A = "PBX-PRIMARY-7F3K-22QX"
SERVER_B = "PBX-STANDBY-9M1D-04RT"
SERVER_C = "PBX-ELSEWHERE-0000"
ENTITY_ID = "02:fc:00:00:00:01"
THIS_PBX = InstallationIdentity.of(server_key=SERVER_A)

E = TypeVar("E", bound=LicenseError)


def refused(kind: type[E], attempt: Callable[[], object]) -> E:
    """Run ``attempt``, demand exactly ``kind`` with a one-line message; return the error."""
    with pytest.raises(kind) as info:
        attempt()
    assert type(info.value) is kind, f"{type(info.value).__name__}: {info.value}"
    assert "\n" not in str(info.value)
    assert str(info.value).strip()
    return info.value


@dataclass
class FakeClock:
    """An injectable ``date.today`` the test moves by hand."""

    today: date = TODAY

    def __call__(self) -> date:
        return self.today


@dataclass
class Vendor:
    """Issues keys with a test key pair and builds verifiers that trust its public half."""

    private_pem: bytes
    public_key: Ed25519PublicKey
    clock: FakeClock = field(default_factory=FakeClock)

    def issue(
        self,
        installations: Iterable[InstallationIdentity] = (THIS_PBX,),
        *,
        kind: LicenseKind | str = LicenseKind.FULL,
        expires: date | None = None,
        max_major: int = 3,
        licensee: str | None = "ACME Hotlines GmbH",
        issued: date = ISSUED,
    ) -> str:
        return issue_key(
            self.private_pem,
            installations=installations,
            kind=kind,
            expires=expires,
            max_major=max_major,
            licensee=licensee,
            issued=issued,
        )

    def verifier(self) -> LicenseVerifier:
        return LicenseVerifier(self.public_key, clock=self.clock)


def make_vendor() -> Vendor:
    private_pem, public_pem = generate_keypair()
    return Vendor(private_pem, load_public_key_pem(public_pem, "test public key"))


@pytest.fixture
def vendor() -> Vendor:
    return make_vendor()


@pytest.fixture
def other_vendor() -> Vendor:
    """Someone else with a key pair of their own (a forger, or another product's vendor)."""
    return make_vendor()
