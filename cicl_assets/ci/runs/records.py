"""The ``ci_runs`` table and what every run-record parser shares: status vocabulary, stages,
the run id taken from the landing path."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from cicl_assets.ci.values import pipeline_run_id_from_path, seconds_between
from cicl_assets.ingest.redact import redact_text
from cicl_assets.ingest.values import parse_time
from cicl_assets.warehouse.tables import UTC_TS, TableSpec

RUN_STATUSES = ("success", "failed", "cancelled", "running", "queued")

CI_RUNS = TableSpec(
    name="ci_runs",
    description=(
        "One row per pipeline run record: a run.json, a GitHub workflow_run or workflow_job "
        "webhook, a GitLab pipeline or job hook, or a Cloud Build build message. Webhooks of "
        "one run at several moments are several rows; take the latest updated_at."
    ),
    schema=pa.schema(
        [
            ("pipeline_run_id", pa.string()),
            ("provider", pa.string()),
            ("event", pa.string()),
            ("provider_run_id", pa.string()),
            ("run_attempt", pa.int64()),
            ("pipeline", pa.string()),
            ("job_name", pa.string()),
            ("repo", pa.string()),
            ("commit_sha", pa.string()),
            ("branch", pa.string()),
            ("trigger", pa.string()),
            ("status", pa.string()),
            ("status_raw", pa.string()),
            ("created_at", UTC_TS),
            ("started_at", UTC_TS),
            ("finished_at", UTC_TS),
            ("updated_at", UTC_TS),
            ("duration_s", pa.float64()),
            ("stages", pa.string()),
            ("image_name", pa.string()),
            ("image_tag", pa.string()),
            ("image_digest", pa.string()),
            ("actor", pa.string()),
            ("url", pa.string()),
            ("source_file", pa.string()),
        ]
    ),
    time_column="started_at",
    cluster_by=("pipeline", "status"),
    json_columns=("stages",),
    column_docs={
        "pipeline_run_id": "the <id> of ci/<id>/ (else the record's own id)",
        "provider": "cicl | github | gitlab | cloudbuild",
        "event": "cicl.ci_run/v1 | workflow_run | workflow_job | pipeline | build | cloudbuild",
        "status": "success | failed | cancelled | running | queued",
        "status_raw": "the provider's own status (GitHub: status/conclusion)",
        "stages": "JSON list of {name, status, started_at, finished_at} (jobs or steps)",
        "job_name": "the job a workflow_job / GitLab job hook reports on",
    },
)

_STATUS_MAP = {
    # cicl, GitHub conclusions, GitLab and Cloud Build statuses, lower-cased
    "success": "success", "succeeded": "success", "passed": "success", "neutral": "success",
    "failed": "failed", "failure": "failed", "timed_out": "failed", "timeout": "failed",
    "startup_failure": "failed", "internal_error": "failed", "error": "failed",
    "cancelled": "cancelled", "canceled": "cancelled", "skipped": "cancelled",
    "stale": "cancelled", "expired": "cancelled",
    "running": "running", "in_progress": "running", "working": "running",
    "queued": "queued", "requested": "queued", "waiting": "queued", "pending": "queued",
    "created": "queued", "waiting_for_resource": "queued", "preparing": "queued",
    "scheduled": "queued", "manual": "queued", "action_required": "queued",
}  # fmt: skip


def normalise_status(raw: str | None) -> str | None:
    if raw is None:
        return None
    return _STATUS_MAP.get(str(raw).strip().lower())


def stage(name: Any, status: Any, started: Any, finished: Any, **extra: Any) -> dict[str, Any]:
    start, end = parse_time(started), parse_time(finished)
    stage = {
        "name": name,
        "status": normalise_status(status) or status,
        "started_at": start.isoformat() if start else None,
        "finished_at": end.isoformat() if end else None,
    }
    stage.update({k: v for k, v in extra.items() if v is not None})
    return stage


def str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def finish_row(row: dict[str, Any], source_file: str, own_id: Any) -> dict[str, Any]:
    row["pipeline_run_id"] = pipeline_run_id_from_path(source_file) or (
        str(own_id) if own_id is not None else None
    )
    if row.get("duration_s") is None:
        row["duration_s"] = seconds_between(row.get("started_at"), row.get("finished_at"))
    if row.get("url"):
        row["url"] = redact_text(row["url"])
    return row
