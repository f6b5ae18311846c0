"""Offline signature checks for attestations: DSSE pre-authentication encoding, signature
verification with a configured public key or a bundle's certificate key, and the identity a
Fulcio certificate carries. Nothing here reaches a network, so a certificate chain is never
checked against the Fulcio root and a Rekor entry is never checked against the log."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

KEY_SETTING = "CICL_ATTESTATION_PUBLIC_KEY"
POLICY_FILE = Path("policies") / "attestation.yaml"

# Fulcio certificate extensions (https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md)
_FULCIO = "1.3.6.1.4.1.57264.1."
OID_ISSUER_V1 = _FULCIO + "1"
OID_ISSUER_V2 = _FULCIO + "8"
OID_SOURCE_REPO_URI = _FULCIO + "12"
OID_SOURCE_REPO_DIGEST = _FULCIO + "13"
OID_SOURCE_REPO_REF = _FULCIO + "14"
OID_BUILD_CONFIG_URI = _FULCIO + "18"
OID_GITHUB_REPOSITORY = _FULCIO + "5"
OID_GITHUB_SHA = _FULCIO + "3"
OID_GITHUB_REF = _FULCIO + "6"

NO_KEY = "unverified: no trusted key configured"
CHAIN_NOT_CHECKED = "unverified: certificate chain not checked against Fulcio root (offline)"
MISMATCH = "unverified: signature does not match"


def b64decode(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{what} is not a base64 string")
    text = value.strip()
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=False)
    except (binascii.Error, ValueError):
        try:
            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raise ValueError(f"{what} is not valid base64") from None


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what a DSSE signature actually signs."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


@dataclass(frozen=True)
class TrustedKey:
    key: Any
    label: str  # what a verified row says it was verified against


def key_fingerprint(key: Any) -> str:
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(der).hexdigest()


def load_public_key(pem: bytes, origin: str) -> TrustedKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"{origin}: not a PEM public key ({exc})") from None
    return TrustedKey(key, f"public key {key_fingerprint(key)} ({origin})")


@dataclass(frozen=True)
class AttestationTrust:
    """The public key attestations are verified against: PEM bytes and where they came from.

    Parsers get it as an argument; it is small and picklable so it crosses into ingest worker
    processes, and each process loads the key object once, when first asked.
    """

    pem: bytes | None = None
    origin: str = ""

    def key(self) -> TrustedKey | None:
        return _load_trusted(self.pem, self.origin) if self.pem else None


NO_TRUST = AttestationTrust()


@lru_cache(maxsize=8)
def _load_trusted(pem: bytes, origin: str) -> TrustedKey:
    return load_public_key(pem, origin)


def attestation_trust(public_key_pem: str | None, config_dir: Path) -> AttestationTrust:
    """The key of the settings (CICL_ATTESTATION_PUBLIC_KEY) when given, else the file named by
    ``public_key_path`` in <config_dir>/policies/attestation.yaml, else no key. The key is loaded
    here once, so a bad one stops the run before any file is parsed (ValueError)."""
    if public_key_pem and public_key_pem.strip():
        trust = AttestationTrust(public_key_pem.strip().encode(), KEY_SETTING)
    else:
        trust = _policy_trust(config_dir / POLICY_FILE)
    trust.key()
    return trust


def _policy_trust(policy: Path) -> AttestationTrust:
    if not policy.is_file():
        return NO_TRUST
    try:
        doc = yaml.safe_load(policy.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{policy}: not YAML ({exc})") from None
    path = doc.get("public_key_path") if isinstance(doc, dict) else None
    if not path:
        return NO_TRUST
    key_path = Path(path) if Path(path).is_absolute() else policy.parent / path
    try:
        return AttestationTrust(key_path.read_bytes(), str(key_path))
    except OSError as exc:
        raise ValueError(
            f"{policy}: public_key_path {path!r} cannot be read ({exc.strerror})"
        ) from None


def verify(key: Any, signature: bytes, message: bytes, *, prehashed: bool = False) -> bool:
    """Whether ``signature`` is ``key``'s signature of ``message`` (or of the SHA-256 digest
    ``message`` when ``prehashed``)."""
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            algo: Any = hashes.SHA384() if key.curve.key_size == 384 else hashes.SHA256()
            if prehashed:
                algo = utils.Prehashed(hashes.SHA256())
            key.verify(signature, message, ec.ECDSA(algo))
        elif isinstance(key, rsa.RSAPublicKey):
            algo = utils.Prehashed(hashes.SHA256()) if prehashed else hashes.SHA256()
            try:
                key.verify(signature, message, padding.PKCS1v15(), algo)
            except InvalidSignature:
                pss = padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.AUTO)
                key.verify(signature, message, pss, algo)
        elif isinstance(key, ed25519.Ed25519PublicKey) and not prehashed:
            key.verify(signature, message)
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class CertInfo:
    identity: str | None
    issuer: str | None
    not_before: datetime | None
    not_after: datetime | None
    source_repo: str | None
    source_commit: str | None
    source_ref: str | None
    build_config: str | None
    public_key: Any


def _der_string(raw: bytes) -> str:
    """Fulcio's newer extensions are DER UTF8Strings; the legacy ones are raw text."""
    if len(raw) >= 2 and raw[0] in (0x0C, 0x13, 0x16):
        length, start = raw[1], 2
        if length & 0x80:
            count = length & 0x7F
            length, start = int.from_bytes(raw[2 : 2 + count], "big"), 2 + count
        return raw[start : start + length].decode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


