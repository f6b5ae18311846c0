from pathlib import Path

from cryptography.hazmat.primitives import serialization

from cicl_assets.ci.attestations.signing import attestation_trust
from cicl_assets.demo.ci_security import SIGNING_KEY


def test_the_shipped_policy_trusts_the_demo_release_key():
    trusted = attestation_trust(None, Path("config")).key()
    assert trusted is not None
    expected = SIGNING_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    actual = trusted.key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert actual == expected
