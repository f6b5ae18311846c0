"""The demo's compliance stories: its pipeline history ingested into DuckDB with the demo's keys,
then deployment_evidence, the gate and the rollback check. The gate lists exactly the demo's bad
production deploys: the rolled-back 0.9.2, 0.9.3 shipped after its waiver expired, the 0.9.4
hotfix shipped on a Friday, and its rollback to 0.9.3 (a digest that was not known good)."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import dagster as dg
import pytest
from cryptography.hazmat.primitives import serialization

import definitions
from cicl_assets.compliance.assets import GATE_CHECK, ROLLBACK_CHECK, compliance_evidence
from cicl_assets.landing import LandingZone
from cicl_assets.resources import CiclConfig
from cicl_assets.signer import Ed25519Signer, trust_entry
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from demo import story
from tests.signing_keys import SINCE, write_trust


@pytest.fixture(scope="module")
def judged(demo_landing: Path, pipeline_key, tmp_path_factory):
    root = tmp_path_factory.mktemp("compliance-demo")
    landing = root / "landing"  # the pipeline history only: runs, deployments, CI/CD steps
    for folder in ("ci", "deployments", "audit/cicd"):
        shutil.copytree(demo_landing / folder, landing / folder)
    signer = Ed25519Signer.generate()
    config = CiclConfig(
        outbox_uri=str(root / "outbox"),
        attestation_public_key=pipeline_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
        signing_key=signer.private_key_pem(),
        trust_file=str(write_trust(root / "trust.yaml", trust_entry(signer.public_key(), SINCE))),
    )
    warehouse = DuckDBWarehouse(path=str(root / "w.duckdb"))
    resources = {
        "warehouse": warehouse,
        "landing": LandingZone(uri=str(landing)),
        "cicl_config": config,
    }
    unpartitioned = [a for a in definitions.defs.assets if not getattr(a, "partitions_def", None)]
    ingest = dg.AssetSelection.groups("ci", "deployments", "audit")
    assert dg.materialize(unpartitioned, resources=resources, selection=ingest).success
    result = dg.materialize([compliance_evidence], resources=resources, raise_on_error=False)
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    return warehouse, checks, root, signer


def test_the_gate_lists_exactly_the_bad_production_deploys(judged):
    warehouse, checks, _, _ = judged
    assert checks[GATE_CHECK].passed is False
    assert checks[GATE_CHECK].metadata["deployments"].value == list(
        story.FAILING_GATE_DEPLOYMENT_IDS
    )
    reasons = {
        r["deployment_id"]: r["reasons"]
        for r in warehouse.query(
            "SELECT deployment_id, reasons FROM deployment_evidence "
            "WHERE environment = 'production' AND verdict = 'fail'"
        ).to_pylist()
    }
    window = (
        "change_window: started Fri 2026-10-30 {local} Europe/Berlin, outside every weekly change "
        "window; change_window: its record claims the window 2026-10-30 13:00 UTC to 2026-10-30 "
        "15:00 UTC, which the policy does not grant"
    )
    expired = (
        f"scan: CRITICAL {story.EXPIRED_WAIVER_CVE} in libexpat1 2.5.0-1 (trivy) blocks: its "
        "waiver by security-lead@coditect.example expired 2026-10-26 00:00 UTC"
    )
    health = (
        "post_deploy: post-deploy step health-check failed; "
        "post_deploy: post-deploy step ingress-check failed"
    )
    assert reasons == {
        story.ROLLED_BACK_DEPLOYMENT_ID: health,
        story.EXPIRED_WAIVER_DEPLOYMENT_ID: expired,
        story.OUT_OF_WINDOW_DEPLOYMENT_ID: f"{window.format(local='14:00')}; {health}",
        story.NOT_KNOWN_GOOD_ROLLBACK_ID: f"{expired}; {window.format(local='14:35')}",
    }


def test_one_rollback_to_a_known_good_digest_and_one_to_a_digest_that_was_not(judged):
    warehouse, checks, _, _ = judged
    found = warehouse.query(
        "SELECT r.deployment_id, r.ok, r.known_good_deployment_id, r.to_digest = k.image_digest "
        "AS to_known_good FROM rollback_checks r LEFT JOIN deployment_evidence k "
        "ON k.deployment_id = r.known_good_deployment_id ORDER BY r.deployment_id"
    ).to_pylist()
    assert [tuple(r.values()) for r in found] == [
        # back to 0.9.1, deployed by dep-prod-0001, which passed
        (story.KNOWN_GOOD_ROLLBACK_ID, True, "dep-prod-0001", True),
        # back to 0.9.3, whose deploy failed its gate: 0.9.1 was still the last known good
        (story.NOT_KNOWN_GOOD_ROLLBACK_ID, False, "dep-prod-0004", False),
    ]
    assert checks[ROLLBACK_CHECK].passed is False
    assert checks[ROLLBACK_CHECK].metadata["deployments"].value == [
        story.NOT_KNOWN_GOOD_ROLLBACK_ID
    ]


def test_every_production_deploy_has_a_verifying_bundle(judged):
    from cicl_assets.compliance.verify import verify_bundle

    warehouse, _, root, signer = judged
    rows = {
        r["deployment_id"]: r
        for r in warehouse.query(
            "SELECT * FROM deployment_evidence WHERE environment = 'production'"
        ).to_pylist()
    }
    bundles = sorted((root / "outbox" / "evidence").rglob("*.intoto.jsonl"))
    named = set()
    for path in bundles:
        data = path.read_bytes()
        assert verify_bundle(data, signer.public_key(), rows.get) == [], path
        statement = json.loads(base64.b64decode(json.loads(data.splitlines()[0])["payload"]))
        named.add(statement["predicate"]["deployment"]["deployment_id"])
    assert named == set(rows) and len(rows) == len(bundles) == 11


@pytest.mark.ui
def test_the_report_of_october_and_november_shows_the_stories_in_a_browser(judged):
    """`scripts/cicl.py compliance-report` over the demo's months, opened in headless Chromium:
    the bad production deploys and the rollbacks it shows are the warehouse's and the story's."""
    import os
    import sys
    from datetime import UTC, datetime

    from tests.cicl_runs import REPO, cicl_run
    from tests.integration.test_compliance_report import independent_figures, read_page

    warehouse, _, root, signer = judged
    config_env = {
        "CICL_DUCKDB_PATH": warehouse.path,
        "CICL_CONFIG_DIR": str(REPO / "config"),
        "CICL_OUTBOX_URI": str(root / "outbox"),
        "CICL_STATE_DIR": str(root / "state"),
        "CICL_SIGNING_KEY": signer.private_key_pem(),
        "CICL_TRUST_FILE": str(root / "trust.yaml"),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("CICL_")} | config_env
    out = root / "report-2026-10-01_2026-11-30.html"
    run = cicl_run(
        env,
        [sys.executable, str(REPO / "scripts" / "cicl.py"), "compliance-report",
         "--from", "2026-10-01", "--to", "2026-11-30", "--out", str(out)],
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    shown = read_page(out)
    expected = independent_figures(
        warehouse, datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    )
    assert shown["failing_rows"] == expected["failing"] == list(story.FAILING_GATE_DEPLOYMENT_IDS)
    assert (
        shown["rollbacks"]
        == expected["rollbacks"]
        == [
            (story.KNOWN_GOOD_ROLLBACK_ID, "true"),
            (story.NOT_KNOWN_GOOD_ROLLBACK_ID, "false"),
        ]
    )
    assert {k: v for k, v in shown["figures"].items() if k.count("/") == 2} == expected["verdicts"]
    assert shown["figures"]["production_deploys_failing_gate"] == "4"
    assert shown["figures"]["rollbacks_not_known_good"] == "1"
    assert shown["chain"] == "true" and shown["figures"]["audit_chain_verified"] == "true"
    assert shown["scripts"] == 0 and shown["requests"] == []
    assert str(out) in run.stdout and "production_deploys_failing_gate: 4" in run.stdout
