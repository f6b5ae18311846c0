"""The deployments group's warehouse tables."""

import pyarrow as pa

from cicl_assets.warehouse.tables import UTC_TS, TableSpec

_COMMON = [
    ("deployment_id", pa.string()),
    ("environment", pa.string()),
    ("service", pa.string()),
    ("version", pa.string()),
    ("commit_sha", pa.string()),
    ("image_digest", pa.string()),
    ("image", pa.string()),
    ("status", pa.string()),
    ("provider", pa.string()),
    ("started_at", UTC_TS),
    ("finished_at", UTC_TS),
    ("actor", pa.string()),
    ("approver", pa.string()),
    ("approved_at", UTC_TS),
    ("change_window_start", UTC_TS),
    ("change_window_end", UTC_TS),
    ("rollback_of", pa.string()),
    ("pipeline_run_id", pa.string()),
    ("repo", pa.string()),
    ("ref", pa.string()),
    ("url", pa.string()),
    ("release_manifest", pa.string()),
]

DEPLOYMENT_EVENTS = TableSpec(
    name="deployment_events",
    description=(
        "One row per deployment status event as a provider reported it (a cicl.deployment/v1 "
        "record, a GitHub deployment or deployment_status webhook, a GitLab deployment hook, a "
        "Cloud Build result), normalised to one status vocabulary."
    ),
    schema=pa.schema(
        [
            ("event_id", pa.string()),
            *_COMMON,
            ("status_raw", pa.string()),
            ("event_at", UTC_TS),
            ("source_file", pa.string()),
        ]
    ),
    time_column="event_at",
    # A provider's own event id, or for records without one, a hash of the file and position.
    identity=("event_id",),
    cluster_by=("environment", "service"),
    column_docs={
        "status": "pending, in_progress, succeeded, failed, rolled_back, error or inactive",
        "status_raw": "the provider's own status word",
        "event_at": "when the provider reported this status",
    },
)

DEPLOYMENTS = TableSpec(
    name="deployments",
    description=(
        "One row per deployment with its latest status, merged from all of its status events: "
        "environment, service, commit, image digest, approval, change window, rollback."
    ),
    schema=pa.schema(
        [
            *_COMMON,
            ("events", pa.int64()),
            ("last_event_at", UTC_TS),
            ("attestation_status", pa.string()),
            ("source_file", pa.string()),
        ]
    ),
    time_column="started_at",
    cluster_by=("environment", "service"),
    column_docs={
        "source_file": "the file of the deployment's latest status event",
        "attestation_status": (
            "whether ci_attestations has a statement whose subject is this image digest: "
            "verified, attested-unverified, no-attestation, or no-digest"
        ),
    },
)
