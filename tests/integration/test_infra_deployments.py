"""The infra and deployments assets on a real landing folder and a real warehouse."""

import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from cicl_assets.deployments import assets as deployment_assets
from cicl_assets.deployments.stream import DEPLOYMENTS_STREAM
from cicl_assets.deployments.summary import merge_deployments
from cicl_assets.deployments.tables import DEPLOYMENTS
from cicl_assets.infra import assets as infra_assets
from cicl_assets.infra.drift import derive_drift
from cicl_assets.infra.linking import link_readable_artifacts
from cicl_assets.infra.retention import apply_retention
from cicl_assets.infra.retention_policy import RETENTION_ALLOW_LIST, RetentionPolicy
from cicl_assets.infra.stream import INFRA_STREAM
from cicl_assets.infra.tables import INFRA_DRIFT, INFRA_DRIFT_ISSUES
from cicl_assets.ingest.runner import ingest_stream
from cicl_assets.landing import LandingZone
from cicl_assets.resources import CiclConfig
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse

REPO = Path(__file__).resolve().parents[2]
PLANS = REPO / "tests" / "fixtures" / "tofu-plans"
DEPLOYS = REPO / "tests" / "fixtures" / "deployments"
AS_OF = "2026-11-06T00:00:00Z"

STAGING_PLAN = {
    "format_version": "1.2",
    "terraform_version": "1.8.5",
    "timestamp": "2026-11-04T08:40:00Z",
    "planned_values": {"root_module": {}},
    "resource_changes": [
        {"address": "google_redis_instance.cache", "mode": "managed",
         "type": "google_redis_instance", "name": "cache",
         "provider_name": "registry.opentofu.org/hashicorp/google",
         "change": {"actions": ["create"], "before": None,
                    "after": {"name": "flow-cache", "memory_size_gb": 4},
                    "after_unknown": {"id": True}}},
        {"address": "google_compute_firewall.legacy_ssh", "mode": "managed",
         "type": "google_compute_firewall", "name": "legacy_ssh",
         "provider_name": "registry.opentofu.org/hashicorp/google",
         "change": {"actions": ["create", "delete"], "before": {"name": "legacy-ssh"},
                    "after": {"name": "legacy-ssh-v2"}},
         "action_reason": "replace_because_cannot_update"},
    ],
}  # fmt: skip


def build_landing(root: Path) -> LandingZone:
    def put(rel: str, data: bytes) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    corpus = [p for p in PLANS.glob("*.json") if not p.name.startswith("cicl-")]
    for p in corpus:
        env = "dev" if "refresh" in p.name else "production"
        put(f"infra/{env}/{p.name}", p.read_bytes())
    for day in ("2026-11-03", "2026-11-04", "2026-11-05"):
        put(f"infra/prod/drift-{day}.json", (PLANS / f"cicl-drift-{day}.json").read_bytes())
    put("infra/staging/run-1/plan.json", json.dumps(STAGING_PLAN).encode())
    put("infra/staging/run-1/plan-readable.txt", (PLANS / "cicl-plan-readable.txt").read_bytes())
    put(
        "infra/production/plan-readable.txt",
        (PLANS / "cicl-plan-readable-nochanges.txt").read_bytes(),
    )
    put(
        "infra/production/apply-2026-11-04T0905Z.log",
        (PLANS / "cicl-apply-2026-11-04T0905Z.log").read_bytes(),
    )
    put("infra/staging/apply-failed.log", (PLANS / "cicl-apply-staging-failed.log").read_bytes())
    put("infra/dev/apply.log", (PLANS / "cicl-apply-dev-interrupted.log").read_bytes())
    # hostile input: truncated JSON, 0 bytes, something else entirely
    put("infra/dev/truncated.json", (PLANS / "tfjson-120_basic__plan.json").read_bytes()[:300])
    put("infra/dev/empty.json", b"")
    put("infra/dev/notes.md", b"# notes\nnothing to see\n")
    for p in DEPLOYS.iterdir():
        if p.suffix in (".json", ".jsonl"):
            put(f"deployments/{p.name}", p.read_bytes())
    put("deployments/broken.json", b'{"kind": "cicl.deployment/v1", "deployment_id": "x",')
    put("deployments/unknown.json", b'{"hello": "world"}')
    return LandingZone(uri=str(root))  # fmt: skip


