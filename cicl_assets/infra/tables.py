"""The infra group's warehouse tables: OpenTofu plans, apply logs, drift."""

from dataclasses import replace

import pyarrow as pa

from cicl_assets.infra.retention_policy import RETENTION_ALLOW_LIST
from cicl_assets.warehouse.tables import JSON, UTC_TS, TableSpec

INFRA_PLANS = TableSpec(
    name="infra_plans",
    description=(
        "One row per OpenTofu/Terraform `show -json` plan file: environment, counts of each "
        "normalised action, errored / refresh-only flags, the plan file and its sibling "
        "plan-readable.txt, and when the plan artifact expires (30 days)."
    ),
    schema=pa.schema(
        [
            ("plan_id", pa.string()),
            ("environment", pa.string()),
            ("plan_file", pa.string()),
            ("plan_folder", pa.string()),
            ("readable_artifact_path", pa.string()),
            ("format_version", pa.string()),
            ("terraform_version", pa.string()),
            ("planned_at", UTC_TS),
            ("errored", pa.bool_()),
            ("is_refresh_only", pa.bool_()),
            ("applyable", pa.bool_()),
            ("complete", pa.bool_()),
            ("resource_changes", pa.int64()),
            ("drift_changes", pa.int64()),
            ("create_count", pa.int64()),
            ("update_count", pa.int64()),
            ("delete_count", pa.int64()),
            ("replace_count", pa.int64()),
            ("noop_count", pa.int64()),
            ("read_count", pa.int64()),
            ("output_changes", pa.int64()),
            ("checks_failed", pa.int64()),
            ("expires_at", UTC_TS),
            ("retention_basis", pa.string()),
            ("source_file", pa.string()),
        ]
    ),
    time_column="planned_at",
    cluster_by=("environment",),
    column_docs={
        "plan_id": "sha256 of the plan file's content",
        "retention_basis": "planned_at when the plan has a timestamp, else ingested_at",
    },
)

INFRA_PLAN_CHANGES = TableSpec(
    name="infra_plan_changes",
    description=(
        "One row per resource change (or drifted resource, is_drift) in a plan's "
        "`resource_changes` / `resource_drift`; changed_attributes names the top-level "
        "attributes that differ, never their values."
    ),
    schema=pa.schema(
        [
            ("plan_id", pa.string()),
            ("environment", pa.string()),
            ("terraform_version", pa.string()),
            ("format_version", pa.string()),
            ("planned_at", UTC_TS),
            ("errored", pa.bool_()),
            ("address", pa.string()),
            ("previous_address", pa.string()),
            ("module_address", pa.string()),
            ("mode", pa.string()),
            ("type", pa.string()),
            ("name", pa.string()),
            ("index_key", pa.string()),
            ("provider_name", pa.string()),
            ("actions", pa.string()),
            ("replace_order", pa.string()),
            ("raw_actions", JSON),
            ("action_reason", pa.string()),
            ("replace_paths", JSON),
            ("is_drift", pa.bool_()),
            ("sensitive", pa.bool_()),
            ("changed_attributes", JSON),
            ("expires_at", UTC_TS),
            ("source_file", pa.string()),
        ]
    ),
    time_column="planned_at",
    cluster_by=("environment", "actions"),
    json_columns=("raw_actions", "replace_paths", "changed_attributes"),
    column_docs={
        "actions": "create, update, delete, replace, no-op, read (others joined with '+')",
        "replace_order": "create_before_destroy or delete_before_create, for replace",
        "raw_actions": 'the plan\'s own action list, e.g. ["delete", "create"]',
    },
)

INFRA_PLAN_CHECKS = TableSpec(
    name="infra_plan_checks",
    description=(
        "One row per check result in a plan: a `checks[]` object (check block, resource or "
        "output conditions) or a `condition_results[]` entry."
    ),
    schema=pa.schema(
        [
            ("plan_id", pa.string()),
            ("environment", pa.string()),
            ("planned_at", UTC_TS),
            ("address", pa.string()),
            ("kind", pa.string()),
            ("status", pa.string()),
            ("instances", pa.int64()),
            ("problems", JSON),
            ("expires_at", UTC_TS),
            ("source_file", pa.string()),
        ]
    ),
    time_column="planned_at",
    cluster_by=("environment", "status"),
    json_columns=("problems",),
)

INFRA_PLAN_ARTIFACTS = TableSpec(
    name="infra_plan_artifacts",
    description=(
        "One row per human-readable plan artifact (plan-readable.txt, the text `tofu show` "
        "prints) with the change counts its `Plan:` line states."
    ),
    schema=pa.schema(
        [
            ("environment", pa.string()),
            ("artifact_path", pa.string()),
            ("artifact_folder", pa.string()),
            ("tool", pa.string()),
            ("has_changes", pa.bool_()),
            ("to_add", pa.int64()),
            ("to_change", pa.int64()),
            ("to_destroy", pa.int64()),
            ("plan_error", pa.string()),
            ("size_bytes", pa.int64()),
            ("recorded_at", UTC_TS),
            ("expires_at", UTC_TS),
            ("source_file", pa.string()),
        ]
    ),
    time_column="recorded_at",
    cluster_by=("environment",),
)

