"""A released change that made its metric worse: an outcome_worse finding, and a revert
candidate whose diff takes the released diff back against HEAD (once HEAD holds it). The
release runs through ``ship`` on both warehouses; the BigQuery emulator holds every table."""

from __future__ import annotations

import json
from datetime import timedelta

import dagster as dg

from cicl_assets.candidates.lifecycle import refresh_candidates
from cicl_assets.outbox import open_outbox
from cicl_assets.platform_repo import open_platform_repo
from cicl_assets.release.assets import improvement_release, release_diff_is_approved
from cicl_assets.release.measure import measure_outcomes
from cicl_assets.release.ship import ship
from cicl_assets.signer import Ed25519Signer
from demo.platform_repo import write_platform_repo
from tests.integration.release.approvals import approve
from tests.integration.release.test_release_story import CANDIDATES_AT, config, git
from tests.integration.release.traffic import write_deployment, write_traffic
from tests.unit.candidates.scenario import write_stories

CODE_REVIEW = "workflows/code-review.yaml"


def test_a_worse_outcome_opens_a_finding_and_a_revert_candidate(any_warehouse, tmp_path):
    warehouse = any_warehouse
    write_platform_repo(tmp_path / "repo")
    repo = open_platform_repo(str(tmp_path / "repo"), tmp_path / "m")
    write_stories(warehouse)
    refresh_candidates(warehouse, repo, CANDIDATES_AT)
    [c] = warehouse.query(
        "SELECT * FROM improvement_candidates WHERE target_file = @f", {"f": CODE_REVIEW}
    ).to_pylist()
    approve(warehouse, c["candidate_id"], ["alice"], CANDIDATES_AT + timedelta(hours=1))
    signer = Ed25519Signer.generate()
    cfg = config(tmp_path, tmp_path / "repo", signer)
    shipped = ship(
        warehouse,
        repo,
        signer,
        open_outbox(cfg.outbox_uri, "cicl-releases"),
        cfg.chain_notary(warehouse),
        CANDIDATES_AT + timedelta(hours=2),
    )
    release = shipped.release
    assert [r["candidate_id"] for r in shipped.candidates] == [c["candidate_id"]]
    assert warehouse.query("SELECT release_id, pushed FROM improvement_releases").to_pylist() == [
        {"release_id": release["release_id"], "pushed": False}
    ]
    git(tmp_path / "repo", "merge", "-q", "--ff-only", release["branch"])
    checked = dg.materialize(
        [improvement_release, release_diff_is_approved],
        resources={"warehouse": warehouse, "cicl_config": cfg},
        selection=dg.AssetSelection.checks_for_assets(improvement_release),
    )
    [check] = checked.get_asset_check_evaluations()
    assert (check.passed, check.metadata["hunks_checked"].value) == (True, 2)
    at = release["released_at"] + timedelta(hours=1)
    write_deployment(warehouse, "dep-prod-r2", at, None, release["manifest_id"])
    write_traffic(warehouse, at, relevance=(0.8, 0.8), latency_ms=(5500.0, 9000.0))

    done = measure_outcomes(warehouse, repo, tmp_path / "no-config", at + timedelta(days=1))

    [outcome] = done.rows
    assert outcome["verdict"] == "worse"
    assert (outcome["series_key"], outcome["metric"]) == (
        "gen_ai_provider=anthropic, gen_ai_model=claude-sonnet-4, operation=chat",
        "latency_ms",
    )
    [finding] = warehouse.query(
        "SELECT * FROM cl_findings WHERE kind = 'outcome_worse'"
    ).to_pylist()
    assert finding["finding_id"] == outcome["finding_id"]
    assert finding["status"] == "open"
    assert json.loads(finding["evidence"])["candidate_id"] == c["candidate_id"]
    [revert] = warehouse.query(
        "SELECT * FROM improvement_candidates WHERE kind = 'revert'"
    ).to_pylist()
    assert revert["candidate_id"] == outcome["revert_candidate_id"]
    assert revert["status"] == "open"
    assert json.loads(revert["finding_ids"]) == [finding["finding_id"]]
    assert revert["target_file"] == CODE_REVIEW
    assert revert["diff"] == (
        "diff --git a/workflows/code-review.yaml b/workflows/code-review.yaml\n"
        "--- a/workflows/code-review.yaml\n"
        "+++ b/workflows/code-review.yaml\n"
        "@@ -13,9 +13,9 @@\n"
        "     provider: anthropic\n"
        "     model: claude-sonnet-4\n"
        "     prompt_template: review@v1\n"
        "-    timeout_s: 150\n"
        "+    timeout_s: 60\n"
        "     retries: 2\n"
        "-    fallback: {provider: openai, model: gpt-4.1}\n"
        "+    fallback: null\n"
        "   - name: summarize\n"
        "     kind: llm\n"
        "     provider: gcp.gemini\n"
    )
    stored = warehouse.query("SELECT verdict, revert_candidate_id FROM candidate_outcomes")
    assert stored.to_pylist() == [
        {"verdict": "worse", "revert_candidate_id": revert["candidate_id"]}
    ]
