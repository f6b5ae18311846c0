"""The improvement_releases and candidate_outcomes tables."""

from __future__ import annotations

import pyarrow as pa

from cicl_assets.warehouse.tables import JSON, UTC_TS, TableSpec

IMPROVED, NO_EFFECT, WORSE, NOT_MEASURED = "improved", "no_effect", "worse", "not_measured"
VERDICTS = (IMPROVED, NO_EFFECT, WORSE, NOT_MEASURED)

IMPROVEMENT_RELEASES = TableSpec(
    name="improvement_releases",
    description=(
        "One row per release: the approved candidates applied in approval order on a branch "
        "cicl/release-<id> of the platform repository, its base and release commits, the signed "
        "manifest in the outbox and the audit-chain event that records it."
    ),
    schema=pa.schema(
        [
            ("release_id", pa.string()),
            ("released_at", UTC_TS),
            ("platform_repo", pa.string()),
            ("branch", pa.string()),
            ("base_commit", pa.string()),
            ("release_commit", pa.string()),
            ("candidate_ids", JSON),
            ("skipped", JSON),
            ("manifest_id", pa.string()),
            ("manifest_path", pa.string()),
            ("manifest_sha256", pa.string()),
            ("signing_key_id", pa.string()),
            ("pushed", pa.bool_()),
            ("audit_event_hash", pa.string()),
        ]
    ),
    time_column="released_at",
    json_columns=("candidate_ids", "skipped"),
    verbatim_columns=(
        "release_id",
        "branch",
        "base_commit",
        "release_commit",
        "manifest_id",
        "manifest_path",
        "manifest_sha256",
        "signing_key_id",
        "audit_event_hash",
    ),
    column_docs={
        "release_id": "SHA-256 (16 hex) of the base commit and the released candidates' ids in "
        "order; also the manifest id a deployment record carries (release_manifest)",
        "branch": "cicl/release-<release_id>",
        "base_commit": "the platform repository's HEAD the branch starts from",
        "release_commit": "the one commit on the branch, as cicl made it",
        "candidate_ids": "JSON list of the released candidates, in approval order",
        "skipped": "JSON: approved candidates left out of this release -> why (they stay approved)",
        "manifest_path": "the DSSE envelope's name in the outbox",
        "manifest_sha256": "SHA-256 of the envelope's bytes",
        "pushed": "whether the branch was pushed to the repository's remote",
        "audit_event_hash": "hash of the audit-chain event that records the release",
    },
)

CANDIDATE_OUTCOMES = TableSpec(
    name="candidate_outcomes",
    description=(
        "One row per released candidate deployed to production: its targeted metric before and "
        "after the deployment compared with the regression detectors' tests, and the verdict "
        "(improved, no_effect, worse, or not_measured with the reason)."
    ),
    schema=pa.schema(
        [
            ("outcome_id", pa.string()),
            ("release_id", pa.string()),
            ("candidate_id", pa.string()),
            ("kind", pa.string()),
            ("target_file", pa.string()),
            ("deployment_id", pa.string()),
            ("deployed_at", UTC_TS),
            ("deployed_by", pa.string()),
            ("series_key", pa.string()),
            ("metric", pa.string()),
            ("expected", pa.float64()),
            ("baseline_value", pa.float64()),
            ("current_value", pa.float64()),
            ("effect_ratio", pa.float64()),
            ("p_value_worse", pa.float64()),
            ("p_value_improved", pa.float64()),
            ("n_baseline", pa.int64()),
            ("n_current", pa.int64()),
            ("method", pa.string()),
            ("verdict", pa.string()),
            ("reason", pa.string()),
            ("finding_id", pa.string()),
            ("revert_candidate_id", pa.string()),
            ("measured_at", UTC_TS),
        ]
    ),
    cluster_by=("verdict",),
    verbatim_columns=(
        "outcome_id",
        "release_id",
        "candidate_id",
        "deployment_id",
        "finding_id",
        "revert_candidate_id",
    ),
    column_docs={
        "outcome_id": "SHA-256 (32 hex) of release id and candidate id",
        "deployed_by": "how the deployment was matched to the release: release_manifest (the "
        "record carries the manifest id) or ancestor (the deployed commit contains the release "
        "commit)",
        "series_key": "the series the candidate targets: that of the finding it rests on",
        "expected": "the value the candidate's expected_impact promised for that metric, if any",
        "baseline_value": "median (rates: rate) in the hours before the deployment",
        "current_value": "the same in the hours after",
        "p_value_worse": "one-sided p-value that after is worse than before",
        "p_value_improved": "one-sided p-value that after is better than before",
        "verdict": "improved, no_effect, worse or not_measured",
        "reason": "the sentence above the picture: what changed, or why it was not measured",
        "finding_id": "the outcome_worse finding a worse verdict opened",
        "revert_candidate_id": "the revert candidate a worse verdict proposed",
    },
)
