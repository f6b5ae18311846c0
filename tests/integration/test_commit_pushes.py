"""Push webhooks through the real deployments stream into commit_pushes, then the commits asset:
real fixture files and a broken push on a landing folder, a DuckDB warehouse, run twice."""

import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from cicl_assets.delivery.assets import commits
from cicl_assets.deployments import assets as deployment_assets
from cicl_assets.landing import LandingZone
from cicl_assets.resources import CiclConfig
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse

REPO = Path(__file__).resolve().parents[2]
DEPLOYS = REPO / "tests" / "fixtures" / "deployments"
PUSHES = (
    "cicl-github-push-two-commits.json",
    "gogitlab__push.json",
    "octokit-push__with-new-branch.payload.json",
)
DEPLOYED = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"  # the second pushed commit
UNPUSHED = "e" * 40
BROKEN_PUSH = (
    b'{"ref": "refs/heads/main", "pusher": {"name": "x"}, "commits": [{"id": "abc", '
    b'"timestamp": "2026-11-03T09:00:00Z"}], "repository": {"full_name": "o/r"}}'
)


def t(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def deploy_record(dep_id: str, commit: str, started: str) -> bytes:
    return json.dumps(
        {
            "kind": "cicl.deployment/v1",
            "deployment_id": dep_id,
            "environment": "production",
            "service": "workflow-runtime",
            "version": "1.8.1",
            "commit": commit,
            "status": "succeeded",
            "started_at": started,
            "finished_at": started,
        }
    ).encode()


def build_landing(root: Path) -> LandingZone:
    def put(rel: str, data: bytes) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)

    for name in PUSHES:
        put(f"deployments/pushes/{name}", (DEPLOYS / name).read_bytes())
    put("deployments/pushes/broken-push.json", BROKEN_PUSH)
    put("deployments/production/d1.json", deploy_record("d1", DEPLOYED, "2026-11-03T10:00:00Z"))
    put("deployments/production/d2.json", deploy_record("d2", UNPUSHED, "2026-11-04T10:00:00Z"))
    return LandingZone(uri=str(root))


def materialize(landing: LandingZone, warehouse: DuckDBWarehouse) -> dg.ExecuteInProcessResult:
    result = dg.materialize(
        [*deployment_assets.ASSETS, commits],
        resources={
            "warehouse": warehouse,
            "landing": landing,
            "cicl_config": CiclConfig(config_dir=str(REPO / "config")),
        },
        selection=["deployment_events", "commit_pushes", "deployments", "commits"],
    )
    assert result.success
    return result


def test_pushes_land_once_per_commit_and_broken_ones_are_rejected(tmp_path):
    landing = build_landing(tmp_path / "landing")
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    materialize(landing, warehouse)

    pushed = warehouse.query(
        "SELECT sha, repo, branch, committed_at, source_file FROM commit_pushes ORDER BY sha"
    ).to_pylist()
    assert [tuple(r.values()) for r in pushed] == [
        ("0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "coditect/flow", "main",
         t(2026, 11, 3, 9, 5), "deployments/pushes/cicl-github-push-two-commits.json"),
        ("1a2b3c4d5e6f708192a3b4c5d6e7f80910111213", "coditect/flow", "main",
         t(2026, 11, 3, 7, 41, 12), "deployments/pushes/cicl-github-push-two-commits.json"),
        ("6113728f27ae82c7b1a177c8d03f9e96e0adf246", "Codertocat/Hello-World", "master",
         t(2019, 5, 15, 15, 19, 25),
         "deployments/pushes/octokit-push__with-new-branch.payload.json"),
        ("b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327", "mike/diaspora", "master",
         t(2011, 12, 12, 12, 27, 31), "deployments/pushes/gogitlab__push.json"),
        ("da1560886d4f094c3e6c9ef40349f7d38b5d27d7", "mike/diaspora", "master",
         t(2012, 1, 3, 21, 36, 29), "deployments/pushes/gogitlab__push.json"),
    ]  # fmt: skip
    rejects = warehouse.query("SELECT stream, source_file, error FROM ingest_rejects").to_pylist()
    assert [tuple(r.values()) for r in rejects] == [
        (
            "deployments",
            "deployments/pushes/broken-push.json",
            "deployments/pushes/broken-push.json: github-push: commits[0].id: commit 'abc' is "
            "not a 40-hex SHA-1",
        )
    ]

    # Commits older than the lookback (the 2011/2019 corpus pushes) are not carried into commits;
    # the unpushed deployed commit is, with no commit time and the deploy's start as first seen.
    rows = warehouse.query(
        "SELECT sha, repo, branch, committed_at, first_seen_at, named_by FROM commits ORDER BY sha"
    ).to_pylist()
    assert [tuple(r.values()) for r in rows] == [
        (DEPLOYED, "coditect/flow", "main", t(2026, 11, 3, 9, 5), t(2026, 11, 3, 9, 5),
         "push,deployment"),
        ("1a2b3c4d5e6f708192a3b4c5d6e7f80910111213", "coditect/flow", "main",
         t(2026, 11, 3, 7, 41, 12), t(2026, 11, 3, 7, 41, 12), "push"),
        (UNPUSHED, None, None, None, t(2026, 11, 4, 10), "deployment"),
    ]  # fmt: skip

    before = {
        table: warehouse.row_count(table)
        for table in ("commit_pushes", "commits", "deployments", "ingest_rejects")
    }
    materialize(landing, warehouse)
    after = {table: warehouse.row_count(table) for table in before}
    assert before == {"commit_pushes": 5, "commits": 3, "deployments": 2, "ingest_rejects": 1}
    assert after == before
