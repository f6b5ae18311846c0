"""The one key cicl signs with, and the keys it trusts.

Everything cicl signs (audit chain heads now; release manifests and evidence bundles later)
goes through a ``Signer``: ``sign(message) -> signature`` and the ``key_id`` of its public key.
``Ed25519Signer`` holds the private key the settings resolve (CICL_SIGNING_KEY: a PKCS#8 PEM, or
a Secret Manager reference to one). A Cloud KMS signer could implement the same two members;
none ships, since it cannot be tested offline.

What is accepted is decided by a trust file, never by the signer: each entry lists a key id,
the PEM public key and the time range the key signs in, so a key can be rotated (the old one
gets a ``valid_until``, the new one is added) without breaking what the old key signed.

A key id is ``ed25519:`` followed by the first 32 hex characters of the SHA-256 of the raw
32-byte public key.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import yaml
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from cicl_assets.ingest.content import ParseError
from cicl_assets.ingest.values import require_time
from cicl_assets.secrets import Secret, SecretRef, resolve_secret

ALGORITHM = "ed25519"
KEY_ID_PREFIX = "ed25519:"


class SigningKeyError(ValueError):
    """A signing key cannot be used; the message names where it came from, never its value."""


class TrustFileError(ValueError):
    """The trust file cannot be read; the message names the file and the entry."""


class Signer(Protocol):
    """What signs: a key id naming the public key, and a signature over bytes."""

    @property
    def key_id(self) -> str: ...

    @property
    def algorithm(self) -> str: ...

    def sign(self, message: bytes) -> bytes: ...


def key_id(public_key: ed25519.Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return KEY_ID_PREFIX + hashlib.sha256(raw).hexdigest()[:32]


def public_key_pem(public_key: ed25519.Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


class Ed25519Signer:
    """An ed25519 private key held in memory; it never shows itself."""

    __slots__ = ("_key", "key_id")
    algorithm = ALGORITHM

    def __init__(self, private_key: ed25519.Ed25519PrivateKey):
        self._key = private_key
        self.key_id = key_id(private_key.public_key())

    @classmethod
    def from_pem(cls, pem: str, origin: str) -> Ed25519Signer:
        try:
            key = serialization.load_pem_private_key(pem.strip().encode(), password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            key = None
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise SigningKeyError(
                f"{origin}: is not an unencrypted ed25519 private key in PEM "
                "(-----BEGIN PRIVATE KEY----- ...)"
            )
        return cls(key)

    @classmethod
    def generate(cls) -> Ed25519Signer:
        return cls(ed25519.Ed25519PrivateKey.generate())

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def public_key(self) -> ed25519.Ed25519PublicKey:
        return self._key.public_key()

    def private_key_pem(self) -> str:
        """The private key as PKCS#8 PEM, for writing a new key to its secret store."""
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def __repr__(self) -> str:
        return f"Ed25519Signer({self.key_id})"


_SIGNERS: dict[str, Ed25519Signer] = {}


def load_signer(value: Secret | SecretRef | None, *, client: Any = None) -> Ed25519Signer | None:
    """The signer a setting names (None when unset); a Secret Manager reference is read once
    per process."""
    if value is None:
        return None
    if isinstance(value, Secret):
        return Ed25519Signer.from_pem(value.reveal(), value.variable)
    cached = _SIGNERS.get(str(value))
    if cached is None:
        secret = resolve_secret(value, client=client)
        cached = _SIGNERS[str(value)] = Ed25519Signer.from_pem(secret.reveal(), str(value))
    return cached


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class TrustedKey:
    key_id: str
    public_key: ed25519.Ed25519PublicKey
    valid_from: datetime
    valid_until: datetime | None = None

    def covers(self, moment: datetime) -> bool:
        return self.valid_from <= moment and (self.valid_until is None or moment < self.valid_until)

    def validity(self) -> str:
        until = self.valid_until.isoformat() if self.valid_until else "no end"
        return f"valid from {self.valid_from.isoformat()} to {until}"


