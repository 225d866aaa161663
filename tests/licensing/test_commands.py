"""`hotline license keygen|issue|show` through the argparse wiring, and the startup check."""

from __future__ import annotations

import argparse
import stat
import sys
from datetime import date
from pathlib import Path

import pytest

from hotline.cli import report
from hotline.errors import HotlineError
from hotline.licensing.commands import add_license_parser, run_license_command
from hotline.licensing.errors import (
    ExpiredError,
    MissingKeyError,
    ServerKeyPastedError,
    WrongInstallationError,
)
from hotline.licensing.keys import fingerprint, load_public_key_pem
from hotline.licensing.model import InstallationIdentity, LicenseKind
from hotline.licensing.verify import LicenseVerifier, check_license
from tests.conftest import CapturedLog
from tests.licensing.conftest import (
    ENTITY_ID,
    SERVER_A,
    SERVER_B,
    SERVER_C,
    THIS_PBX,
    FakeClock,
    Vendor,
    refused,
)


def parse(*argv: str | Path) -> argparse.Namespace:
    """The CLI owner's wiring in miniature: a fresh parser with the license commands added."""
    parser = argparse.ArgumentParser(prog="hotline")
    add_license_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args([str(a) for a in argv])


def run(
    capsys: pytest.CaptureFixture[str], *argv: str | Path, verifier: LicenseVerifier | None = None
) -> tuple[int, str, str]:
    args = parse(*argv)
    assert args.func is run_license_command
    try:
        code: int = args.func(args) if verifier is None else args.func(args, verifier=verifier)
    except HotlineError as exc:  # printed as hotline.cli.main prints it
        code = report(exc, sys.stderr)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def key_pair(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path]:
    private, public = tmp_path / "vendor.key", tmp_path / "vendor.pub"
    code, out, err = run(
        capsys, "license", "keygen", "--out-private", private, "--out-public", public
    )
    assert (code, err) == (0, "")
    assert str(private) in out
    assert "never ship" in out
    return private, public


def test_keygen_writes_a_private_file_only_its_owner_reads(key_pair: tuple[Path, Path]) -> None:
    private, public = key_pair
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")


@pytest.mark.parametrize("which", ["private", "public"])
def test_keygen_refuses_to_overwrite(
    key_pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str], which: str, tmp_path: Path
) -> None:
    private, public = key_pair
    before = private.read_bytes(), public.read_bytes()
    targets = (
        (private, tmp_path / "new.pub") if which == "private" else (tmp_path / "new.key", public)
    )
    code, out, err = run(
        capsys, "license", "keygen", "--out-private", targets[0], "--out-public", targets[1]
    )
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "refusing to overwrite" in err
    assert (private.read_bytes(), public.read_bytes()) == before
    assert not (tmp_path / "new.pub").exists()
    assert not (tmp_path / "new.key").exists()


