"""The release story on real git and DuckDB: two demo candidates approved (routing, then
support-reply's template), released on one branch with a signed manifest and an audit event;
the blocking check passes, then fails naming a hunk pushed to the branch afterwards; a
deployment carrying the manifest id (or a commit containing the release) counts as deployed;
traffic after it shows one candidate improved and one without effect."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from cicl_assets.candidates.lifecycle import refresh_candidates
from cicl_assets.compliance.bundles import PAYLOAD_TYPE, pae
from cicl_assets.platform_repo import open_platform_repo
from cicl_assets.release.assets import (
    candidate_outcomes,
    improvement_release,
    release_diff_is_approved,
)
from cicl_assets.release.deployed import BY_ANCESTOR, BY_MANIFEST, deployed_to
from cicl_assets.release.manifest import read_manifest
from cicl_assets.resources import CiclConfig
from cicl_assets.signer import Ed25519Signer, trust_entry
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from demo.platform_repo import write_platform_repo
from tests.integration.release.approvals import approve
from tests.integration.release.traffic import write_deployment, write_traffic
from tests.signing_keys import SINCE, write_trust
from tests.unit.candidates.scenario import write_stories

CANDIDATES_AT = datetime(2026, 11, 6, 1, 0, tzinfo=UTC)
ROUTING, SUPPORT = "routing/model_groups.yaml", "workflows/support-reply.yaml"


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "p", "GIT_AUTHOR_EMAIL": "p@p", "GIT_COMMITTER_NAME": "p",
           "GIT_COMMITTER_EMAIL": "p@p"}  # fmt: skip
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, env=env, check=True, timeout=60
    ).stdout.decode()


def config(root: Path, repo: Path, signer: Ed25519Signer) -> CiclConfig:
    trust = write_trust(root / "trust.yaml", trust_entry(signer.public_key(), SINCE))
    return CiclConfig(
        outbox_uri=str(root / "outbox"),
        signing_key=signer.private_key_pem(),
        trust_file=str(trust),
        platform_repo_uri=str(repo),
        state_dir=str(root / "state"),
    )


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    root = tmp_path_factory.mktemp("release")
    repo = root / "repo"
    write_platform_repo(repo)
    base = git(repo, "rev-parse", "HEAD").strip()
    warehouse = DuckDBWarehouse(path=str(root / "w.duckdb"))
    write_stories(warehouse)
    refresh_candidates(warehouse, open_platform_repo(str(repo), root / "m"), CANDIDATES_AT)
    ids = {
        r["target_file"]: r["candidate_id"]
        for r in warehouse.query("SELECT * FROM improvement_candidates").to_pylist()
    }
    approve(warehouse, ids[SUPPORT], ["alice"], CANDIDATES_AT + timedelta(hours=2))
    approve(warehouse, ids[ROUTING], ["bob", "carol"], CANDIDATES_AT + timedelta(hours=1))
    signer = Ed25519Signer.generate()
    cfg = config(root, repo, signer)
    resources = {"warehouse": warehouse, "cicl_config": cfg}
    first = dg.materialize([improvement_release, release_diff_is_approved], resources=resources)
    again = dg.materialize([improvement_release], resources=resources)
    return dict(root=root, repo=repo, base=base, warehouse=warehouse, ids=ids, signer=signer,
                config=cfg, resources=resources, first=first, again=again)  # fmt: skip


def release_row(story) -> dict:
    [row] = story["warehouse"].query("SELECT * FROM improvement_releases").to_pylist()
    return row


def test_the_approved_candidates_ship_on_one_branch_in_approval_order(story):
    row = release_row(story)
    ids, repo = story["ids"], story["repo"]
    assert json.loads(row["candidate_ids"]) == [ids[ROUTING], ids[SUPPORT]]
    assert row["branch"] == f"cicl/release-{row['release_id']}"
    assert row["base_commit"] == story["base"]
    assert git(repo, "rev-parse", row["branch"]).strip() == row["release_commit"]
    assert git(repo, "rev-list", f"{story['base']}..{row['branch']}").split() == [
        row["release_commit"]
    ]
    assert git(repo, "diff", "--name-only", story["base"], row["release_commit"]).split() == [
        ROUTING,
        SUPPORT,
    ]
    message = git(repo, "log", "-1", "--format=%B", row["release_commit"])
    assert message.startswith(f"cicl release {row['release_id']}: 2 approved changes\n")
    assert message.index(ids[ROUTING]) < message.index(ids[SUPPORT])
    for reviewer in ("bob", "carol", "alice"):
        assert f"decision: approve by {reviewer} (reviewer)" in message
    assert f"evidence: improvement_candidates/{ids[SUPPORT]}; cl_findings " in message
    assert git(repo, "rev-parse", "HEAD").strip() == story["base"]  # HEAD never moves
    statuses = {
        r["candidate_id"]: r["status"]
        for r in story["warehouse"].query("SELECT * FROM improvement_candidates").to_pylist()
    }
    assert statuses[ids[ROUTING]] == statuses[ids[SUPPORT]] == "released"
    assert sorted(statuses.values()).count("open") == 4


def test_the_manifest_is_signed_and_names_every_diff_and_decision(story):
    row = release_row(story)
    data = (story["root"] / "outbox" / row["manifest_path"]).read_bytes()
    envelope = json.loads(data)
    payload = base64.b64decode(envelope["payload"])
    public: ed25519.Ed25519PublicKey = story["signer"].public_key()
    public.verify(base64.b64decode(envelope["signatures"][0]["sig"]), pae(PAYLOAD_TYPE, payload))
    statement = read_manifest(data)
    assert statement["subject"] == [
        {"name": row["branch"], "digest": {"gitCommit": row["release_commit"]}}
    ]
    p = statement["predicate"]
    assert (p["base_commit"], p["release_commit"]) == (row["base_commit"], row["release_commit"])
    assert [c["candidate_id"] for c in p["candidates"]] == json.loads(row["candidate_ids"])
    assert [[d["reviewer"] for d in c["decisions"]] for c in p["candidates"]] == [
        ["bob", "carol"],
        ["alice"],
    ]
    assert all(c["diff_digest"].startswith("sha256:") for c in p["candidates"])


def test_the_release_is_in_the_audit_chain_and_checked(story):
    row = release_row(story)
    [event] = (
        story["warehouse"]
        .query(
            "SELECT * FROM audit_events WHERE source = 'cicl' AND event_id = @id",
            {"id": f"release:{row['release_id']}"},
        )
        .to_pylist()
    )
    assert event["hash"] == row["audit_event_hash"]
    assert event["commit_sha"] == row["release_commit"]
    [check] = story["first"].get_asset_check_evaluations()
    assert check.passed
    assert check.metadata["unapproved_hunks"].value == 0


def test_a_second_run_releases_nothing_and_says_so(story):
    [event] = story["again"].asset_materializations_for_node("improvement_release")
    assert event.metadata["released"].value == 0
    assert event.metadata["not_released"].value == "no approved candidate awaits release"
    assert story["warehouse"].row_count("improvement_releases") == 1


def test_deployed_means_the_manifest_id_or_a_commit_containing_the_release(story):
    row, warehouse = release_row(story), story["warehouse"]
    repo = open_platform_repo(str(story["repo"]), story["root"] / "m")
    at = row["released_at"] + timedelta(minutes=30)
    assert deployed_to(warehouse, repo, row) is None
    # the platform's CI squashes the branch onto main: a new commit, not the release commit
    git(story["repo"], "merge", "--no-ff", "-q", "-m", "merge release", row["branch"])
    merged = git(story["repo"], "rev-parse", "HEAD").strip()
    write_deployment(warehouse, "dep-staging-1", at, merged, None)
    assert deployed_to(warehouse, repo, row) is not None
    assert deployed_to(warehouse, repo, row).by == BY_ANCESTOR
    write_deployment(warehouse, "dep-old", row["released_at"] - timedelta(days=1), None, None)
    assert deployed_to(warehouse, repo, row, "staging") is None
    assert deployed_to(warehouse, repo, row).deployment_id == "dep-staging-1"
    warehouse.execute("DELETE FROM deployments WHERE deployment_id = 'dep-staging-1'")
    write_deployment(warehouse, "dep-prod-r1", at, "0" * 40, row["manifest_id"])
    found = deployed_to(warehouse, repo, row)
    assert (found.deployment_id, found.by) == ("dep-prod-r1", BY_MANIFEST)


def test_after_the_deployment_one_candidate_improved_and_one_had_no_effect(story):
    row, warehouse = release_row(story), story["warehouse"]
    [dep] = warehouse.query(
        "SELECT * FROM deployments WHERE deployment_id = 'dep-prod-r1'"
    ).to_pylist()
    write_traffic(warehouse, dep["started_at"], relevance=(0.52, 0.86))
    result = dg.materialize([candidate_outcomes], resources=story["resources"])
    outcomes = {
        r["target_file"]: r for r in warehouse.query("SELECT * FROM candidate_outcomes").to_pylist()
    }
    assert {k: v["verdict"] for k, v in outcomes.items()} == {
        SUPPORT: "improved",
        ROUTING: "no_effect",
    }
    support = outcomes[SUPPORT]
    assert support["metric"] == "eval_score:relevance"
    assert support["series_key"] == "workflow=support-reply"
    assert support["expected"] == 0.86
    assert support["baseline_value"] == pytest.approx(0.52, abs=0.02)
    assert support["current_value"] == pytest.approx(0.86, abs=0.02)
    assert (support["n_baseline"], support["n_current"]) == (96, 96)
    assert outcomes[ROUTING]["metric"] == "latency_ms"
    assert all(o["release_id"] == row["release_id"] for o in outcomes.values())
    [event] = result.asset_materializations_for_node("candidate_outcomes")
    page = event.metadata[f"outcome/{story['ids'][SUPPORT][:12]}"].value
    assert page.split("\n")[0] == (
        f"The workflow_template change to {SUPPORT} improved: median relevance score "
        "0.53 -> 0.87 (p=3e-33), 96 samples before and 96 after the deployment."
    )
    assert "](data:image/png;base64," in page
    assert (
        event.metadata["verdict/improved"].value,
        event.metadata["verdict/no_effect"].value,
    ) == (1, 1)
    assert warehouse.query(
        "SELECT COUNT(*) AS n FROM cl_findings WHERE kind = 'outcome_worse'"
    ).to_pylist() == [{"n": 0}]


def test_a_hunk_pushed_to_the_release_branch_fails_the_check(story, tmp_path):
    row = release_row(story)
    clone = tmp_path / "clone"
    shutil.copytree(story["repo"], clone)
    git(clone, "checkout", "-q", row["branch"])
    path = clone / "workflows" / "code-review.yaml"
    path.write_text(path.read_text() + "# extra: not approved\n")
    git(clone, "commit", "-qam", "an extra change")
    git(clone, "checkout", "-q", "-")
    cfg = config(tmp_path, clone, story["signer"])
    result = dg.materialize(
        [improvement_release, release_diff_is_approved],
        resources={"warehouse": story["warehouse"], "cicl_config": cfg},
        selection=dg.AssetSelection.checks_for_assets(improvement_release),
        raise_on_error=False,
    )
    [check] = result.get_asset_check_evaluations()
    assert not check.passed
    assert check.metadata["unapproved_hunks"].value == 1
    assert "not approved: workflows/code-review.yaml @@ -" in check.description
    assert "+# extra: not approved" in check.description
