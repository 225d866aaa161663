"""What a verified key grants, and every reason a key is refused."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

import hotline
from hotline.licensing.codec import encode_payload, format_key, signed_message
from hotline.licensing.errors import (
    BadSignatureError,
    ExpiredError,
    MissingKeyError,
    NoInstallationIdentityError,
    NotAKeyError,
    ServerKeyPastedError,
    VersionTooOldError,
    WrongInstallationError,
    WrongProductError,
)
from hotline.licensing.keys import load_private_key_pem
from hotline.licensing.model import InstallationIdentity, License, LicenseKind
from hotline.licensing.verify import LicenseGuard, current_major, describe
from tests.conftest import CapturedLog
from tests.licensing.conftest import (
    ENTITY_ID,
    ISSUED,
    SERVER_A,
    SERVER_B,
    SERVER_C,
    THIS_PBX,
    TODAY,
    Vendor,
    refused,
)


def test_key_for_this_server_verifies(vendor: Vendor) -> None:
    lic = vendor.verifier().verify(vendor.issue(), THIS_PBX, 3)
    assert lic.product == "hotline"
    assert lic.kind is LicenseKind.FULL
    assert lic.expires is None
    assert lic.max_major == 3
    assert lic.issued == ISSUED
    assert lic.licensee == "ACME Hotlines GmbH"
    assert lic.installations == THIS_PBX.hashes


def test_same_key_on_another_server_is_refused_with_the_expected_id(vendor: Vendor) -> None:
    key = vendor.issue()
    elsewhere = InstallationIdentity.of(server_key=SERVER_C)
    exc = refused(WrongInstallationError, lambda: vendor.verifier().verify(key, elsewhere, 3))
    assert str(elsewhere.hashes[0]) in str(exc)  # what this installation is
    assert str(THIS_PBX.hashes[0]) in str(exc)  # what the key is for
    assert exc.expected == [str(elsewhere.hashes[0])]
    assert SERVER_C not in str(exc)  # server keys are secrets: only their hash is shown
    assert SERVER_A not in str(exc)


def test_key_listing_two_servers_verifies_on_both_and_nowhere_else(vendor: Vendor) -> None:
    primary, standby = InstallationIdentity.of(SERVER_A), InstallationIdentity.of(SERVER_B)
    key = vendor.issue([primary, standby])
    verifier = vendor.verifier()
    assert verifier.verify(key, primary, 3).installations == primary.hashes + standby.hashes
    assert verifier.verify(key, standby, 3).licensee == "ACME Hotlines GmbH"
    exc = refused(
        WrongInstallationError, lambda: verifier.verify(key, InstallationIdentity.of(SERVER_C), 3)
    )
    assert exc.bound == [str(primary.hashes[0]), str(standby.hashes[0])]


def test_server_key_comparison_ignores_case_and_whitespace(vendor: Vendor) -> None:
    key = vendor.issue()
    sloppy = InstallationIdentity.of(server_key=f"  {SERVER_A.lower()}\n")
    assert vendor.verifier().verify(key, sloppy, 3).kind is LicenseKind.FULL


def test_hardware_id_binding(vendor: Vendor) -> None:
    key = vendor.issue([InstallationIdentity.of(hardware_id=ENTITY_ID)])
    verifier = vendor.verifier()
    for spelling in ("02:FC:00:00:00:01", "02-fc-00-00-00-01", "02fc.0000.0001"):
        assert verifier.verify(key, InstallationIdentity.of(hardware_id=spelling), 3)
    # a PBX with a server key configured still matches through its hardware id
    both = InstallationIdentity.of(server_key=SERVER_C, hardware_id=ENTITY_ID)
    assert verifier.verify(key, both, 3).kind is LicenseKind.FULL
    other = InstallationIdentity.of(hardware_id="02:fc:00:00:00:02")
    refused(WrongInstallationError, lambda: verifier.verify(key, other, 3))


def test_server_key_and_hardware_id_with_the_same_spelling_differ(vendor: Vendor) -> None:
    """Separate hash domains: digits normalise identically as server key and as hardware id."""
    as_hardware = InstallationIdentity.of(hardware_id="12:34:56:78:90:12")
    as_server = InstallationIdentity.of(server_key="123456789012")
    assert as_hardware.hardware_ids == as_server.server_keys
    key = vendor.issue([as_hardware])
    verifier = vendor.verifier()
    assert verifier.verify(key, as_hardware, 3)
    refused(WrongInstallationError, lambda: verifier.verify(key, as_server, 3))


def test_installation_without_identity_is_refused(vendor: Vendor) -> None:
    key = vendor.issue()
    refused(
        NoInstallationIdentityError,
        lambda: vendor.verifier().verify(key, InstallationIdentity.of(" ", None), 3),
    )


def test_expired_demo_is_refused_with_its_date(vendor: Vendor) -> None:
    key = vendor.issue(kind="demo", expires=TODAY - timedelta(days=1))
    exc = refused(ExpiredError, lambda: vendor.verifier().verify(key, THIS_PBX, 3))
    assert "2026-03-09" in str(exc)
    assert exc.expires == date(2026, 3, 9)
    assert "demo" in str(exc)


def test_unexpired_demo_runs_and_guard_stops_new_calls_after_expiry(
    vendor: Vendor, captured_log: CapturedLog
) -> None:
    expiry = TODAY + timedelta(days=2)
    lic = vendor.verifier().verify(vendor.issue(kind="demo", expires=expiry), THIS_PBX, 3)
    assert lic.expires == expiry
    guard = LicenseGuard(lic, clock=vendor.clock)
    assert guard.allows_new_calls()
    vendor.clock.today = expiry  # the last day is still a licensed day
    assert guard.allows_new_calls()
    assert captured_log.named("license_expired") == []
    vendor.clock.today = expiry + timedelta(days=1)
    assert not guard.allows_new_calls()
    assert not guard.allows_new_calls()
    # ... and the same key is now refused at startup too
    key = vendor.issue(kind="demo", expires=expiry)
    refused(ExpiredError, lambda: vendor.verifier().verify(key, THIS_PBX, 3))
    vendor.clock.today = expiry  # a clock stepping back does not revive an expired demo
    assert not guard.allows_new_calls()
    (event,) = captured_log.named("license_expired")
    assert event["kind"] == "demo"
    assert event["expires"] == expiry.isoformat()


def test_full_key_guard_never_expires(vendor: Vendor, captured_log: CapturedLog) -> None:
    lic = vendor.verifier().verify(vendor.issue(), THIS_PBX, 3)
    vendor.clock.today = date(2170, 1, 1)
    assert LicenseGuard(lic, clock=vendor.clock).allows_new_calls()
    assert captured_log.named("license_expired") == []


@pytest.mark.parametrize("major", [0, 1, 5, 254])
def test_key_for_major_n_is_refused_by_n_plus_1(vendor: Vendor, major: int) -> None:
    key = vendor.issue(max_major=major)
    verifier = vendor.verifier()
    assert verifier.verify(key, THIS_PBX, major).max_major == major
    if major:
        assert verifier.verify(key, THIS_PBX, major - 1).max_major == major
    exc = refused(VersionTooOldError, lambda: verifier.verify(key, THIS_PBX, major + 1))
    assert f"up to major version {major}," in str(exc)
    assert f"this is major version {major + 1}" in str(exc)


def test_product_major_defaults_to_the_running_version(vendor: Vendor) -> None:
    running = int(hotline.__version__.split(".")[0])
    assert current_major() == running
    assert current_major("7.2.1") == 7
    verifier = vendor.verifier()
    assert verifier.verify(vendor.issue(max_major=running), THIS_PBX).max_major == running
    key = vendor.issue(max_major=running + 1)
    refused(VersionTooOldError, lambda: verifier.verify(key, THIS_PBX, running + 2))


def test_key_signed_by_someone_else_is_refused(vendor: Vendor, other_vendor: Vendor) -> None:
    forged = other_vendor.issue()  # well formed, right installation, wrong signer
    exc = refused(BadSignatureError, lambda: vendor.verifier().verify(forged, THIS_PBX, 3))
    assert "signed by someone else" in str(exc)
    assert other_vendor.verifier().verify(forged, THIS_PBX, 3)


def test_embedded_vendor_key_refuses_test_keys(vendor: Vendor) -> None:
    from hotline.licensing.verify import LicenseVerifier

    refused(BadSignatureError, lambda: LicenseVerifier().verify(vendor.issue(), THIS_PBX, 3))


def test_genuine_key_for_another_product_is_refused(vendor: Vendor) -> None:
    lic = License("hotline", THIS_PBX.hashes, LicenseKind.FULL, None, 3, ISSUED, None)
    payload = bytearray(encode_payload(lic))
    payload[1] = 9  # product code
    private = load_private_key_pem(vendor.private_pem, "test")
    key = format_key(bytes(payload), private.sign(signed_message(bytes(payload))))
    exc = refused(WrongProductError, lambda: vendor.verifier().verify(key, THIS_PBX, 3))
    assert "product #9" in str(exc)


def test_pasted_key_in_lower_case_with_spaces_and_line_breaks_is_accepted(vendor: Vendor) -> None:
    key = vendor.issue()
    body = key.replace("-", " ").lower()
    pasted = "\n  " + "\r\n".join(body[i : i + 23] for i in range(0, len(body), 23)) + " \t\n"
    verifier = vendor.verifier()
    assert verifier.verify(pasted, THIS_PBX, 3) == verifier.verify(key, THIS_PBX, 3)
    assert verifier.verify(key.replace("-", ""), THIS_PBX, 3)
    # Crockford's look-alikes: O for zero, I and L for one (only in the blocks, not in HL1)
    prefix, rest = key[:4], key[4:]
    assert "0" in rest or "1" in rest
    lookalike = prefix + rest.replace("0", "o").replace("1", "l")
    assert verifier.verify(lookalike, THIS_PBX, 3) == verifier.verify(key, THIS_PBX, 3)


def test_server_key_pasted_as_module_key_is_recognised(vendor: Vendor) -> None:
    verifier = vendor.verifier()
    exc = refused(ServerKeyPastedError, lambda: verifier.verify(SERVER_A, THIS_PBX, 3))
    assert "server license key" in str(exc)
    assert SERVER_A not in str(exc)
    spaced = f" {SERVER_A.lower()} "
    refused(ServerKeyPastedError, lambda: verifier.verify(spaced, THIS_PBX, 3))
    # when the server key is not configured, it is still "not a module key", and says so
    by_hw = InstallationIdentity.of(hardware_id=ENTITY_ID)
    exc2 = refused(NotAKeyError, lambda: verifier.verify(SERVER_A, by_hw, 3))
    assert "HL1-" in str(exc2)
    assert "server license key" in str(exc2)


@pytest.mark.parametrize("text", ["hello", "see attached", "HLX-12345", "{module_key}"])
def test_other_text_is_not_a_key(vendor: Vendor, text: str) -> None:
    exc = refused(NotAKeyError, lambda: vendor.verifier().verify(text, THIS_PBX, 3))
    assert "HL1-" in str(exc)


def test_key_of_an_unknown_newer_format_says_so(vendor: Vendor) -> None:
    key = "HL2" + vendor.issue()[3:]
    exc = refused(NotAKeyError, lambda: vendor.verifier().verify(key, THIS_PBX, 3))
    assert "format 2" in str(exc)


@pytest.mark.parametrize("text", ["", "   ", "\n-\n"])
def test_blank_key_is_missing(vendor: Vendor, text: str) -> None:
    refused(MissingKeyError, lambda: vendor.verifier().verify(text, THIS_PBX, 3))


def test_describe_marks_kind_whom_and_until(vendor: Vendor) -> None:
    verifier = vendor.verifier()
    full = verifier.verify(vendor.issue(), THIS_PBX, 3)
    assert verifier.describe(full) == (
        "licensed to ACME Hotlines GmbH, kind full, with no expiry, for hotline up to major 3"
    )
    demo = verifier.verify(
        vendor.issue(kind="demo", expires=date(2026, 3, 31), licensee=None), THIS_PBX, 3
    )
    assert describe(demo) == (
        "licensed to an unnamed licensee, kind demo, until 2026-03-31, for hotline up to major 3"
    )


@pytest.mark.parametrize("expires", [None, date(2027, 1, 1)])
def test_nfr_is_marked_in_describe(vendor: Vendor, expires: date | None) -> None:
    lic = vendor.verifier().verify(vendor.issue(kind="nfr", expires=expires), THIS_PBX, 3)
    assert lic.kind is LicenseKind.NFR
    assert "kind NFR" in describe(lic)
    assert "NFR" not in describe(vendor.verifier().verify(vendor.issue(), THIS_PBX, 3))


def test_nfr_is_marked_when_it_expires(vendor: Vendor, captured_log: CapturedLog) -> None:
    lic = vendor.verifier().verify(vendor.issue(kind="nfr", expires=TODAY), THIS_PBX, 3)
    vendor.clock.today = TODAY + timedelta(days=1)
    assert not LicenseGuard(lic, clock=vendor.clock).allows_new_calls()
    assert captured_log.named("license_expired")[0]["kind"] == "NFR"


def test_identity_repr_hides_server_keys() -> None:
    assert SERVER_A not in repr(THIS_PBX)
    assert SERVER_A.upper() not in repr(THIS_PBX)
