import pickle
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from cicl_assets.ci.attestations.formats import TrustedParser, attestation_formats
from cicl_assets.ci.attestations.signing import NO_TRUST, attestation_trust
from cicl_assets.resources import CiclConfig
from demo.ci_security import SIGNING_KEY


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


POLICY = "policies/attestation.yaml"


def _config(tmp_path: Path, policy: str | None, files: dict[str, str]) -> Path:
    (tmp_path / "policies").mkdir()
    if policy is not None:
        (tmp_path / POLICY).write_text(policy)
    for name, text in files.items():
        (tmp_path / "policies" / name).write_text(text)
    return tmp_path


def _pem() -> str:
    return (Path(__file__).parents[3] / "config/keys/demo-release-signing.pub.pem").read_text()


# (policy text, files beside it, PEM of the settings, expected origin or error)
CASES = [
    (None, {}, None, None),
    ("# no key configured\n", {}, None, None),
    ("public_key_path: signer.pub\n", {"signer.pub": "PEM"}, None, "{dir}/policies/signer.pub"),
    ("public_key_path: signer.pub\n", {}, "PEM", "CICL_ATTESTATION_PUBLIC_KEY"),
    ("public_key_path: gone.pem\n", {}, None,
     ValueError("{dir}/policies/attestation.yaml: public_key_path 'gone.pem' cannot be read "
                "(No such file or directory)")),
    ("public_key_path: [unclosed\n", {}, None,
     ValueError("{dir}/policies/attestation.yaml: not YAML")),
    ("public_key_path: signer.pub\n", {"signer.pub": "not a key"}, None,
     ValueError("{dir}/policies/signer.pub: not a PEM public key")),
    (None, {}, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
     ValueError("CICL_ATTESTATION_PUBLIC_KEY: not a PEM public key")),
]  # fmt: skip


@pytest.mark.parametrize(("policy", "files", "pem", "expected"), CASES)
def test_the_trust_of_the_settings_and_the_policy(tmp_path, policy, files, pem, expected):
    files = {name: _pem() if text == "PEM" else text for name, text in files.items()}
    config = CiclConfig(
        config_dir=str(_config(tmp_path, policy, files)),
        attestation_public_key=_pem() if pem == "PEM" else pem,
    )
    if isinstance(expected, ValueError):
        with pytest.raises(ValueError) as raised:
            config.attestation_trust()
        assert str(raised.value).startswith(str(expected).format(dir=tmp_path))
        return
    trust = config.attestation_trust()
    if expected is None:
        assert trust == NO_TRUST
        return
    key = trust.key()
    assert key is not None and key.label.endswith(f"({expected.format(dir=tmp_path)})")
    # what the ingest workers get: it pickles, and unpickled it loads the same key
    parser = pickle.loads(pickle.dumps(attestation_formats(trust)[0].parse))
    assert parser == TrustedParser(trust) and parser.trust.key().label == key.label
