"""infra_apply_evidence on every warehouse: each apply's post-apply verifications of the GKE
cluster, the Cloud SQL instance and the Redis instance, present, failed or named as missing."""

import json
from datetime import UTC, datetime

import dagster as dg

from cicl_assets.audit.chain import append_events
from cicl_assets.compliance.apply_evidence import CHECK, infra_apply_evidence, judge_apply
from cicl_assets.infra.tables import INFRA_APPLY_LOGS
from tests.signing_keys import unsigned_config

TARGETS = ("gke-cluster", "cloud-sql-instance", "redis-instance")


def t(day: int, hour: int) -> datetime:
    return datetime(2026, 10, day, hour, tzinfo=UTC)


def log(name: str, day: int, outcome: str, env: str = "production") -> dict:
    return {
        "apply_id": f"sha256:{name}", "environment": env, "line_no": 9, "address": None,
        "action": "apply", "outcome": outcome, "applied_at": t(day, 8),
        "expires_at": t(day, 8), "retention_basis": "applied_at",
        "source_file": f"infra/{env}/{name}.log",
    }  # fmt: skip


def verify(name: str, target: str, outcome: str = "success", env: str = "production") -> dict:
    return {
        "event_id": f"{name}-{target}-{env}", "event_time": t(20, 9), "source": "cicl_ci",
        "action": "post-apply-verify", "outcome": outcome, "environment": env,
        "pipeline_run_id": f"infra-{name}",
        "details": json.dumps({"step": "post-apply-verify",
                               "details": {"apply_log": f"infra/{env}/{name}.log",
                                           "target": target}}),
    }  # fmt: skip


def test_each_apply_names_what_was_verified_and_what_is_missing(any_warehouse, tmp_path):
    any_warehouse.append(
        INFRA_APPLY_LOGS,
        INFRA_APPLY_LOGS.from_records(
            [
                log("apply-a", 12, "summary"),
                log("apply-b", 13, "summary"),
                log("apply-c", 14, "failed"),
                # a resource line of apply-a: not an apply of its own
                {**log("apply-a", 12, "created"), "address": "google_redis_instance.cache"},
            ]
        ),
    )
    append_events(
        any_warehouse,
        [
            *[verify("apply-a", target) for target in TARGETS],
            verify("apply-b", "gke-cluster"),
            verify("apply-b", "cloud-sql-instance", "failure"),
            # the same log name in another environment verifies nothing here
            verify("apply-b", "redis-instance", env="staging"),
        ],
    )
    result = dg.materialize(
        [infra_apply_evidence],
        resources={"warehouse": any_warehouse, "cicl_config": unsigned_config(tmp_path)},
    )
    rows = any_warehouse.query(
        "SELECT source_file, apply_outcome, verifications, verdict, reasons "
        "FROM infra_apply_evidence ORDER BY applied_at"
    ).to_pylist()
    assert [(r["source_file"], json.loads(r["verifications"]), r["verdict"]) for r in rows] == [
        (
            "infra/production/apply-a.log",
            {"cloud-sql-instance": "passed", "gke-cluster": "passed", "redis-instance": "passed"},
            "pass",
        ),
        (
            "infra/production/apply-b.log",
            {"cloud-sql-instance": "failed", "gke-cluster": "passed", "redis-instance": "missing"},
            "fail",
        ),
        (
            "infra/production/apply-c.log",
            {
                "cloud-sql-instance": "missing",
                "gke-cluster": "missing",
                "redis-instance": "missing",
            },
            "fail",
        ),
    ]
    assert rows[1]["reasons"] == (
        "post-apply verification of cloud-sql-instance failed; "
        "post-apply verification of redis-instance is missing"
    )
    assert rows[2]["reasons"].startswith("the apply did not complete (failed); ")
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == CHECK and check.passed is False
    assert check.metadata["applies"].value == [
        "infra/production/apply-b.log",
        "infra/production/apply-c.log",
    ]


def test_a_log_named_by_its_file_name_alone_is_matched():
    apply = {"source_file": "infra/dev/apply-x.log", "environment": "dev", "outcome": "summary"}
    event = {"environment": "dev", "outcome": "success",
             "details": json.dumps({"details": {"apply_log": "apply-x.log", "target": "t"}})}  # fmt: skip
    assert judge_apply(apply, [event], ["t"])["verdict"] == "pass"
    assert judge_apply(apply, [event], ["t", "u"])["reasons"] == (
        "post-apply verification of u is missing"
    )
