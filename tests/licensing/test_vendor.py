"""Vendor side: key pairs, key files and the rules for issuing a key."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hotline.licensing.codec import MAX_BINDINGS
from hotline.licensing.errors import LicenseIssueError, VendorKeyError
from hotline.licensing.keys import load_private_key_pem, load_public_key_pem
from hotline.licensing.model import InstallationIdentity, LicenseKind
from hotline.licensing.vendor import generate_keypair, issue_key, load_private_key
from tests.licensing.conftest import ISSUED, THIS_PBX, Vendor


def test_generated_pair_belongs_together() -> None:
    private_pem, public_pem = generate_keypair()
    assert private_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public_pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    private = load_private_key_pem(private_pem, "p")
    public = load_public_key_pem(public_pem, "q")
    public.verify(private.sign(b"x"), b"x")
    assert generate_keypair()[0] != private_pem


def test_issue_accepts_a_loaded_key_and_is_deterministic(vendor: Vendor) -> None:
    private = load_private_key_pem(vendor.private_pem, "p")
    once = issue_key(private, installations=[THIS_PBX], kind="full", max_major=2, issued=ISSUED)
    again = issue_key(
        vendor.private_pem, installations=[THIS_PBX], kind="full", max_major=2, issued=ISSUED
    )
    assert once == again


def _one_line(exc: pytest.ExceptionInfo[Exception], *fragments: str) -> None:
    text = str(exc.value)
    assert "\n" not in text
    for fragment in fragments:
        assert fragment in text


def test_load_private_key_errors(tmp_path: Path) -> None:
    with pytest.raises(VendorKeyError) as missing:
        load_private_key(tmp_path / "nope.pem")
    _one_line(missing, "nope.pem", "does not exist")

    with pytest.raises(VendorKeyError) as directory:
        load_private_key(tmp_path)
    _one_line(directory, "is a directory")

    garbage = tmp_path / "garbage.pem"
    garbage.write_text("hello\n")
    with pytest.raises(VendorKeyError) as not_pem:
        load_private_key(garbage)
    _one_line(not_pem, "garbage.pem", "not a PEM private key")

    public = tmp_path / "public.pem"
    public.write_bytes(generate_keypair()[1])
    with pytest.raises(VendorKeyError) as wrong_half:
        load_private_key(public)
    _one_line(wrong_half, "holds a public key")

    other = tmp_path / "ec.pem"
    other.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(VendorKeyError) as wrong_type:
        load_private_key(other)
    _one_line(wrong_type, "not an Ed25519 private key")

    encrypted = tmp_path / "encrypted.pem"
    private = load_private_key_pem(generate_keypair()[0], "p")
    encrypted.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    with pytest.raises(VendorKeyError) as locked:
        load_private_key(encrypted)
    _one_line(locked, "encrypted")


@pytest.mark.timeout(10)  # a FIFO is refused, not waited on
def test_private_key_file_must_be_a_small_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path, words in ((Path("/dev/zero"), "is a character device"), (fifo, "is a FIFO")):
        with pytest.raises(VendorKeyError) as info:
            load_private_key(path)
        _one_line(info, "cannot read private key file", str(path), words)


def test_unreadable_private_key(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(VendorKeyError) as info:
        load_private_key(blocker / "private.pem")  # a path through a file: the OS refuses it
    _one_line(info, "cannot read private key file", "Not a directory")


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"installations": []}, "at least one"),
        ({"installations": [InstallationIdentity.of(" ", "::")]}, "at least one"),
        ({"kind": "demo"}, "needs an expiry"),
        ({"kind": "full", "expires": date(2027, 1, 1)}, "has no expiry"),
        ({"kind": "trial"}, "full, demo or nfr"),
        ({"kind": "demo", "expires": date(2026, 2, 1)}, "before the issue date"),
        ({"max_major": 256}, "0..255"),
        ({"max_major": -1}, "0..255"),
        ({"licensee": "x" * 101}, "longer than 100"),
        ({"licensee": "two\nlines"}, "one line"),
        ({"issued": date(1999, 12, 31)}, "outside"),
        (
            {"installations": [InstallationIdentity.of(f"S{i}") for i in range(MAX_BINDINGS + 1)]},
            f"1 to {MAX_BINDINGS}",
        ),
    ],
)
def test_issue_refuses_impossible_keys(
    vendor: Vendor, changes: dict[str, object], fragment: str
) -> None:
    kwargs: dict[str, object] = {
        "installations": [THIS_PBX],
        "kind": LicenseKind.FULL,
        "expires": None,
        "max_major": 1,
        "licensee": None,
        "issued": ISSUED,
    }
    kwargs.update(changes)
    with pytest.raises(LicenseIssueError) as info:
        issue_key(vendor.private_pem, **kwargs)  # type: ignore[arg-type]
    _one_line(info, fragment)


def test_duplicate_installations_are_bound_once(vendor: Vendor) -> None:
    key = vendor.issue(
        [THIS_PBX, THIS_PBX, InstallationIdentity(server_keys=(" pbx-primary-7f3k-22qx",))]
    )
    assert vendor.verifier().verify(key, THIS_PBX, 3).installations == THIS_PBX.hashes
