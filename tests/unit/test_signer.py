"""cicl's one signing key and the trust file: key ids, signatures, validity and rotation."""

from __future__ import annotations

import base64
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from cicl_assets.secrets import Secret
from cicl_assets.signer import (
    Ed25519Signer,
    SigningKeyError,
    Trust,
    TrustedKey,
    TrustFileError,
    key_id,
    load_signer,
    load_trust,
    parse_trust,
    public_key_pem,
    trust_entry,
    trust_file_text,
)

SEEDED = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
T = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


def test_the_key_id_is_the_start_of_the_sha256_of_the_raw_public_key():
    raw = SEEDED.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert raw.hex() == "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
    assert key_id(SEEDED.public_key()) == "ed25519:56475aa75463474c0285df5dbf2bcab7"
    assert Ed25519Signer(SEEDED).key_id == "ed25519:56475aa75463474c0285df5dbf2bcab7"


def test_a_signer_signs_and_never_shows_its_key():
    signer = Ed25519Signer.from_pem(Ed25519Signer(SEEDED).private_key_pem(), "CICL_SIGNING_KEY")
    signature = signer.sign(b"message")
    SEEDED.public_key().verify(signature, b"message")
    assert repr(signer) == "Ed25519Signer(ed25519:56475aa75463474c0285df5dbf2bcab7)"
    assert signer.algorithm == "ed25519"


def _ec_pem() -> str:
    return (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def _encrypted_pem() -> str:
    return SEEDED.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass"),
    ).decode()


@pytest.mark.parametrize(
    "pem",
    [_ec_pem(), _encrypted_pem(), "not a key at all", public_key_pem(SEEDED.public_key())],
    ids=["ec-key", "encrypted", "garbage", "public-key"],
)
def test_only_an_unencrypted_ed25519_private_key_signs(pem):
    with pytest.raises(SigningKeyError) as raised:
        Ed25519Signer.from_pem(pem, "CICL_SIGNING_KEY")
    assert str(raised.value) == (
        "CICL_SIGNING_KEY: is not an unencrypted ed25519 private key in PEM "
        "(-----BEGIN PRIVATE KEY----- ...)"
    )
    assert load_signer(None) is None


def test_load_signer_reads_a_literal_secret():
    pem = Ed25519Signer(SEEDED).private_key_pem()
    assert load_signer(Secret("CICL_SIGNING_KEY", pem)).key_id == key_id(SEEDED.public_key())


OLD = ed25519.Ed25519PrivateKey.from_private_bytes(b"\x01" * 32)
NEW = ed25519.Ed25519PrivateKey.from_private_bytes(b"\x02" * 32)
STRANGER = ed25519.Ed25519PrivateKey.from_private_bytes(b"\x03" * 32)
ROTATION = Trust(
    (
        TrustedKey(key_id(OLD.public_key()), OLD.public_key(), T - timedelta(days=365), T),
        TrustedKey(key_id(NEW.public_key()), NEW.public_key(), T),
    ),
    "trust.yaml",
)


def _signature(key, message: bytes = b"record", **changes) -> dict:
    signature = {
        "key_id": key_id(key.public_key()),
        "algorithm": "ed25519",
        "value": base64.b64encode(key.sign(message)).decode(),
    }
    return signature | changes


OLD_ID, NEW_ID, STRANGER_ID = (key_id(k.public_key()) for k in (OLD, NEW, STRANGER))
# (signature, signed at, why it is refused or None)
CHECKS = [
    (_signature(OLD), T - timedelta(seconds=1), None),
    (_signature(NEW), T, None),
    (_signature(NEW), T + timedelta(days=900), None),
    (_signature(OLD), T,
     f"signed at 2026-11-03T12:00:00+00:00 by key {OLD_ID}, outside its validity (valid from "
     "2025-11-03T12:00:00+00:00 to 2026-11-03T12:00:00+00:00)"),
    (_signature(NEW), T - timedelta(seconds=1),
     f"signed at 2026-11-03T11:59:59+00:00 by key {NEW_ID}, outside its validity (valid from "
     "2026-11-03T12:00:00+00:00 to no end)"),
    (_signature(STRANGER), T, f"signed by key {STRANGER_ID} that trust.yaml does not list"),
    (_signature(STRANGER, key_id=NEW_ID), T,
     f"signature by key {NEW_ID} does not match the record"),
    (_signature(NEW, b"another record"), T,
     f"signature by key {NEW_ID} does not match the record"),
    (_signature(NEW, value="not base64!"), T,
     f"signature by key {NEW_ID} does not match the record"),
    (_signature(NEW, algorithm="ecdsa"), T, "signature algorithm 'ecdsa' is not ed25519"),
    (None, T, "not signed"),
]  # fmt: skip


