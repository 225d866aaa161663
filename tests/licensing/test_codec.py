"""Every mistyped or cut-off key is refused, exhaustively, and for the right reason."""

from __future__ import annotations

import zlib

import pytest

from hotline.licensing.codec import (
    CROCKFORD,
    KEY_PREFIX,
    b32decode,
    b32encode,
    decode_payload,
    encode_payload,
    format_key,
    unpack_key,
)
from hotline.licensing.errors import (
    BadSignatureError,
    DamagedKeyError,
    LicenseError,
    MissingKeyError,
    NotAKeyError,
)
from hotline.licensing.model import InstallationIdentity, License, LicenseKind
from tests.licensing.conftest import ENTITY_ID, ISSUED, SERVER_B, THIS_PBX, Vendor, refused


@pytest.fixture
def key(vendor: Vendor) -> str:
    return vendor.issue(kind="demo", expires=ISSUED.replace(year=2031), licensee="Acme")


def test_key_text_shape(key: str) -> None:
    prefix, *blocks = key.split("-")
    assert prefix == KEY_PREFIX
    assert all(len(b) == 5 for b in blocks[:-1])
    assert 1 <= len(blocks[-1]) <= 5
    assert set("".join(blocks)) <= set(CROCKFORD)
    assert not set("ILOU") & set("".join(blocks))


def test_every_single_character_substitution_is_refused_as_a_typo(vendor: Vendor, key: str) -> None:
    """All positions x all 31 other symbols; the checksum catches each before the signature."""
    verifier = vendor.verifier()
    verifier.verify(key, THIS_PBX, 3)
    tried = 0
    wrong: list[str] = []
    for pos, original in enumerate(key):
        if original == "-":
            continue
        expected = NotAKeyError if pos < len(KEY_PREFIX) else DamagedKeyError
        for symbol in CROCKFORD:
            if symbol == original:
                continue
            tried += 1
            mutant = key[:pos] + symbol + key[pos + 1 :]
            try:
                verifier.verify(mutant, THIS_PBX, 3)
            except LicenseError as exc:
                if type(exc) is not expected:
                    wrong.append(f"{pos}:{symbol} -> {type(exc).__name__}")
            else:
                wrong.append(f"{pos}:{symbol} accepted")
    assert wrong == []
    assert tried == sum(32 - (c in CROCKFORD) for c in key.replace("-", ""))  # L is not in it


def test_every_deleted_or_inserted_character_is_refused(vendor: Vendor, key: str) -> None:
    verifier = vendor.verifier()
    accepted: list[str] = []
    for pos in range(len(key)):
        if key[pos] == "-":
            continue
        for mutant in [key[:pos] + key[pos + 1 :], key[:pos] + "Q" + key[pos:]]:
            try:
                verifier.verify(mutant, THIS_PBX, 3)
            except (DamagedKeyError, NotAKeyError):
                pass
            else:
                accepted.append(mutant)
    assert accepted == []


def test_every_truncation_is_refused(vendor: Vendor, key: str) -> None:
    verifier = vendor.verifier()
    wrong: list[str] = []
    for cut in range(len(key)):
        for part in (key[:cut], key[len(key) - cut :]):  # the start kept, or the end kept
            try:
                verifier.verify(part, THIS_PBX, 3)
            except (MissingKeyError, NotAKeyError, DamagedKeyError):
                pass
            except LicenseError as exc:
                wrong.append(f"{part!r} -> {type(exc).__name__}")
            else:
                wrong.append(f"{part!r} accepted")
    assert wrong == []


def test_signature_covers_every_bit_even_with_a_recomputed_checksum(
    vendor: Vendor, key: str
) -> None:
    """A forger who fixes the checksum still fails: each flipped bit breaks the signature."""
    signed = unpack_key(key)
    raw = signed.payload + signed.signature
    verifier = vendor.verifier()
    accepted: list[int] = []
    for bit in range(len(raw) * 8):
        flipped = bytearray(raw)
        flipped[bit // 8] ^= 1 << (bit % 8)
        n = len(signed.payload)
        forged = format_key(bytes(flipped[:n]), bytes(flipped[n:]))
        try:
            verifier.verify(forged, THIS_PBX, 3)
        except BadSignatureError:
            pass
        else:
            accepted.append(bit)
    assert accepted == []


def test_checksum_and_signature_sizes(key: str) -> None:
    raw = b32decode(key.replace("-", "")[len(KEY_PREFIX) :])
    signed = unpack_key(key)
    assert raw[-4:] == zlib.crc32(raw[:-4]).to_bytes(4, "big")
    assert len(signed.signature) == 64
    assert raw[:-4] == signed.payload + signed.signature


@pytest.mark.parametrize("length", range(12))
def test_base32_round_trip_and_single_spelling(length: int) -> None:
    data = bytes(range(200, 200 + length))
    text = b32encode(data)
    assert b32decode(text) == data
    if length and (length * 8) % 5:
        # the last symbol carries unused bits: a different symbol with the same used bits
        # would decode to the same bytes, and must be refused instead
        last = CROCKFORD.index(text[-1])
        unused = 5 - (length * 8) % 5
        twin = text[:-1] + CROCKFORD[last ^ (1 << (unused - 1))]
        with pytest.raises(DamagedKeyError):
            b32decode(twin)


def test_character_outside_the_alphabet_is_named(key: str) -> None:
    mutant = key[:10] + "U" + key[11:]
    exc = refused(DamagedKeyError, lambda: unpack_key(mutant))
    assert "'U'" in str(exc)


def test_payload_round_trip_keeps_every_field() -> None:
    lic = License(
        product="hotline",
        installations=THIS_PBX.hashes + InstallationIdentity.of(SERVER_B, ENTITY_ID).hashes,
        kind=LicenseKind.NFR,
        expires=ISSUED.replace(year=2179),
        max_major=255,
        issued=ISSUED,
        licensee="Müller & Söhne Telefonie",
    )
    assert decode_payload(encode_payload(lic)) == lic


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p[:-1],  # licensee cut short
        lambda p: p + b"x",  # trailing garbage
        lambda p: bytes([2]) + p[1:],  # inner format version
        lambda p: p[:2] + bytes([7]) + p[3:],  # unknown kind
        lambda p: p[:8] + bytes([0]) + p[9:],  # zero installations
        lambda p: p[:9] + bytes([5]) + p[10:],  # unknown binding kind
    ],
)
def test_inconsistent_payload_is_damaged_not_a_crash(damage: object) -> None:
    assert callable(damage)
    lic = License("hotline", THIS_PBX.hashes, LicenseKind.FULL, None, 1, ISSUED, "Acme")
    refused(DamagedKeyError, lambda: decode_payload(damage(encode_payload(lic))))