INFRA_APPLY_LOGS = TableSpec(
    name="infra_apply_logs",
    description=(
        "One row per resource outcome in a `tofu apply` log (created, updated, destroyed, "
        "imported, failed) plus one `summary` (or `failed`) row per log with the added / "
        "changed / destroyed totals."
    ),
    schema=pa.schema(
        [
            ("apply_id", pa.string()),
            ("environment", pa.string()),
            ("line_no", pa.int64()),
            ("address", pa.string()),
            ("action", pa.string()),
            ("outcome", pa.string()),
            ("elapsed_s", pa.float64()),
            ("resource_id", pa.string()),
            ("error", pa.string()),
            ("added", pa.int64()),
            ("changed", pa.int64()),
            ("destroyed", pa.int64()),
            ("applied_at", UTC_TS),
            ("expires_at", UTC_TS),
            ("retention_basis", pa.string()),
            ("source_file", pa.string()),
        ]
    ),
    time_column="applied_at",
    cluster_by=("environment", "outcome"),
)

INFRA_DRIFT_CHECKS = TableSpec(
    name="infra_drift_checks",
    description=(
        "One row per drift check (a cicl.drift_check/v1 result or a refresh-only plan), "
        "including checks that found no drift: they are what resolves drift issues."
    ),
    schema=pa.schema(
        [
            ("check_id", pa.string()),
            ("environment", pa.string()),
            ("workspace", pa.string()),
            ("checked_at", UTC_TS),
            ("drifted_resources", pa.int64()),
            ("input_format", pa.string()),
            ("source_file", pa.string()),
        ]
    ),
    time_column="checked_at",
    cluster_by=("environment",),
)

INFRA_DRIFT_OBSERVATIONS = TableSpec(
    name="infra_drift_observations",
    description="One row per drifted resource as one drift check reported it (raw input).",
    schema=pa.schema(
        [
            ("check_id", pa.string()),
            ("environment", pa.string()),
            ("checked_at", UTC_TS),
            ("drift_issue_id", pa.string()),
            ("address", pa.string()),
            ("type", pa.string()),
            ("provider", pa.string()),
            ("actions", JSON),
            ("changed_attributes", JSON),
            ("source_file", pa.string()),
        ]
    ),
    time_column="checked_at",
    cluster_by=("environment",),
    json_columns=("actions", "changed_attributes"),
)

_DRIFT_ROW = [
    ("check_id", pa.string()),
    ("environment", pa.string()),
    ("checked_at", UTC_TS),
    ("address", pa.string()),
    ("type", pa.string()),
    ("provider", pa.string()),
    ("actions", JSON),
    ("changed_attributes", JSON),
    ("drift_issue_id", pa.string()),
    ("first_seen_at", UTC_TS),
    ("last_seen_at", UTC_TS),
    ("status", pa.string()),
    ("source_file", pa.string()),
]

INFRA_DRIFT = TableSpec(
    name="infra_drift",
    description=(
        "One row per drifted resource per drift check, with the drift issue it belongs to "
        "(sha256 of environment and address) and that issue's first/last sighting and status."
    ),
    schema=pa.schema(_DRIFT_ROW),
    time_column="checked_at",
    cluster_by=("environment", "status"),
    json_columns=("actions", "changed_attributes"),
)

INFRA_DRIFT_ISSUES = TableSpec(
    name="infra_drift_issues",
    description=(
        "One row per drift issue (environment + resource address), kept forever: when it was "
        "opened, last seen, resolved, and how many checks reported it."
    ),
    schema=pa.schema(
        [
            ("drift_issue_id", pa.string()),
            ("environment", pa.string()),
            ("address", pa.string()),
            ("type", pa.string()),
            ("provider", pa.string()),
            ("status", pa.string()),
            ("opened_at", UTC_TS),
            ("last_seen_at", UTC_TS),
            ("resolved_at", UTC_TS),
            ("occurrences", pa.int64()),
            ("latest_actions", JSON),
            ("latest_changed_attributes", JSON),
            ("source_file", pa.string()),
        ]
    ),
    time_column="opened_at",
    cluster_by=("environment", "status"),
    identity=("drift_issue_id",),
    json_columns=("latest_actions", "latest_changed_attributes"),
    column_docs={"source_file": "the file of the latest check that reported the drift"},
)

# The retained tables expire in BigQuery as the retention policy says (its periods must equal the
# allow-list's); drift tables are permanent and get no expiration.
INFRA_PLANS, INFRA_PLAN_CHANGES, INFRA_PLAN_CHECKS, INFRA_PLAN_ARTIFACTS, INFRA_APPLY_LOGS = (
    replace(spec, partition_expiration_days=RETENTION_ALLOW_LIST[spec.name])
    for spec in (
        INFRA_PLANS,
        INFRA_PLAN_CHANGES,
        INFRA_PLAN_CHECKS,
        INFRA_PLAN_ARTIFACTS,
        INFRA_APPLY_LOGS,
    )
)
