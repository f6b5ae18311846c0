"""The demo's keys, made on first use in a folder of their own (``make demo``: .cicl/keys/) and
kept there, so the product ships no key that anyone could sign with:

- the release pipeline's attestation key (ECDSA P-256): the simulated pipeline signs its
  Sigstore bundles with it, and `make run` / `make ui` pass its public half to cicl as
  CICL_ATTESTATION_PUBLIC_KEY;
- cicl's own signing key (ed25519) and a trust file listing it, passed as CICL_SIGNING_KEY and
  CICL_TRUST_FILE, so the demo's audit chain heads are signed and verify;
- the redaction key (random text) users in feedback are pseudonymised with, passed as
  CICL_REDACTION_KEY.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cicl_assets.signer import Ed25519Signer, trust_entry, trust_file_text

ATTESTATION_KEY = "attestation-signing.key.pem"
ATTESTATION_PUBLIC_KEY = "attestation-signing.pub.pem"
SIGNING_KEY = "cicl-signing.key.pem"
TRUST_FILE = "trust.yaml"
REDACTION_KEY = "cicl-redaction.key"


@dataclass(frozen=True)
class DemoKeys:
    folder: Path
    attestation: ec.EllipticCurvePrivateKey

    @property
    def attestation_public_pem(self) -> str:
        return (self.folder / ATTESTATION_PUBLIC_KEY).read_text()


def _write_private(path: Path, pem: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def _pkcs8(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def ensure_keys(folder: Path) -> DemoKeys:
    """The keys in ``folder``, each made fresh when missing; existing ones are kept."""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / ATTESTATION_KEY).is_file():
        key = ec.generate_private_key(ec.SECP256R1())
        _write_private(folder / ATTESTATION_KEY, _pkcs8(key))
        (folder / ATTESTATION_PUBLIC_KEY).write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    if not (folder / SIGNING_KEY).is_file():
        signer = Ed25519Signer.generate()
        _write_private(folder / SIGNING_KEY, signer.private_key_pem().encode())
        entry = trust_entry(signer.public_key(), datetime.now(UTC))
        (folder / TRUST_FILE).write_text(trust_file_text([entry]))
    if not (folder / REDACTION_KEY).is_file():
        _write_private(folder / REDACTION_KEY, secrets.token_hex(32).encode())
    attestation = serialization.load_pem_private_key(
        (folder / ATTESTATION_KEY).read_bytes(), password=None
    )
    if not isinstance(attestation, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{folder / ATTESTATION_KEY}: not an EC private key")
    return DemoKeys(folder, attestation)
