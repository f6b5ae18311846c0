"""The `otel` ingest stream: OTLP trace and log files recognised by content, and their
look-alikes.

Traces fill `otel_spans`, logs (the platform's session logs) `otel_logs`; GenAI evaluation
results in either (span events, log records) fill `eval_scores`. OTLP metrics/profiles and
Jaeger's own JSON model land in `otel/` by mistake often enough that they get a reject saying
what they are, rather than "unrecognised format".
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.formats import FileFormat
from cicl_assets.ingest.runner import StreamSpec
from cicl_assets.telemetry.evaluations import add_span_evaluations
from cicl_assets.telemetry.logs_table import EVAL_SCORES, OTEL_LOGS
from cicl_assets.telemetry.otlp_compiled import parse_protobuf_spans
from cicl_assets.telemetry.otlp_json_compiled import parse_json_spans
from cicl_assets.telemetry.otlp_json_normalize import NON_TRACE_SIGNALS
from cicl_assets.telemetry.otlp_logs import (
    looks_otlp_json_logs,
    looks_protobuf_logs,
    parse_logs_json,
)
from cicl_assets.telemetry.otlp_logs_compiled import parse_logs_protobuf_compiled
from cicl_assets.telemetry.otlp_proto import looks_protobuf
from cicl_assets.telemetry.spans_table import OTEL_SPANS

# Logs are a signal of this stream; the others are refused as look-alikes.
REFUSED_SIGNALS = {k: v for k, v in NON_TRACE_SIGNALS.items() if k != "resourceLogs"}


def looks_otlp_json_traces(sniff: Sniff) -> bool:
    return sniff.looks_json and sniff.contains(b'"resourceSpans"')


def looks_other_telemetry(sniff: Sniff) -> bool:
    if not sniff.looks_json or sniff.contains(b'"resourceSpans"'):
        return False
    if any(sniff.contains(f'"{key}"'.encode()) for key in REFUSED_SIGNALS):
        return True
    return sniff.contains(b'"spans"') and sniff.contains(b'"operationName"')


def refuse_other_telemetry(data: bytes, source_file: str) -> Iterator[tuple[str, pa.Table]]:
    head = data[:65536]
    for key, signal in REFUSED_SIGNALS.items():
        if f'"{key}"'.encode() in head:
            raise ParseError(
                f"{signal}, not traces or logs: the file holds {key!r}; this stream reads "
                "ExportTraceServiceRequest (resourceSpans) and ExportLogsServiceRequest "
                "(resourceLogs)"
            )
    raise ParseError(
        "Jaeger model JSON with base64 ids, not OTLP: the file holds 'spans' with "
        "'operationName'; export OTLP (resourceSpans) from Jaeger or the Collector instead"
    )
    yield  # pragma: no cover - makes this a generator like the other parsers


def parse_json_traces(data: bytes, source_file: str) -> Iterator[tuple[str, pa.Table]]:
    return add_span_evaluations(parse_json_spans(data, source_file))


def parse_protobuf_traces(data: bytes, source_file: str) -> Iterator[tuple[str, pa.Table]]:
    return add_span_evaluations(parse_protobuf_spans(data, source_file))


OTHER_TELEMETRY = FileFormat("not-otlp-traces", looks_other_telemetry, refuse_other_telemetry)
OTLP_PROTOBUF = FileFormat("otlp-protobuf", looks_protobuf, parse_protobuf_traces)
OTLP_JSON = FileFormat(
    "otlp-json", looks_otlp_json_traces, parse_json_traces, look_alikes=(OTHER_TELEMETRY,)
)
OTLP_LOGS_JSON = FileFormat("otlp-logs-json", looks_otlp_json_logs, parse_logs_json)
OTLP_LOGS_PROTOBUF = FileFormat(
    "otlp-logs-protobuf", looks_protobuf_logs, parse_logs_protobuf_compiled
)

OTEL_STREAM = StreamSpec(
    name="otel",
    prefix="otel",
    formats=(OTLP_JSON, OTLP_LOGS_JSON, OTLP_LOGS_PROTOBUF, OTLP_PROTOBUF),
    tables=(OTEL_SPANS, OTEL_LOGS, EVAL_SCORES),
    # spans carry their own identity: a batch copied under another path is the same data
    dedupe_content=True,
    isolated=True,  # pyarrow's JSON reader and upb parse untrusted bytes
)