@pytest.mark.parametrize(("signature", "signed_at", "refused"), CHECKS)
def test_a_signature_is_accepted_only_from_a_listed_key_within_its_validity(
    signature, signed_at, refused
):
    assert ROTATION.check(b"record", signature, signed_at) == refused


def _entry(key, **changes) -> dict:
    return trust_entry(key.public_key(), T) | changes


def test_a_trust_file_round_trips_and_a_missing_one_trusts_nothing(tmp_path):
    path = tmp_path / "keys.yaml"
    path.write_text(trust_file_text([_entry(OLD, valid_until="2027-01-01T00:00:00Z"), _entry(NEW)]))
    trust = load_trust(path)
    assert [(k.key_id, k.valid_from, k.valid_until) for k in trust.keys] == [
        (OLD_ID, T, datetime(2027, 1, 1, tzinfo=UTC)),
        (NEW_ID, T, None),
    ]
    assert trust.origin == str(path)
    missing = load_trust(tmp_path / "none.yaml")
    assert (
        missing.keys == ()
        and missing.origin == f"{tmp_path / 'none.yaml'} (missing: no key trusted)"
    )
    assert parse_trust("keys: []\n", "x").keys == ()
    assert parse_trust("# nothing\n", "x").keys == ()


EC_PUBLIC = public_key_pem(ec.generate_private_key(ec.SECP256R1()).public_key())  # type: ignore[arg-type]
# (trust file text, the error)
BAD_TRUST = [
    ("keys: [", "t.yaml: not YAML"),
    ("- a\n- b\n", "t.yaml: is not a mapping with a `keys` list"),
    ("keys: {a: 1}\n", "t.yaml: `keys` is not a list"),
    ("keys: [text]\n", "t.yaml: keys[0]: is not a mapping with key_id, public_key, valid_from"),
    (trust_file_text([_entry(OLD, public_key=EC_PUBLIC)]),
     "t.yaml: keys[0]: public_key is not an ed25519 public key in PEM"),
    (trust_file_text([_entry(OLD, key_id=NEW_ID)]),
     f"t.yaml: keys[0]: key_id '{NEW_ID}' is not the public key's id {OLD_ID}"),
    (trust_file_text([_entry(OLD, valid_from=None)]),
     "t.yaml: keys[0]: valid_from is missing (a timestamp is required)"),
    (trust_file_text([_entry(OLD, valid_until="2020-01-01T00:00:00Z")]),
     "t.yaml: keys[0]: valid_until is not after valid_from"),
    (trust_file_text([_entry(OLD), _entry(OLD)]), f"t.yaml: key {OLD_ID} is listed twice"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "error"), BAD_TRUST)
def test_a_malformed_trust_file_is_refused_naming_the_entry(text, error):
    with pytest.raises(TrustFileError) as raised:
        parse_trust(text, "t.yaml")
    assert str(raised.value).startswith(error)


def _keygen(*args: str) -> subprocess.CompletedProcess:
    script = Path(__file__).resolve().parents[2] / "scripts" / "cicl.py"
    return subprocess.run(
        [sys.executable, str(script), "keygen", *args], capture_output=True, text=True, check=False
    )


def test_keygen_writes_a_private_key_and_its_trust_entry_once(tmp_path):
    done = _keygen("--out", str(tmp_path / "k"), "--valid-from", "2026-11-03T12:00:00Z")
    assert done.returncode == 0, done.stderr
    key_path = tmp_path / "k" / "cicl-signing.key.pem"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    signer = Ed25519Signer.from_pem(key_path.read_text(), "CICL_SIGNING_KEY")
    [trusted] = load_trust(tmp_path / "k" / "trust.yaml").keys
    assert (trusted.key_id, trusted.valid_from, trusted.valid_until) == (signer.key_id, T, None)
    assert done.stdout.startswith(f"{signer.key_id}: private key {key_path}")
    again = _keygen("--out", str(tmp_path / "k"))
    assert again.returncode == 1
    assert again.stderr.strip() == f"{key_path} exists; keygen never replaces a key"
    assert Ed25519Signer.from_pem(key_path.read_text(), "x").key_id == signer.key_id
