"""The `user_feedback` table: one row per rating a person (or an evaluator in Langfuse) gave."""

from __future__ import annotations

import pyarrow as pa

from cicl_assets.warehouse.tables import UTC_TS, TableSpec

USER_FEEDBACK = TableSpec(
    name="user_feedback",
    description=(
        "One row per rating of a workflow run or LLM call, from cicl-native feedback records or "
        "Langfuse score exports, with the rating normalised to a score in [0, 1], the user "
        "pseudonymised and the comment redacted."
    ),
    schema=pa.schema(
        [
            ("feedback_id", pa.string()),
            ("rated_at", UTC_TS),
            ("source", pa.string()),
            ("source_kind", pa.string()),
            ("name", pa.string()),
            ("trace_id", pa.string()),
            ("span_id", pa.string()),
            ("session_id", pa.string()),
            ("workflow", pa.string()),
            ("user_pseudonym", pa.string()),
            ("rating_raw", pa.string()),
            ("rating_scale", pa.string()),
            ("value", pa.float64()),
            ("score", pa.float64()),
            ("comment", pa.string()),
            ("source_file", pa.string()),
        ]
    ),
    time_column="rated_at",
    cluster_by=("workflow",),
    identity=("feedback_id",),
    column_docs={
        "feedback_id": "the record's id (Langfuse score id, cicl `id`), else SHA-256 (32 hex) "
        "of trace, span, session, user and time",
        "source": "cicl (native records) or langfuse (score exports)",
        "source_kind": "USER for cicl records; Langfuse's source: API, EVAL or ANNOTATION",
        "name": "what was rated: user_rating for cicl records, the Langfuse score name",
        "trace_id": "32 lowercase hex digits when the rating names an OTel trace",
        "user_pseudonym": "HMAC-SHA256 of the user under CICL_REDACTION_KEY (never the user)",
        "rating_raw": "the rating as sent: up, down, 1-5, a number, a category",
        "rating_scale": "thumbs, 1-5, 0-1, boolean or categorical",
        "value": "the rating as a number where it is one (thumbs: 1/0)",
        "score": "normalised to [0, 1]: up 1, down 0; 1-5 as (r-1)/4; 0-1 as is; boolean 1/0; "
        "categories by label (docs/feedback.md); null when no mapping applies",
        "comment": "the person's comment, secrets redacted",
    },
)
