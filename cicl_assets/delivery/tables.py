"""The delivery group's warehouse tables: commits as pushed, commits, DORA metrics."""

import pyarrow as pa

from cicl_assets.warehouse.tables import UTC_TS, TableSpec

COMMIT_PUSHES = TableSpec(
    name="commit_pushes",
    description=(
        "One row per commit (sha and repository) in the GitHub push webhooks and GitLab push "
        "hooks landed under deployments/, as the newest push carrying it has it: sha, "
        "repository, branch, author, commit time, push time and the "
        "message's first line with secret-looking parts redacted."
    ),
    schema=pa.schema(
        [
            ("sha", pa.string()),
            ("repo", pa.string()),
            ("branch", pa.string()),
            ("author", pa.string()),
            ("committed_at", UTC_TS),
            ("pushed_at", UTC_TS),
            ("message", pa.string()),
            ("provider", pa.string()),
            ("source_file", pa.string()),
        ]
    ),
    time_column="committed_at",
    cluster_by=("repo", "branch"),
    # A commit pushed twice (to a branch, then merged onward) is the same commit: one row.
    identity=("sha", "repo"),
    column_docs={
        "author": "the commit author's login or name as the provider sent it",
        "pushed_at": "when the push reached the provider (GitHub's repository.pushed_at); "
        "null for GitLab, whose push hook carries no push time",
        "message": "the first line of the commit message, secrets redacted",
    },
)

COMMITS = TableSpec(
    name="commits",
    description=(
        "One row per commit sha any pipeline record names: commits from push webhooks with "
        "their commit time, and the commits CI runs and deployments name, whose commit time "
        "stays null until a push names them."
    ),
    schema=pa.schema(
        [
            ("sha", pa.string()),
            ("repo", pa.string()),
            ("branch", pa.string()),
            ("author", pa.string()),
            ("committed_at", UTC_TS),
            ("pushed_at", UTC_TS),
            ("message", pa.string()),
            ("first_seen_at", UTC_TS),
            ("named_by", pa.string()),
            ("source_file", pa.string()),
        ]
    ),
    time_column="first_seen_at",
    cluster_by=("repo",),
    column_docs={
        "first_seen_at": "the commit time when known, else the earliest CI run or deploy naming it",
        "named_by": "comma-separated record kinds that name the commit: push, ci_run, deployment",
        "source_file": "the push file when a push names the commit, else the first record's file",
    },
)

DORA_DEPLOYMENTS = TableSpec(
    name="dora_deployments",
    description=(
        "One row per deployment that ran: its lead time for changes and what it ran from, "
        "whether the change failed (each failure once: rollback, failed deploy, attributed "
        "incidents) and when it recovered."
    ),
    schema=pa.schema(
        [
            ("deployment_id", pa.string()),
            ("service", pa.string()),
            ("environment", pa.string()),
            ("version", pa.string()),
            ("commit_sha", pa.string()),
            ("status", pa.string()),
            ("started_at", UTC_TS),
            ("finished_at", UTC_TS),
            ("rollback_of", pa.string()),
            ("change_started_at", UTC_TS),
            ("lead_time_h", pa.float64()),
            ("lead_time_from", pa.string()),
            ("change_failed", pa.bool_()),
            ("failure_causes", pa.string()),
            ("incidents", pa.string()),
            ("failure_at", UTC_TS),
            ("recovered_at", UTC_TS),
            ("recovery_h", pa.float64()),
        ]
    ),
    time_column="started_at",
    cluster_by=("environment", "service"),
    json_columns=("incidents",),
    column_docs={
        "lead_time_from": "first_commit (the change's first pushed commit), deployed_commit "
        "(the change's first commit unknown: the deployed commit's time), "
        "deployed_commit_first_seen (not pushed: when a CI run or deploy first named it), unknown",
        "failure_causes": "comma-separated: failed_deploy, rollback, incident",
        "incidents": "JSON list of the attributed incidents, slo@start",
    },
)

DORA_METRICS = TableSpec(
    name="dora_metrics",
    description=(
        "One row per service x environment x period (an ISO week, or the 30 and 90 days "
        "ending with a day): deployment frequency, lead time for changes, change failure rate "
        "and failed-deployment recovery time, each with its 2024 DORA performance band."
    ),
    schema=pa.schema(
        [
            ("service", pa.string()),
            ("environment", pa.string()),
            ("period", pa.string()),
            ("period_start", UTC_TS),
            ("period_end", UTC_TS),
            ("as_of", UTC_TS),
            ("deployments", pa.int64()),
            ("deploys_per_day", pa.float64()),
            ("deployment_frequency_band", pa.string()),
            ("lead_time_median_h", pa.float64()),
            ("lead_time_deploys", pa.int64()),
            ("lead_time_from_deployed_commit", pa.int64()),
            ("lead_time_band", pa.string()),
            ("failed_deployments", pa.int64()),
            ("change_failure_rate", pa.float64()),
            ("change_failure_rate_band", pa.string()),
            ("failure_causes", pa.string()),
            ("recovery_median_h", pa.float64()),
            ("unrecovered_failures", pa.int64()),
            ("recovery_band", pa.string()),
            ("incidents_without_deploy", pa.int64()),
        ]
    ),
    time_column="period_end",
    cluster_by=("service", "environment"),
    json_columns=("failure_causes",),
    column_docs={
        "period": "week (Monday to the day, growing until Sunday), 30d or 90d",
        "lead_time_from_deployed_commit": "deploys whose change's first commit is unknown, so "
        "their lead time runs from the deployed commit (or when it was first seen)",
        "incidents_without_deploy": (
            "production page incidents of the service no deploy explains; a service with such "
            "an incident and no deploy in the period has a row of its own with 0 deployments"
        ),
    },
)
