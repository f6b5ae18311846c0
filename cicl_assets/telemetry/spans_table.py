"""The `otel_spans` table: one row per span, as the analysts query it."""

from __future__ import annotations

import pyarrow as pa

from cicl_assets.warehouse.tables import JSON, UTC_TS, TableSpec

OTEL_SPANS = TableSpec(
    name="otel_spans",
    description=(
        "One row per OpenTelemetry span received as OTLP (protobuf, JSON or JSON lines), with "
        "its resource and scope, attributes as JSON, and gen-AI and workflow attributes promoted "
        "to columns."
    ),
    schema=pa.schema(
        [
            ("trace_id", pa.string()),
            ("span_id", pa.string()),
            ("parent_span_id", pa.string()),
            ("trace_state", pa.string()),
            ("service_name", pa.string()),
            ("service_version", pa.string()),
            ("deployment_environment", pa.string()),
            ("span_name", pa.string()),
            ("span_kind", pa.string()),
            ("start_time", UTC_TS),
            ("end_time", UTC_TS),
            ("duration_ms", pa.float64()),
            ("status_code", pa.string()),
            ("status_message", pa.string()),
            ("scope_name", pa.string()),
            ("scope_version", pa.string()),
            ("resource_attributes", JSON),
            ("span_attributes", JSON),
            ("events", JSON),
            ("links", JSON),
            ("gen_ai_provider", pa.string()),
            ("gen_ai_model", pa.string()),
            ("input_tokens", pa.int64()),
            ("output_tokens", pa.int64()),
            ("workflow_name", pa.string()),
            ("http_status_code", pa.int64()),
            ("error_type", pa.string()),
            ("source_file", pa.string()),
        ]
    ),
    time_column="start_time",
    require_partition_filter=True,
    # One row per span; a version with an end time beats one without, then the newer content.
    identity=("trace_id", "span_id"),
    prefer_present=("end_time",),
    cluster_by=("service_name", "span_name"),
    json_columns=("resource_attributes", "span_attributes", "events", "links"),
    repeating_columns=("resource_attributes", "links"),
    verbatim_columns=("trace_id", "span_id", "parent_span_id"),
    column_docs={
        "trace_id": "32 lowercase hex digits",
        "span_id": "16 lowercase hex digits",
        "parent_span_id": "16 lowercase hex digits; null for a root span",
        "span_kind": "SERVER, CLIENT, INTERNAL, PRODUCER, CONSUMER or UNSPECIFIED",
        "status_code": "UNSET, OK or ERROR",
        "deployment_environment": "resource deployment.environment.name (or deployment.environment)",
        "resource_attributes": "JSON object of the resource's attributes",
        "span_attributes": "JSON object of the span's attributes, values as natural JSON",
        "events": "JSON array of {name, time_unix_nano, attributes}",
        "links": "JSON array of {trace_id, span_id, trace_state, attributes}",
        "gen_ai_provider": "gen_ai.provider.name (or the older gen_ai.system)",
        "gen_ai_model": "gen_ai.request.model, else gen_ai.response.model",
        "input_tokens": "gen_ai.usage.input_tokens (or prompt_tokens)",
        "output_tokens": "gen_ai.usage.output_tokens (or completion_tokens)",
        "workflow_name": "span attribute workflow.name",
        "http_status_code": "http.response.status_code (or http.status_code)",
        "error_type": "span attribute error.type",
    },
)