def test_keygen_issue_verify_round_trip(
    key_pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    private, public = key_pair
    code, out, err = run(
        capsys,
        "license", "issue", "--private-key", private,
        "--server-key", SERVER_A, "--server-key", SERVER_B, "--hardware-id", ENTITY_ID,
        "--kind", "demo", "--days", "30", "--issued", "2026-03-01",
        "--max-major", "4", "--licensee", "ACME Hotlines GmbH",
    )  # fmt: skip
    assert code == 0
    key = out.strip()
    assert out.count("\n") == 1
    assert key.startswith("HL1-")
    assert "until 2026-03-31" in err
    verifier = LicenseVerifier(
        load_public_key_pem(public.read_bytes(), "pub"), clock=FakeClock(date(2026, 3, 31))
    )
    for identity in (
        InstallationIdentity.of(SERVER_A),
        InstallationIdentity.of(SERVER_B),
        InstallationIdentity.of(hardware_id=ENTITY_ID.upper()),
    ):
        lic = verifier.verify(key, identity, 4)
        assert lic.kind is LicenseKind.DEMO
        assert lic.expires == date(2026, 3, 31)
        assert lic.licensee == "ACME Hotlines GmbH"
        assert lic.max_major == 4
        assert len(lic.installations) == 3
    verifier_late = LicenseVerifier(verifier.public_key, clock=FakeClock(date(2026, 4, 1)))
    refused(ExpiredError, lambda: verifier_late.verify(key, THIS_PBX, 4))


def test_issue_errors_are_one_line_with_the_exception_exit_code(
    key_pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    private, public = key_pair
    cases: list[tuple[list[str | Path], str]] = [
        (["--private-key", tmp_path / "missing.key", "--server-key", "X"], "does not exist"),
        (["--private-key", public, "--server-key", "X"], "holds a public key"),
        (["--private-key", private], "at least one server license key or hardware id"),
        (["--private-key", private, "--server-key", "X", "--days", "30"], "has no expiry"),
        (["--private-key", private, "--server-key", "X", "--kind", "demo"], "needs an expiry"),
    ]
    for argv, fragment in cases:
        code, out, err = run(capsys, "license", "issue", *argv)
        assert code == 2, argv
        assert out == ""
        assert err.count("\n") == 1, err
        assert err.startswith("hotline: ")
        assert fragment in err


def test_issue_argument_types_are_checked_by_argparse(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for bad in (["--expires", "31.03.2026"], ["--days", "0"], ["--kind", "trial"]):
        with pytest.raises(SystemExit) as info:
            parse("license", "issue", "--private-key", "k", "--server-key", "X", *bad)
        assert info.value.code == 2
    with pytest.raises(SystemExit):
        parse("license", "issue", "--private-key", "k", "--expires", "2026-01-01", "--days", "3")
    capsys.readouterr()


def test_show_prints_fields_and_a_valid_signature(
    vendor: Vendor, capsys: pytest.CaptureFixture[str]
) -> None:
    key = vendor.issue(kind="nfr", licensee="Partner AG", max_major=2)
    pasted = key.lower().replace("-", " ").split()  # as a shell passes an unquoted paste
    code, out, err = run(capsys, "license", "show", *pasted, verifier=vendor.verifier())
    assert (code, err) == (0, "")
    fields = dict(line.split(":", 1) for line in out.splitlines())
    fields = {k: v.strip() for k, v in fields.items()}
    assert fields["product"] == "hotline"
    assert fields["kind"] == "NFR (not for resale)"
    assert fields["licensee"] == "Partner AG"
    assert fields["installations"] == str(THIS_PBX.hashes[0])
    assert fields["issued"] == "2026-03-01"
    assert fields["expires"] == "never"
    assert fields["max major"] == "2"
    assert fields["signature"] == f"valid (vendor key {fingerprint(vendor.public_key)})"


def test_show_without_seam_checks_the_embedded_vendor_key(
    vendor: Vendor, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "license", "show", vendor.issue())
    assert code == 3
    assert err == ""
    assert "signature:     NOT valid: signed by someone else" in out
    assert "licensee:      ACME Hotlines GmbH" in out


def test_show_of_a_damaged_key_says_so_in_one_line(
    vendor: Vendor, capsys: pytest.CaptureFixture[str]
) -> None:
    key = vendor.issue()
    typo = key[:20] + ("A" if key[20] != "A" else "B") + key[21:]
    code, out, err = run(capsys, "license", "show", typo)
    assert code == 3
    assert out == ""
    assert err.count("\n") == 1
    assert "damaged" in err


def test_check_license_logs_one_line_marking_nfr(vendor: Vendor, captured_log: CapturedLog) -> None:
    key = vendor.issue(kind="nfr")
    lic = check_license(key, THIS_PBX, verifier=vendor.verifier(), product_major=3)
    assert lic.kind is LicenseKind.NFR
    (event,) = captured_log.named("license_valid")
    assert event["kind"] == "NFR"
    assert event["licensee"] == "ACME Hotlines GmbH"
    assert event["expires"] is None
    assert "kind NFR" in event["summary"]
    assert key not in captured_log.text
    assert key.split("-")[3] not in captured_log.text


def test_check_license_refusals(vendor: Vendor, captured_log: CapturedLog) -> None:
    verifier = vendor.verifier()
    refused(MissingKeyError, lambda: check_license(None, THIS_PBX, verifier=verifier))
    refused(MissingKeyError, lambda: check_license("  \n", THIS_PBX, verifier=verifier))
    refused(ServerKeyPastedError, lambda: check_license(SERVER_A, THIS_PBX, verifier=verifier))
    elsewhere = InstallationIdentity.of(SERVER_C)
    key = vendor.issue()
    refused(WrongInstallationError, lambda: check_license(key, elsewhere, verifier=verifier))
    assert captured_log.named("license_valid") == []


def test_check_license_uses_the_running_major_by_default(vendor: Vendor) -> None:
    import hotline

    running = int(hotline.__version__.split(".")[0])
    lic = check_license(vendor.issue(max_major=running), THIS_PBX, verifier=vendor.verifier())
    assert lic.max_major == running
