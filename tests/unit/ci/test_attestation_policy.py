import pickle
from functools import cache
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cicl_assets.ci.attestations.formats import TrustedParser, attestation_formats
from cicl_assets.ci.attestations.signing import NO_KEY, NO_TRUST, attestation_trust
from cicl_assets.resources import CiclConfig
from cicl_assets.signer import load_trust
from tests.unit.ci.test_attestations import _envelope, _keypair, _rows, _statement

CONFIG = Path(__file__).parents[3] / "config"


def test_the_shipped_config_trusts_no_key():
    assert attestation_trust(None, CONFIG) == NO_TRUST
    assert not list(CONFIG.rglob("*.pem"))
    assert load_trust(CONFIG / "trust" / "keys.yaml").keys == ()
    sign, _ = _keypair("ec")
    (row,) = _rows(_envelope(sign, _statement()), trust=attestation_trust(None, CONFIG))
    assert row["verification"] == NO_KEY == "unverified: no trusted key configured"


POLICY = "policies/attestation.yaml"


def _config(tmp_path: Path, policy: str | None, files: dict[str, str]) -> Path:
    (tmp_path / "policies").mkdir()
    if policy is not None:
        (tmp_path / POLICY).write_text(policy)
    for name, text in files.items():
        (tmp_path / "policies" / name).write_text(text)
    return tmp_path


@cache
def _pem() -> str:
    """A public key made for these tests."""
    return (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


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
