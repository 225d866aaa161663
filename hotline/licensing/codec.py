"""The module key wire format: compact signed bytes, written for humans.

Text form::

    HL1-XXXXX-XXXXX-...-XXX

``HL`` marks a hotline module key and ``1`` is the format version; the blocks
are Crockford base32 (digits and upper-case letters without I, L, O, U, so
nothing is ambiguous when read aloud or retyped).  Pasted text is tolerated:
case, spaces, dashes and line breaks are ignored, and ``O``/``I``/``L`` in the
blocks are read as ``0``/``1``/``1`` as Crockford specifies.

A server license key (the PBX's own key) is opaque admin-supplied text and is
never expected to start with ``HL<digit>``; anything that does not is reported
as "not a module key" (or, when it equals the configured server key, as that).

Bytes behind the blocks (big-endian)::

    payload    u8  format version (1)
               u8  product code (1 = hotline)
               u8  kind (0 full, 1 demo, 2 nfr)
               u8  highest major version covered
               u16 issue date, days since 2000-01-01
               u16 expiry date (last valid day), days since 2000-01-01; 0 = none
               u8  number of bindings n (1..16)
               n x (u8 binding kind (1 server key, 2 hardware id) + 10-byte hash)
               u8  licensee length (0 = none) + that many bytes of UTF-8
    signature  64 bytes Ed25519 over b"hotline-module-key\\x00" + payload
    checksum   CRC-32 of payload + signature

The checksum exists so that a typo is reported as a typo: CRC-32 detects every
error burst of up to 32 bits, and one wrong base32 character changes at most 5
adjacent bits, so every single-character mistake is caught before the
signature is even looked at.  Trailing pad bits must be zero, so each key has
exactly one spelling.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
import unicodedata
import zlib
from dataclasses import dataclass
from datetime import date, timedelta

from hotline.licensing.errors import DamagedKeyError, NotAKeyError
from hotline.licensing.model import (
    INSTALLATION_HASH_BYTES,
    BindingKind,
    InstallationHash,
    License,
    LicenseKind,
)

FORMAT_VERSION = 1
KEY_PREFIX = f"HL{FORMAT_VERSION}"
PRODUCT = "hotline"
SIGNATURE_BYTES = 64
CHECKSUM_BYTES = 4
MAX_BINDINGS = 16
MAX_LICENSEE_BYTES = 100
MAX_MAJOR = 255
GROUP = 5
EPOCH = date(2000, 1, 1)
LAST_DATE = EPOCH + timedelta(days=0xFFFF)
SIGNING_CONTEXT = b"hotline-module-key\x00"

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_B32HEX = "0123456789ABCDEFGHIJKLMNOPQRSTUV"
_TO_CROCKFORD = str.maketrans(_B32HEX, CROCKFORD)
_FROM_CROCKFORD = str.maketrans(CROCKFORD + "OIL", _B32HEX + "011")
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")
_PREFIX_LIKE = re.compile(r"HL(\d)")

_PRODUCT_CODES = {1: PRODUCT}
_PRODUCT_IDS = {name: code for code, name in _PRODUCT_CODES.items()}
_KIND_CODES = {0: LicenseKind.FULL, 1: LicenseKind.DEMO, 2: LicenseKind.NFR}
_KIND_IDS = {kind: code for code, kind in _KIND_CODES.items()}
_BINDING_CODES = {1: BindingKind.SERVER, 2: BindingKind.HARDWARE}
_BINDING_IDS = {kind: code for code, kind in _BINDING_CODES.items()}
_HEAD = struct.Struct(">BBBBHHB")


@dataclass(frozen=True)
class SignedKey:
    """A key whose checksum is right: the signed payload and its signature, not yet trusted."""

    payload: bytes
    signature: bytes

    @property
    def message(self) -> bytes:
        """What the signature covers."""
        return signed_message(self.payload)


def signed_message(payload: bytes) -> bytes:
    """Domain-separated message: a hotline signature cannot be replayed from another use."""
    return SIGNING_CONTEXT + payload


# -- text <-> bytes ------------------------------------------------------------------------


def compact(text: str) -> str:
    """Pasted text without case, spaces, dashes and line breaks."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()


def b32encode(data: bytes) -> str:
    """Crockford base32 without padding (via the stdlib's base32hex, translated)."""
    return base64.b32hexencode(data).decode("ascii").rstrip("=").translate(_TO_CROCKFORD)


def b32decode(body: str) -> bytes:
    """Inverse of :func:`b32encode`; only the canonical spelling of some bytes is accepted."""
    for position, char in enumerate(body, start=len(KEY_PREFIX) + 1):
        if char not in CROCKFORD and char not in "OIL":
            raise DamagedKeyError(
                f"module key is damaged: {char!r} (character {position}, not counting "
                "dashes and spaces) never appears in module keys; check it for typos"
            )
    translated = body.translate(_FROM_CROCKFORD)
    try:
        data = base64.b32hexdecode(translated + "=" * (-len(translated) % 8))
    except binascii.Error:
        data = None
    if data is None or base64.b32hexencode(data).decode("ascii").rstrip("=") != translated:
        raise DamagedKeyError(
            "module key is damaged: it is incomplete or its last block is mistyped; "
            "copy the whole key from the vendor again"
        )
    return data


def format_key(payload: bytes, signature: bytes) -> str:
    """The text an admin pastes: prefix, then base32 in blocks of five."""
    raw = payload + signature
    body = b32encode(raw + zlib.crc32(raw).to_bytes(CHECKSUM_BYTES, "big"))
    return "-".join([KEY_PREFIX, *(body[i : i + GROUP] for i in range(0, len(body), GROUP))])


