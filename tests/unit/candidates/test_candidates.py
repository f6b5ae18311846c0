"""Candidates from the demo's stories against the demo's platform repository: one of each kind
but revert, with exact diffs (golden files; UPDATE_GOLDEN=1 rewrites them), on both warehouses;
a second run writes nothing; a quiet period yields none; a changed base or evidence retires a
candidate and a new one takes its place."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cicl_assets.candidates.lifecycle import refresh_candidates
from cicl_assets.learning.findings import CL_FINDINGS
from cicl_assets.platform_repo import open_platform_repo
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from demo.platform_repo import write_platform_repo
from tests.unit.candidates.scenario import write_stories

GOLDEN = Path(__file__).with_name("golden")
NOW = datetime(2026, 11, 6, 1, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 6, 2, 0, tzinfo=UTC)
# The demo repository's HEAD: its commits have fixed authors and dates.
DEMO_HEAD = "732e856b485190ea9c0847bafd9db85117048b02"
EXPECTED = {
    "routing/model_groups.yaml": "provider_routing",
    "workflows/code-review.yaml": "workflow_template",
    "workflows/contract-summary.yaml": "workflow_template",
    "workflows/support-reply.yaml": "workflow_template",
    "runbooks/workflow-runtime.md": "runbook",
    "tests/quarantine.yaml": "test_quarantine",
}


def golden_name(target: str) -> str:
    return target.replace("/", "__") + ".diff"


@pytest.fixture(scope="module")
def demo_repo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("platform") / "repo"
    write_platform_repo(root)
    return root


def repo_copy(demo_repo: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(demo_repo, copy)
    return copy


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    env.update(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t")  # fmt: skip
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, env=env, check=True, timeout=60
    ).stdout.decode()


def stored(warehouse) -> dict[str, dict]:
    rows = warehouse.query("SELECT * FROM improvement_candidates").to_pylist()
    return {r["candidate_id"]: r for r in rows}


def test_the_demo_repository_is_the_same_every_time(demo_repo):
    assert _git(demo_repo, "rev-parse", "HEAD").strip() == DEMO_HEAD
    assert _git(demo_repo, "log", "--format=%s").splitlines() == [
        "support-reply: draft-reply prompt template v7 -> v8 (workflow-runtime 1.8.0)",
        "Workflow templates, model groups, runbooks and test quarantine of the platform",
    ]


def test_the_stories_give_one_candidate_of_each_kind_with_the_golden_diffs(
    any_warehouse, demo_repo, tmp_path
):
    write_stories(any_warehouse)
    repo = open_platform_repo(str(repo_copy(demo_repo, tmp_path)), tmp_path / "mirror")
    outcome = refresh_candidates(any_warehouse, repo, NOW)
    rows = {r["target_file"]: r for r in stored(any_warehouse).values()}
    assert {t: r["kind"] for t, r in rows.items()} == EXPECTED
    assert {r["status"] for r in rows.values()} == {"open"}
    assert {r["base_commit"] for r in rows.values()} == {DEMO_HEAD}
    assert {t: r["affects_production"] for t, r in rows.items()} == {
        t: kind in ("provider_routing", "workflow_template") for t, kind in EXPECTED.items()
    }
    if os.environ.get("UPDATE_GOLDEN"):
        for target, row in rows.items():
            (GOLDEN / golden_name(target)).write_text(row["diff"])
    for target, row in rows.items():
        assert row["diff"] == (GOLDEN / golden_name(target)).read_text(), target
    # Re-running with nothing changed writes nothing new.
    again = refresh_candidates(any_warehouse, repo, LATER)
    assert (len(outcome.written), again.written) == (6, [])
    assert {r["candidate_id"] for r in again.proposed} == {r["candidate_id"] for r in rows.values()}


def test_every_diff_applies_to_head_with_git_apply(demo_repo, tmp_path):
    work = repo_copy(demo_repo, tmp_path)
    for target in EXPECTED:
        patch = GOLDEN / golden_name(target)
        _git(work, "apply", "--check", str(patch))
    _git(work, "apply", *(str(GOLDEN / golden_name(t)) for t in EXPECTED))
    quarantined = (work / "tests" / "quarantine.yaml").read_text()
    assert "providers::pool::tests::reuses_connections" in quarantined


def test_a_quiet_period_yields_no_candidates(demo_repo, tmp_path):
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    warehouse.ensure_table(CL_FINDINGS)
    repo = open_platform_repo(str(demo_repo), tmp_path / "mirror")
    outcome = refresh_candidates(warehouse, repo, NOW)
    assert (outcome.proposed, outcome.written, warehouse.row_count("improvement_candidates")) == (
        [],
        [],
        0,
    )


def test_a_changed_base_file_makes_its_candidate_stale_and_a_new_one_open(demo_repo, tmp_path):
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    write_stories(warehouse)
    work = repo_copy(demo_repo, tmp_path)
    repo = open_platform_repo(str(work), tmp_path / "mirror")
    first = {
        r["target_file"]: r["candidate_id"]
        for r in refresh_candidates(warehouse, repo, NOW).proposed
    }
    path = work / "workflows" / "support-reply.yaml"
    path.write_text(
        path.read_text().replace(
            "tool: kb.search\n    timeout_s: 10", "tool: kb.search\n    timeout_s: 15"
        )
    )
    _git(work, "commit", "-qam", "support-reply: kb.search timeout 15 s")
    head = _git(work, "rev-parse", "HEAD").strip()
    outcome = refresh_candidates(warehouse, repo, LATER)
    rows = stored(warehouse)
    old = rows[first["workflows/support-reply.yaml"]]
    assert (old["status"], old["status_reason"], old["created_at"]) == (
        "stale",
        f"its base file changed since {DEMO_HEAD[:12]}",
        NOW,
    )
    new = [
        r
        for r in rows.values()
        if r["target_file"] == "workflows/support-reply.yaml" and r["status"] == "open"
    ]
    assert [(r["base_commit"], r["created_at"]) for r in new] == [(head, LATER)]
    # The change is outside the diff's context, so the diff reads the same: the base's blob,
    # part of the id, tells them apart.
    assert (
        new[0]["base_blob"] != old["base_blob"],
        new[0]["candidate_id"] != old["candidate_id"],
    ) == (True, True)
    # The other files did not change: their candidates stay as they were, nothing rewritten.
    assert sorted(r["target_file"] for r in outcome.written) == ["workflows/support-reply.yaml"] * 2
    assert all(
        rows[cid]["status"] == "open"
        for t, cid in first.items()
        if t != "workflows/support-reply.yaml"
    )


def test_changed_evidence_supersedes_and_vanished_evidence_makes_stale(demo_repo, tmp_path):
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    write_stories(warehouse)
    repo = open_platform_repo(str(demo_repo), tmp_path / "mirror")
    first = {
        r["target_file"]: r["candidate_id"]
        for r in refresh_candidates(warehouse, repo, NOW).proposed
    }
    # One flaky test recovered: the quarantine candidate lists only the other.
    warehouse.execute(
        "UPDATE cl_findings SET status = 'resolved' WHERE series_key = @k",
        {"k": "test=providers::pool::tests::reuses_connections"},
    )
    # The failure mode is gone: nothing calls for the runbook section any more.
    warehouse.execute("UPDATE cl_findings SET status = 'resolved' WHERE kind = 'failure_mode'")
    refresh_candidates(warehouse, repo, LATER)
    rows = stored(warehouse)
    quarantine = rows[first["tests/quarantine.yaml"]]
    replacement = rows[quarantine["superseded_by"]]
    assert (quarantine["status"], replacement["status"], replacement["target_file"]) == (
        "superseded",
        "open",
        "tests/quarantine.yaml",
    )
    assert "reuses_connections" not in replacement["diff"]
    runbook = rows[first["runbooks/workflow-runtime.md"]]
    assert (runbook["status"], runbook["superseded_by"]) == ("stale", None)
    assert runbook["status_reason"].startswith("the findings it rests on are no longer open")
    open_per_file = [r["target_file"] for r in rows.values() if r["status"] == "open"]
    assert len(open_per_file) == len(set(open_per_file)) == 5
