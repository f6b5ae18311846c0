"""The demo makes its own keys and signs with them: no key anyone else holds is trusted."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from cicl_assets.signer import Ed25519Signer, load_trust
from demo.ci_files import run_files
from demo.ci_security import verify_bundle
from demo.history_plan import plan_history
from demo.keys import ATTESTATION_KEY, REDACTION_KEY, SIGNING_KEY, TRUST_FILE, ensure_keys


def test_keys_are_made_once_private_and_kept(tmp_path: Path):
    first = ensure_keys(tmp_path / "keys")
    files = sorted(p.name for p in (tmp_path / "keys").iterdir())
    assert files == [
        "attestation-signing.key.pem",
        "attestation-signing.pub.pem",
        "cicl-redaction.key",
        "cicl-signing.key.pem",
        "trust.yaml",
    ]
    for name in (ATTESTATION_KEY, SIGNING_KEY, REDACTION_KEY):
        assert stat.S_IMODE((tmp_path / "keys" / name).stat().st_mode) == 0o600
    again = ensure_keys(tmp_path / "keys")
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    assert again.attestation.public_key().public_bytes(der, public) == (
        first.attestation.public_key().public_bytes(der, public)
    )
    signer = Ed25519Signer.from_pem((tmp_path / "keys" / SIGNING_KEY).read_text(), "demo")
    [trusted] = load_trust(tmp_path / "keys" / TRUST_FILE).keys
    assert trusted.key_id == signer.key_id
    assert first.attestation_public_pem.startswith("-----BEGIN PUBLIC KEY-----")


def test_two_demos_sign_with_their_own_keys(tmp_path: Path):
    mine, theirs = ensure_keys(tmp_path / "mine"), ensure_keys(tmp_path / "theirs")
    run = next(r for r in plan_history(7).runs if r.signed)
    bundle = json.loads(run_files(run, 7, mine.attestation)["attestation.sigstore.json"])
    assert verify_bundle(bundle, mine.attestation.public_key())["subject"]
    with pytest.raises(InvalidSignature):
        verify_bundle(bundle, theirs.attestation.public_key())
    # deterministic for one key: the same bytes again
    assert run_files(run, 7, mine.attestation) == run_files(run, 7, mine.attestation)


def test_with_the_demo_key_passed_the_demo_deploys_verify(
    demo_landing: Path, pipeline_key, tmp_path
):
    """The demo's story is unchanged: with its pipeline key passed as CICL_ATTESTATION_PUBLIC_KEY
    every signed image verifies (11 production deploys), and without a key none does."""
    import dagster as dg

    from cicl_assets.ci import assets as ci
    from cicl_assets.deployments import assets as deployments
    from cicl_assets.resources import build_resources
    from cicl_assets.settings import Settings

    pem = pipeline_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    landing = tmp_path / "landing"  # the deployments and the runs' attestations only
    shutil.copytree(demo_landing / "deployments", landing / "deployments")
    for bundle in demo_landing.glob("ci/*/attestation.sigstore.json"):
        copied = landing / bundle.relative_to(demo_landing)
        copied.parent.mkdir(parents=True)
        shutil.copy(bundle, copied)
    figures = {}
    for name, key in (("keyed", pem.decode()), ("keyless", "")):
        env = {
            "CICL_DUCKDB_PATH": str(tmp_path / f"{name}.duckdb"),
            "CICL_LANDING_URI": str(landing),
            "CICL_ATTESTATION_PUBLIC_KEY": key,
        }
        result = dg.materialize(
            [*ci.ASSETS, *deployments.ASSETS], resources=build_resources(Settings.from_env(env))
        )
        [mat] = result.asset_materializations_for_node("deployments")
        figures[name] = {
            k: v.value for k, v in mat.metadata.items() if k.startswith("attestations/production")
        }
    assert figures == {
        "keyed": {"attestations/production/verified": 11},
        "keyless": {"attestations/production/attested-unverified": 11},
    }