@dataclass(frozen=True)
class Trust:
    """The keys whose signatures are accepted, and where that list came from."""

    keys: tuple[TrustedKey, ...] = ()
    origin: str = "no trust file"

    def find(self, wanted: str) -> TrustedKey | None:
        return next((k for k in self.keys if k.key_id == wanted), None)

    def check(self, message: bytes, signature: dict | None, signed_at: datetime) -> str | None:
        """Why ``signature`` (``{key_id, algorithm, value}``) over ``message`` made at
        ``signed_at`` is not accepted, or None when it is."""
        if not isinstance(signature, dict):
            return "not signed"
        wanted = signature.get("key_id")
        key = self.find(wanted) if isinstance(wanted, str) else None
        if key is None:
            return f"signed by key {wanted} that {self.origin} does not list"
        if signature.get("algorithm") != ALGORITHM:
            return f"signature algorithm {signature.get('algorithm')!r} is not {ALGORITHM}"
        try:
            raw = base64.b64decode(str(signature.get("value")), validate=True)
            key.public_key.verify(raw, message)
        except (InvalidSignature, ValueError):
            return f"signature by key {key.key_id} does not match the record"
        if not key.covers(signed_at):
            return (
                f"signed at {signed_at.isoformat()} by key {key.key_id}, outside its validity "
                f"({key.validity()})"
            )
        return None


def _entry(raw: Any, where: str) -> TrustedKey:
    if not isinstance(raw, dict):
        raise TrustFileError(f"{where}: is not a mapping with key_id, public_key, valid_from")
    try:
        public = serialization.load_pem_public_key(str(raw.get("public_key", "")).encode())
    except (ValueError, UnsupportedAlgorithm):
        public = None
    if not isinstance(public, ed25519.Ed25519PublicKey):
        raise TrustFileError(f"{where}: public_key is not an ed25519 public key in PEM")
    derived = key_id(public)
    if raw.get("key_id") != derived:
        raise TrustFileError(
            f"{where}: key_id {raw.get('key_id')!r} is not the public key's id {derived}"
        )
    try:
        valid_from = require_time(raw.get("valid_from"), "valid_from")
        until = raw.get("valid_until")
        valid_until = None if until in (None, "") else require_time(until, "valid_until")
    except ParseError as exc:
        raise TrustFileError(f"{where}: {exc}") from None
    if valid_until is not None and valid_until <= valid_from:
        raise TrustFileError(f"{where}: valid_until is not after valid_from")
    return TrustedKey(derived, public, valid_from, valid_until)


def parse_trust(text: str, origin: str) -> Trust:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TrustFileError(f"{origin}: not YAML ({exc})") from None
    if doc is not None and not isinstance(doc, dict):
        raise TrustFileError(f"{origin}: is not a mapping with a `keys` list")
    entries = (doc or {}).get("keys") or []
    if not isinstance(entries, list):
        raise TrustFileError(f"{origin}: `keys` is not a list")
    keys = tuple(_entry(raw, f"{origin}: keys[{i}]") for i, raw in enumerate(entries))
    ids = [k.key_id for k in keys]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise TrustFileError(f"{origin}: key {repeated[0]} is listed twice")
    return Trust(keys, origin)


def load_trust(path: Path) -> Trust:
    """The trust file at ``path``; a missing file trusts no key."""
    if not path.is_file():
        return Trust((), f"{path} (missing: no key trusted)")
    return parse_trust(path.read_text(), str(path))


def trust_entry(public_key: ed25519.Ed25519PublicKey, valid_from: datetime) -> dict[str, Any]:
    """A trust file entry for ``public_key``, valid from ``valid_from`` on."""
    return {
        "key_id": key_id(public_key),
        "public_key": public_key_pem(public_key),
        "valid_from": valid_from.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "valid_until": None,
    }


def trust_file_text(entries: list[dict[str, Any]]) -> str:
    header = (
        "# Keys whose signatures cicl accepts (docs/audit-chain.md, 'Keys'). To rotate, give the\n"
        "# old key a valid_until and add the new one: what the old key signed keeps verifying.\n"
    )
    return header + yaml.safe_dump({"keys": entries}, sort_keys=False)
