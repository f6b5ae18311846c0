"""The audit tables: normalised events, and the chained, append-only ``audit_events``."""

from __future__ import annotations

import pyarrow as pa

from cicl_assets.warehouse.tables import JSON, UTC_TS, TableSpec

SOURCES = ("gcp_audit", "k8s_audit", "github_audit", "cicl_ci", "cicl")
OUTCOMES = ("success", "failure", "denied", "unknown")

# The normalised event, in the order the chain hashes it (see cicl_assets.audit.chain).
EVENT_FIELDS: tuple[tuple[str, pa.DataType], ...] = (
    ("event_id", pa.string()),
    ("event_time", UTC_TS),
    ("source", pa.string()),
    ("actor", pa.string()),
    ("action", pa.string()),
    ("resource", pa.string()),
    ("outcome", pa.string()),
    ("environment", pa.string()),
    ("commit_sha", pa.string()),
    ("image_digest", pa.string()),
    ("pipeline_run_id", pa.string()),
    ("source_ip", pa.string()),
    ("user_agent", pa.string()),
    ("details", JSON),
    ("source_file", pa.string()),
)
EVENT_COLUMNS = tuple(name for name, _ in EVENT_FIELDS)
CHAIN_FIELDS: tuple[tuple[str, pa.DataType], ...] = (
    ("seq", pa.int64()),
    ("prev_hash", pa.string()),
    ("hash", pa.string()),
    ("chained_at", UTC_TS),
)

_COLUMN_DOCS = {
    "event_id": "id of the event within its source (insertId, auditID/stage, _document_id, uuid)",
    "event_time": "when the event happened (UTC)",
    "source": "gcp_audit | k8s_audit | github_audit | cicl_ci (CI/CD steps) | cicl (cicl itself)",
    "actor": "who acted: principal email, Kubernetes username, GitHub login, CI actor",
    "action": "what was done: GCP methodName, Kubernetes verb, GitHub action, CI step",
    "resource": "what it was done to",
    "outcome": "success | failure | denied | unknown",
    "details": "source-specific fields and the original record, secrets redacted (JSON)",
    "source_file": "landing file the event came from; null for cicl's own actions",
    "seq": "position in the audit chain, 1, 2, 3, ... without gaps",
    "prev_hash": "hash of the event at seq - 1 (64 zeros for seq 1)",
    "hash": "sha256(prev_hash || canonical JSON of the event), lowercase hex",
    "chained_at": "when the event was appended to the chain (not covered by the hash)",
}

AUDIT_EVENTS_STAGING = TableSpec(
    name="audit_events_staging",
    description=(
        "One row per audit event parsed from a landing file under audit/, normalised and "
        "redacted, before it is appended to the audit chain (audit_events)."
    ),
    schema=pa.schema(list(EVENT_FIELDS)),
    time_column="event_time",
    identity=("source", "event_id"),
    cluster_by=("source",),
    json_columns=("details",),
    column_docs=_COLUMN_DOCS,
)

AUDIT_EVENTS = TableSpec(
    name="audit_events",
    description=(
        "One row per audit event (GCP Cloud Audit Logs, Kubernetes audit, GitHub audit log, "
        "CI/CD steps, cicl's own actions), append-only and hash-chained in ingestion order."
    ),
    schema=pa.schema([*EVENT_FIELDS, *CHAIN_FIELDS]),
    time_column="event_time",
    cluster_by=("source", "outcome"),
    json_columns=("details",),
    column_docs=_COLUMN_DOCS,
)