EXPECTED_ROWS = {
    # 13 corpus plans and the staging plan; 3 are past 30 days at AS_OF (2023-08-30,
    # 2023-08-31, 2026-06-16) and deleted by retention
    "infra_plans": 14 - 3,
    # 27 changes + 1 drifted resource in the corpus, 2 in the staging plan; minus 2 + 1 + 1
    "infra_plan_changes": 30 - 4,
    "infra_plan_checks": 4 - 1,
    "infra_plan_artifacts": 2,
    "infra_apply_logs": 5 + 3 + 1,
    "infra_drift_checks": 3 + 2,
    "infra_drift_observations": 3 + 1,
    "infra_drift": 4,
    "infra_drift_issues": 3,
    "deployment_events": 13,
    "deployments": 11,
}


def _materialize(landing: LandingZone, warehouse: DuckDBWarehouse):
    result = dg.materialize(
        [*infra_assets.ASSETS, *deployment_assets.ASSETS],
        resources={
            "warehouse": warehouse,
            "landing": landing,
            "cicl_config": CiclConfig(
                config_dir=str(REPO / "config"),
                outbox_uri=str(Path(warehouse.path).parent / "outbox"),
            ),
        },
        run_config={"ops": {"evidence_retention": {"config": {"as_of": AS_OF}}}},
    )
    assert result.success
    metadata = {
        m.asset_key.to_user_string(): {k: v.value for k, v in m.metadata.items()}
        for node in ("infra_landing_ingest", "infra_drift_derive", "evidence_retention",
                     "deployments_landing", "deployments")
        for m in result.asset_materializations_for_node(node)
    }  # fmt: skip
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    return metadata, checks


def test_materialize_twice_gives_the_same_tables(tmp_path):
    landing = build_landing(tmp_path / "landing")
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    meta, checks = _materialize(landing, warehouse)
    counts = {t: warehouse.row_count(t) for t in EXPECTED_ROWS}
    assert counts == EXPECTED_ROWS

    assert meta["infra_plans"]["files_rejected"] == 3
    assert meta["infra_plans"]["plans_linked_to_readable_text"] == 1
    # counted at ingestion, before retention removed the 2023 plan's two creates
    assert meta["infra_plan_changes"]["changes/create"] == 1 + 7 + 7 + 2 + 3 + 4
    per_environment = {
        k: v
        for k, v in meta["infra_plan_changes"].items()
        if k.startswith("changes/") and k.count("/") == 2
    }
    assert per_environment == {
        "changes/production/create": 23,
        "changes/production/no-op": 1,
        "changes/production/replace": 2,
        "changes/production/update": 1,
        "changes/staging/create": 1,
        "changes/staging/replace": 1,
    }
    assert (
        sum(v for k, v in per_environment.items() if k.endswith("/create"))
        == (meta["infra_plan_changes"]["changes/create"])
    )
    assert meta["evidence_retention"]["rows_deleted/infra_plans"] == 3
    assert meta["evidence_retention"]["as_of_basis"] == "configured"
    deletions = warehouse.query(
        "SELECT resource, details FROM audit_events WHERE action = 'retention_deletion'"
    ).to_pylist()
    assert meta["evidence_retention"]["audit_events_appended"] == len(deletions)
    assert {d["resource"]: json.loads(d["details"])["rows_deleted"] for d in deletions} == {
        "table/infra_plans": 3,
        "table/infra_plan_changes": 4,
        "table/infra_plan_checks": 1,
    }
    assert meta["infra_drift_issues"]["open_issues"] == 1  # the dev refresh-only drift
    assert meta["deployments"]["production_deploys_without_approval"] == 2
    assert meta["deployments"]["change_failure_rate_production"] == round(2 / 6, 4)
    assert meta["deployment_events"]["files_rejected"] == 2

    approved = checks["production_deploys_approved"]
    assert not approved.passed and approved.severity == dg.AssetCheckSeverity.ERROR
    assert approved.metadata["production_deploys_failing"].value == 4
    drift_check = checks["no_open_drift"]
    assert not drift_check.passed and drift_check.severity == dg.AssetCheckSeverity.WARN

    rejects = {
        r["source_file"]: r["error"]
        for r in warehouse.query("SELECT source_file, error FROM ingest_rejects").to_pylist()
    }
    assert rejects["infra/dev/truncated.json"] == (
        "infra/dev/truncated.json: tofu-show-json-plan: invalid JSON at line 1, column 297: "
        "Unterminated string starting at (the file looks truncated)"
    )
    assert rejects["infra/dev/empty.json"] == (
        "infra/dev/empty.json: unknown: the file is empty (0 bytes of content)"
    )
    assert rejects["infra/dev/notes.md"] == (
        "infra/dev/notes.md: unknown: unrecognised format (expected one of: cicl.drift_check/v1, "
        "tofu-show-json-plan, tofu-binary-plan, tofu-apply-log, tofu-plan-readable); starts "
        "'# notes nothing to see '"
    )
    assert rejects["deployments/broken.json"] == (
        "deployments/broken.json: cicl.deployment/v1: invalid JSON at line 1, column 53: "
        "Expecting property name enclosed in double quotes (the file looks truncated)"
    )
    assert rejects["deployments/unknown.json"] == (
        "deployments/unknown.json: unknown: unrecognised format (expected one of: "
        "cicl.deployment/v1, github-deployment_status, github-deployment, gitlab-deployment, "
        'cloudbuild-build, github-push, gitlab-push); starts \'{"hello": "world"}\''
    )

    linked = (
        warehouse.query(
            "SELECT readable_artifact_path FROM infra_plans WHERE plan_file = @f",
            {"f": "infra/staging/run-1/plan.json"},
        )
        .column(0)
        .to_pylist()
    )
    assert linked == ["infra/staging/run-1/plan-readable.txt"]
    issues = {
        r["address"]: r for r in warehouse.query("SELECT * FROM infra_drift_issues").to_pylist()
    }
    assert issues["google_container_node_pool.primary"]["status"] == "resolved"
    assert issues["google_container_node_pool.primary"]["occurrences"] == 2
    assert issues["tfcoremock_simple_resource.drift"]["environment"] == "dev"

    meta2, _ = _materialize(landing, warehouse)
    assert {t: warehouse.row_count(t) for t in EXPECTED_ROWS} == EXPECTED_ROWS
    assert meta2["infra_plans"]["files_ingested"] == 0
    assert meta2["evidence_retention"]["rows_deleted"] == 0
    assert warehouse.row_count("ingest_rejects") == 5


