"""``hotline license …`` subcommands and the startup check, as plain functions for the CLI.

The CLI owner calls :func:`add_license_parser` on its subparsers and
``args.func(args)`` for the exit code (``hotline run``/``check`` verify the
configured key with :func:`hotline.licensing.verify.check_license`).  Errors are
raised; the CLI prints them as one line and exits with the exception's exit
code, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import TextIO

from hotline.licensing.codec import decode_payload, unpack_key
from hotline.licensing.errors import BadSignatureError, VendorKeyError
from hotline.licensing.keys import fingerprint, load_private_key_pem
from hotline.licensing.model import InstallationIdentity, LicenseKind
from hotline.licensing.vendor import generate_keypair, issue_key, load_private_key
from hotline.licensing.verify import LicenseVerifier, current_major, describe
from hotline.logs import get_logger

log = get_logger()


def add_license_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``license issue|show|keygen`` to the CLI's subparsers."""
    parser = subparsers.add_parser(
        "license",
        help="issue, inspect and sign module license keys",
        description="Module license keys: inspect one, or (vendor only) issue keys and key pairs.",
    )
    parser.set_defaults(func=run_license_command)
    sub = parser.add_subparsers(dest="license_command", required=True, metavar="COMMAND")

    issue = sub.add_parser(
        "issue",
        help="sign a module key (vendor only: needs the private key file)",
        description="Sign a module key bound to one or more installations; prints the key.",
    )
    issue.add_argument("--private-key", required=True, metavar="FILE", type=Path)
    issue.add_argument(
        "--server-key",
        action="append",
        default=[],
        metavar="KEY",
        help="server license key of an installation (repeat for a redundancy server)",
    )
    issue.add_argument(
        "--hardware-id",
        action="append",
        default=[],
        metavar="ID",
        help="hardware id, e.g. Asterisk's Entity ID 02:fc:00:00:00:01 (repeatable)",
    )
    issue.add_argument("--kind", choices=[k.value for k in LicenseKind], default="full")
    until = issue.add_mutually_exclusive_group()
    until.add_argument("--expires", type=_iso_date, metavar="YYYY-MM-DD", help="last valid day")
    until.add_argument("--days", type=_positive_int, metavar="N", help="valid N days from issue")
    issue.add_argument(
        "--max-major",
        type=int,
        default=current_major(),
        metavar="N",
        help="highest major version covered (default: this version's, %(default)s)",
    )
    issue.add_argument("--licensee", metavar="NAME")
    issue.add_argument("--issued", type=_iso_date, metavar="YYYY-MM-DD", help="default: today")

    show = sub.add_parser(
        "show",
        help="decode a module key and print its fields (no private key needed)",
        description="Print what a module key says and whether the vendor signed it.",
    )
    show.add_argument("key", nargs="+", metavar="KEY", help="the key (spaces and dashes are fine)")

    keygen = sub.add_parser(
        "keygen",
        help="make a new vendor signing key pair",
        description="Write a new Ed25519 key pair; the private file is 0600 and never ships.",
    )
    keygen.add_argument("--out-private", required=True, metavar="FILE", type=Path)
    keygen.add_argument("--out-public", required=True, metavar="FILE", type=Path)


def run_license_command(
    args: argparse.Namespace,
    *,
    verifier: LicenseVerifier | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run ``license issue|show|keygen``; returns the exit code.

    ``verifier`` is a test seam for ``show`` (which otherwise checks against the
    embedded vendor key); there is no configuration equivalent on purpose.
    """
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    if args.license_command == "issue":
        return _issue(args, out, err)
    if args.license_command == "show":
        return _show(" ".join(args.key), verifier or LicenseVerifier(), out)
    if args.license_command == "keygen":
        return _keygen(args.out_private, args.out_public, out)
    raise AssertionError(f"unknown license command {args.license_command!r}")


def _issue(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    private = load_private_key(args.private_key)
    issued: date = args.issued or date.today()
    expires: date | None = args.expires
    if args.days is not None:
        expires = issued + timedelta(days=args.days)
    identities = [InstallationIdentity(server_keys=(k,)) for k in args.server_key] + [
        InstallationIdentity(hardware_ids=(h,)) for h in args.hardware_id
    ]
    key = issue_key(
        private,
        installations=identities,
        kind=args.kind,
        expires=expires,
        max_major=args.max_major,
        licensee=args.licensee,
        issued=issued,
    )
    print(key, file=out)
    lic = decode_payload(unpack_key(key).payload)
    print(f"issued: {describe(lic)}", file=err)
    return 0


def _show(text: str, verifier: LicenseVerifier, out: TextIO) -> int:
    signed = unpack_key(text)
    lic = decode_payload(signed.payload)
    valid = verifier.signature_valid(signed)
    rows = [
        ("product", lic.product),
        ("kind", "NFR (not for resale)" if lic.kind is LicenseKind.NFR else lic.kind.label),
        ("licensee", lic.licensee or "-"),
        ("installations", ", ".join(str(h) for h in lic.installations)),
        ("issued", lic.issued.isoformat()),
        ("expires", lic.expires.isoformat() if lic.expires else "never"),
        ("max major", str(lic.max_major)),
        (
            "signature",
            f"valid (vendor key {fingerprint(verifier.public_key)})"
            if valid
            else f"NOT valid: signed by someone else, not by vendor key "
            f"{fingerprint(verifier.public_key)}",
        ),
    ]
    for name, value in rows:
        print(f"{name + ':':<15}{value}", file=out)
    return 0 if valid else BadSignatureError.exit_code


def _keygen(private_path: Path, public_path: Path, out: TextIO) -> int:
    for path in (private_path, public_path):
        if path.exists():
            raise VendorKeyError(f"{path} already exists; refusing to overwrite a key file")
    if private_path.resolve() == public_path.resolve():
        raise VendorKeyError("--out-private and --out-public must be different files")
    private_pem, public_pem = generate_keypair()
    _write_new(private_path, private_pem, 0o600)
    _write_new(public_path, public_pem, 0o644)
    key = load_private_key_pem(private_pem, str(private_path)).public_key()
    print(
        f"wrote private key {private_path} (mode 0600: keep it offline, never ship it) "
        f"and public key {public_path} (fingerprint {fingerprint(key)})",
        file=out,
    )
    return 0


def _write_new(path: Path, data: bytes, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise VendorKeyError(f"{path} already exists; refusing to overwrite a key file") from None
    except OSError as exc:
        raise VendorKeyError(f"cannot create {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)  # the umask may have narrowed the public key's mode


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2025-03-31") from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days, 1 or more")
    return value
