"""The compliance group's warehouse tables."""

import pyarrow as pa

from cicl_assets.warehouse.tables import JSON, UTC_TS, TableSpec

DEPLOYMENT_EVIDENCE = TableSpec(
    name="deployment_evidence",
    description=(
        "One row per deployment with the evidence its environment's gate asks for "
        "(config/policies/gates.yaml): the CI runs that built its digest, their stages, tests "
        "and scan findings, SBOM, attestation, approval, change window, promotion path, "
        "post-deploy steps and audit coverage, and a verdict pass | fail with every reason."
    ),
    schema=pa.schema(
        [
            ("deployment_id", pa.string()),
            ("environment", pa.string()),
            ("service", pa.string()),
            ("version", pa.string()),
            ("commit_sha", pa.string()),
            ("image_digest", pa.string()),
            ("status", pa.string()),
            ("started_at", UTC_TS),
            ("finished_at", UTC_TS),
            ("actor", pa.string()),
            ("approver", pa.string()),
            ("approved_at", UTC_TS),
            ("rollback_of", pa.string()),
            ("ci_runs", JSON),
            ("tests_total", pa.int64()),
            ("tests_failed", pa.int64()),
            ("tests_skipped", pa.int64()),
            ("sbom_present", pa.bool_()),
            ("attestation_status", pa.string()),
            ("checks", JSON),
            ("waived", JSON),
            ("verdict", pa.string()),
            ("reasons", pa.string()),
            ("evaluated_at", UTC_TS),
        ]
    ),
    time_column="started_at",
    cluster_by=("environment", "service"),
    json_columns=("ci_runs", "checks", "waived"),
    column_docs={
        "ci_runs": "JSON list of the pipeline_run_ids that built the image digest",
        "checks": "JSON object: each check the environment requires -> its reasons (empty: holds)",
        "waived": "JSON list of blocking findings let through by a waiver still valid at start",
        "verdict": "pass | fail",
        "reasons": "every failing reason, '; '-separated, each prefixed by its check",
    },
)

ROLLBACK_TARGETS = TableSpec(
    name="rollback_targets",
    description=(
        "One row per service and environment: the last known-good image digest (its deployment "
        "succeeded, its evidence passed, and no failed change undid it), the digest a rollback "
        "must go to."
    ),
    schema=pa.schema(
        [
            ("service", pa.string()),
            ("environment", pa.string()),
            ("image_digest", pa.string()),
            ("deployment_id", pa.string()),
            ("version", pa.string()),
            ("deployed_at", UTC_TS),
            ("evaluated_at", UTC_TS),
        ]
    ),
    cluster_by=("environment", "service"),
)

ROLLBACK_CHECKS = TableSpec(
    name="rollback_checks",
    description=(
        "One row per rollback deployment: the digest it went to, the last known-good digest at "
        "its start, and whether they agree."
    ),
    schema=pa.schema(
        [
            ("deployment_id", pa.string()),
            ("service", pa.string()),
            ("environment", pa.string()),
            ("rollback_of", pa.string()),
            ("from_digest", pa.string()),
            ("to_digest", pa.string()),
            ("known_good_digest", pa.string()),
            ("known_good_deployment_id", pa.string()),
            ("started_at", UTC_TS),
            ("ok", pa.bool_()),
            ("finding", pa.string()),
        ]
    ),
    time_column="started_at",
    cluster_by=("environment", "service"),
)