def load_certificate(value: Any) -> x509.Certificate:
    """A certificate as a bundle holds it (base64 DER) or a DSSE signature does (PEM)."""
    if isinstance(value, str) and "-----BEGIN CERTIFICATE-----" in value:
        return x509.load_pem_x509_certificate(value.encode())
    return x509.load_der_x509_certificate(b64decode(value, "certificate rawBytes"))


def certificate_info(cert: x509.Certificate) -> CertInfo:
    extensions: dict[str, str] = {}
    identity = None
    for ext in cert.extensions:
        oid = ext.oid.dotted_string
        if isinstance(ext.value, x509.SubjectAlternativeName):
            names = ext.value.get_values_for_type(x509.RFC822Name) + ext.value.get_values_for_type(
                x509.UniformResourceIdentifier
            )
            identity = names[0] if names else None
        elif oid.startswith(_FULCIO) and isinstance(ext.value, x509.UnrecognizedExtension):
            extensions[oid] = _der_string(ext.value.value)
    commit = extensions.get(OID_SOURCE_REPO_DIGEST) or extensions.get(OID_GITHUB_SHA)
    repo = extensions.get(OID_SOURCE_REPO_URI)
    if not repo and extensions.get(OID_GITHUB_REPOSITORY):
        repo = "https://github.com/" + extensions[OID_GITHUB_REPOSITORY]
    return CertInfo(
        identity=identity,
        issuer=extensions.get(OID_ISSUER_V2) or extensions.get(OID_ISSUER_V1),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        source_repo=repo,
        source_commit=commit if commit and re.fullmatch(r"[0-9a-f]{40}", commit) else None,
        source_ref=extensions.get(OID_SOURCE_REPO_REF) or extensions.get(OID_GITHUB_REF),
        build_config=extensions.get(OID_BUILD_CONFIG_URI),
        public_key=cert.public_key(),
    )


def check_signatures(
    signatures: list[bytes],
    message: bytes,
    key: TrustedKey | None,
    cert: CertInfo | None,
    *,
    prehashed: bool = False,
) -> tuple[str, str | None]:
    """(verification, verified_against) for signatures over ``message``.

    Only a configured key makes a row ``verified``. A certificate's key shows the signature
    is intact, but without the chain to the Fulcio root that proves nothing about who signed.
    """
    if not signatures:
        return "unverified: no signature", None
    if key is not None:
        if any(verify(key.key, s, message, prehashed=prehashed) for s in signatures):
            return "verified", key.label
        if cert is None:
            return MISMATCH, key.label
    if cert is not None:
        label = f"certificate public key {key_fingerprint(cert.public_key)}"
        if any(verify(cert.public_key, s, message, prehashed=prehashed) for s in signatures):
            return CHAIN_NOT_CHECKED, label + " (signature matches)"
        return MISMATCH, label
    return NO_KEY, None