def unpack_key(text: str) -> SignedKey:
    """Check the text is a whole, correctly typed module key; nothing about trust yet."""
    flat = compact(text)
    if not flat.startswith(KEY_PREFIX):
        match = _PREFIX_LIKE.match(flat)
        if match:
            raise NotAKeyError(
                f"module key has format {match.group(1)}, which this hotline does not "
                f"understand (it reads {KEY_PREFIX}- keys): update hotline or ask the vendor "
                f"for a {KEY_PREFIX}- key"
            )
        raise NotAKeyError(
            f"the module key setting does not hold a hotline module key (those start with "
            f"{KEY_PREFIX}-); it may be the PBX's server license key or other text: "
            "paste the module key from the vendor"
        )
    raw = b32decode(flat[len(KEY_PREFIX) :])
    if len(raw) < _HEAD.size + SIGNATURE_BYTES + CHECKSUM_BYTES:
        raise DamagedKeyError(
            "module key is damaged: it is too short, part of it is missing; "
            "copy the whole key from the vendor again"
        )
    signed, checksum = raw[:-CHECKSUM_BYTES], raw[-CHECKSUM_BYTES:]
    if zlib.crc32(signed).to_bytes(CHECKSUM_BYTES, "big") != checksum:
        raise DamagedKeyError(
            "module key is damaged: its checksum does not match, so a character is mistyped, "
            "missing or extra; compare it with the key from the vendor block by block"
        )
    return SignedKey(payload=signed[:-SIGNATURE_BYTES], signature=signed[-SIGNATURE_BYTES:])


# -- License <-> payload -------------------------------------------------------------------


def _day(value: date, what: str) -> int:
    if not EPOCH < value <= LAST_DATE:
        raise ValueError(f"{what} {value.isoformat()} is outside {EPOCH}..{LAST_DATE}")
    return (value - EPOCH).days


def encode_payload(lic: License) -> bytes:
    """The bytes the vendor signs; raises ValueError for anything the format cannot hold."""
    if lic.product not in _PRODUCT_IDS:
        raise ValueError(f"unknown product {lic.product!r}")
    if not 1 <= len(lic.installations) <= MAX_BINDINGS:
        raise ValueError(f"a key binds 1 to {MAX_BINDINGS} installations")
    if not 0 <= lic.max_major <= MAX_MAJOR:
        raise ValueError(f"max major version must be 0..{MAX_MAJOR}")
    licensee = (lic.licensee or "").encode("utf-8")
    if len(licensee) > MAX_LICENSEE_BYTES:
        raise ValueError(f"licensee is longer than {MAX_LICENSEE_BYTES} bytes of UTF-8")
    out = bytearray(
        _HEAD.pack(
            FORMAT_VERSION,
            _PRODUCT_IDS[lic.product],
            _KIND_IDS[lic.kind],
            lic.max_major,
            _day(lic.issued, "issue date"),
            0 if lic.expires is None else _day(lic.expires, "expiry date"),
            len(lic.installations),
        )
    )
    for binding in lic.installations:
        if len(binding.digest) != INSTALLATION_HASH_BYTES:
            raise ValueError("installation hash has the wrong length")
        out += bytes([_BINDING_IDS[binding.kind]]) + binding.digest
    out += bytes([len(licensee)]) + licensee
    return bytes(out)


def _unreadable(why: str) -> DamagedKeyError:
    return DamagedKeyError(
        f"module key content is unreadable ({why}): ask the vendor to check and reissue the key"
    )


def decode_payload(payload: bytes) -> License:
    """Parse signed bytes; any inconsistency is a damaged key, never an exception of Python's."""
    if len(payload) < _HEAD.size:
        raise _unreadable("too short")
    version, product, kind, max_major, issued, expires, count = _HEAD.unpack_from(payload)
    if version != FORMAT_VERSION:
        raise _unreadable(f"format version {version} inside a {KEY_PREFIX}- key")
    if kind not in _KIND_CODES:
        raise _unreadable(f"unknown kind {kind}")
    if issued == 0:
        raise _unreadable("no issue date")
    if not 1 <= count <= MAX_BINDINGS:
        raise _unreadable(f"{count} installations")
    pos = _HEAD.size
    bindings: list[InstallationHash] = []
    for _ in range(count):
        chunk = payload[pos : pos + 1 + INSTALLATION_HASH_BYTES]
        if len(chunk) != 1 + INSTALLATION_HASH_BYTES or chunk[0] not in _BINDING_CODES:
            raise _unreadable("bad installation entry")
        bindings.append(InstallationHash(_BINDING_CODES[chunk[0]], bytes(chunk[1:])))
        pos += len(chunk)
    if pos >= len(payload) or pos + 1 + payload[pos] != len(payload):
        raise _unreadable("bad length")
    try:
        licensee = payload[pos + 1 :].decode("utf-8")
    except UnicodeDecodeError:
        raise _unreadable("licensee is not UTF-8") from None
    return License(
        product=_PRODUCT_CODES.get(product, f"product #{product}"),
        installations=tuple(bindings),
        kind=_KIND_CODES[kind],
        expires=None if expires == 0 else EPOCH + timedelta(days=expires),
        max_major=max_major,
        issued=EPOCH + timedelta(days=issued),
        licensee=licensee or None,
    )
