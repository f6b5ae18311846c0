"""The `otel_logs` and `eval_scores` tables: log records (the platform's session logs) and the
GenAI evaluation results carried by log records and span events."""

from __future__ import annotations

import pyarrow as pa

from cicl_assets.warehouse.tables import JSON, UTC_TS, TableSpec

OTEL_LOGS = TableSpec(
    name="otel_logs",
    description=(
        "One row per OpenTelemetry log record received as OTLP logs (protobuf, JSON or JSON "
        "lines): its time, severity, body, attributes, resource and scope, and the trace and span "
        "it was written in. These are the platform's session logs."
    ),
    schema=pa.schema(
        [
            ("time", UTC_TS),
            ("observed_time", UTC_TS),
            ("severity_number", pa.int64()),
            ("severity_text", pa.string()),
            ("body", pa.string()),
            ("body_json", JSON),
            ("event_name", pa.string()),
            ("attributes", JSON),
            ("resource_attributes", JSON),
            ("scope_name", pa.string()),
            ("scope_version", pa.string()),
            ("trace_id", pa.string()),
            ("span_id", pa.string()),
            ("flags", pa.int64()),
            ("service_name", pa.string()),
            ("service_version", pa.string()),
            ("deployment_environment", pa.string()),
            ("session_id", pa.string()),
            ("source_file", pa.string()),
        ]
    ),
    time_column="time",
    require_partition_filter=True,
    cluster_by=("service_name", "severity_number"),
    json_columns=("body_json", "attributes", "resource_attributes"),
    repeating_columns=("resource_attributes",),
    column_docs={
        "time": "timeUnixNano, or observedTimeUnixNano when the record has no time of its own",
        "observed_time": "observedTimeUnixNano: when the collector first saw the record",
        "severity_number": "1-24 (TRACE 1-4, DEBUG 5-8, INFO 9-12, WARN 13-16, ERROR 17-20, "
        "FATAL 21-24); null when unspecified",
        "body": "the body when it is a string (secrets redacted); null otherwise",
        "body_json": "the body as JSON when it is not a string (secrets redacted)",
        "event_name": "the record's event name (eventName, or the event.name attribute)",
        "attributes": "JSON object of the record's attributes, secrets redacted",
        "trace_id": "32 lowercase hex digits; null when the record was written outside a span",
        "span_id": "16 lowercase hex digits",
        "session_id": "attribute session.id",
    },
)

EVAL_SCORES = TableSpec(
    name="eval_scores",
    description=(
        "One row per GenAI evaluation result (the OpenTelemetry gen_ai.evaluation.result event, "
        "sent as a log record or a span event): what was evaluated, the evaluation's name, score, "
        "label and explanation, and the provider, model and workflow of the evaluated span."
    ),
    schema=pa.schema(
        [
            ("evaluation_id", pa.string()),
            ("evaluated_at", UTC_TS),
            ("trace_id", pa.string()),
            ("span_id", pa.string()),
            ("response_id", pa.string()),
            ("evaluation_name", pa.string()),
            ("score_value", pa.float64()),
            ("score_label", pa.string()),
            ("explanation", pa.string()),
            ("error_type", pa.string()),
            ("evaluator", pa.string()),
            ("carrier", pa.string()),
            ("gen_ai_provider", pa.string()),
            ("gen_ai_model", pa.string()),
            ("workflow_name", pa.string()),
            ("source_file", pa.string()),
        ]
    ),
    time_column="evaluated_at",
    cluster_by=("evaluation_name",),
    require_partition_filter=True,
    identity=("evaluation_id",),
    column_docs={
        "evaluation_id": "SHA-256 (32 hex) of carrier, trace, span, response id, name and time",
        "trace_id": "the evaluated trace (32 lowercase hex)",
        "span_id": "the evaluated span: the log record's span, or the span carrying the event",
        "response_id": "gen_ai.response.id, which names the evaluated completion when no span does",
        "evaluation_name": "gen_ai.evaluation.name",
        "score_value": "gen_ai.evaluation.score.value, on the evaluator's own scale",
        "score_label": "gen_ai.evaluation.score.label (pass, fail, relevant, ...)",
        "explanation": "gen_ai.evaluation.explanation, secrets redacted",
        "error_type": "error.type when the evaluation itself failed",
        "evaluator": "service.name of the resource that emitted the result",
        "carrier": "log_record or span_event",
        "gen_ai_provider": "of the evaluated span (joined from otel_spans for log records)",
        "gen_ai_model": "of the evaluated span (joined from otel_spans for log records)",
        "workflow_name": "of the evaluated span (joined from otel_spans for log records)",
    },
)
