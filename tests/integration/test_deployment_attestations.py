"""Each deployment says whether its image digest carries an attestation, and whether it verified."""

import shutil
from pathlib import Path

import dagster as dg

from cicl_assets.ci.attestations.formats import CI_ATTESTATIONS
from cicl_assets.deployments import assets as deployment_assets
from cicl_assets.landing import LandingZone

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "deployments"
DIGEST_1_8_0 = "sha256:" + "b2" * 32
DIGEST_1_7_3 = "sha256:" + "a1" * 32


def test_deployments_carry_the_attestation_status_of_their_image(tmp_path, duckdb_warehouse):
    landing_root = tmp_path / "landing" / "deployments"
    landing_root.mkdir(parents=True)
    shutil.copy(FIXTURES / "cicl-deployments-2026-11.jsonl", landing_root)
    duckdb_warehouse.append(
        CI_ATTESTATIONS,
        CI_ATTESTATIONS.from_records(
            [
                {"subject_digest": DIGEST_1_8_0, "verification": "verified"},
                {
                    "subject_digest": DIGEST_1_7_3,
                    "verification": "unverified: no trusted key configured",
                },
            ]
        ),
    )
    result = dg.materialize(
        deployment_assets.ASSETS,
        resources={
            "warehouse": duckdb_warehouse,
            "landing": LandingZone(uri=str(tmp_path / "landing")),
        },
    )
    assert result.success
    status = {
        r["deployment_id"]: r["attestation_status"]
        for r in duckdb_warehouse.query(
            "SELECT deployment_id, attestation_status FROM deployments"
        ).to_pylist()
    }
    # dep-prod-0044 names no image_digest: its digest is read from the image reference.
    assert status == {
        "dep-dev-0107": "verified",
        "dep-stg-0051": "verified",
        "dep-prod-0041": "attested-unverified",
        "dep-prod-0042": "verified",
        "dep-prod-0043": "attested-unverified",
        "dep-prod-0044": "verified",
    }
    metadata = result.asset_materializations_for_node("deployments")[0].metadata
    assert {k: v.value for k, v in metadata.items() if k.startswith("attestations/")} == {
        "attestations/dev/verified": 1,
        "attestations/staging/verified": 1,
        "attestations/production/verified": 2,
        "attestations/production/attested-unverified": 2,
    }