def test_round_trip_on_every_warehouse(any_warehouse, tmp_path):
    landing = build_landing(tmp_path / "landing")
    report = ingest_stream(INFRA_STREAM, landing, any_warehouse)
    assert report.files_rejected == 3
    assert link_readable_artifacts(any_warehouse) == 1
    row = any_warehouse.query(
        "SELECT actions, replace_order, action_reason, changed_attributes, planned_at, expires_at "
        "FROM infra_plan_changes WHERE address = @a",
        {"a": "google_compute_firewall.legacy_ssh"},
    ).to_pylist()
    assert row == [
        {
            "actions": "replace",
            "replace_order": "create_before_destroy",
            "action_reason": "replace_because_cannot_update",
            "changed_attributes": '["name"]',
            "planned_at": datetime(2026, 11, 4, 8, 40, tzinfo=UTC),
            "expires_at": datetime(2026, 12, 4, 8, 40, tzinfo=UTC),
        }
    ]
    checks = any_warehouse.read_table("infra_drift_checks").to_pylist()
    observations = any_warehouse.read_table("infra_drift_observations").to_pylist()
    drift, issues = derive_drift(
        [c for c in checks if c["checked_at"]], [o for o in observations if o["checked_at"]]
    )
    any_warehouse.replace_table(INFRA_DRIFT, INFRA_DRIFT.from_records(drift))
    any_warehouse.replace_table(INFRA_DRIFT_ISSUES, INFRA_DRIFT_ISSUES.from_records(issues))
    statuses = any_warehouse.query(
        "SELECT status, COUNT(*) AS n FROM infra_drift GROUP BY status ORDER BY status"
    ).to_pylist()
    assert statuses == [{"status": "resolved", "n": 3}]
    assert any_warehouse.row_count("infra_drift_issues") == 2
    outcome = apply_retention(
        any_warehouse,
        RetentionPolicy(keep_days=dict(RETENTION_ALLOW_LIST),
                        as_of=datetime(2026, 11, 6, tzinfo=UTC)),
        datetime(2026, 11, 27, tzinfo=UTC),
    )  # fmt: skip
    assert outcome.deleted["infra_plans"] == 3 and outcome.deleted["infra_apply_logs"] == 0
    assert any_warehouse.row_count("infra_drift_issues") == 2

    ingest_stream(DEPLOYMENTS_STREAM, landing, any_warehouse)
    events = any_warehouse.read_table("deployment_events").to_pylist()
    any_warehouse.replace_table(DEPLOYMENTS, DEPLOYMENTS.from_records(merge_deployments(events)))
    dep = any_warehouse.query(
        "SELECT status, image_digest, approved_at, events, source_file FROM deployments "
        "WHERE deployment_id = @d",
        {"d": "dep-prod-0042"},
    ).to_pylist()
    assert dep == [
        {
            "status": "succeeded",
            "image_digest": "sha256:" + "b2" * 32,
            "approved_at": datetime(2026, 11, 4, 8, 41, tzinfo=UTC),
            "events": 2,
            "source_file": "deployments/cicl-deployments-2026-11.jsonl",
        }
    ]
