"""The `otel` ingest stream: OTLP trace files recognised by content, and their look-alikes.

OTLP logs/metrics/profiles and Jaeger's own JSON model land in `otel/` by mistake often enough
that they get a reject saying what they are, rather than "unrecognised format".
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.formats import FileFormat
from cicl_assets.ingest.runner import StreamSpec
from cicl_assets.telemetry.otlp_json import parse_json
from cicl_assets.telemetry.otlp_json_normalize import NON_TRACE_SIGNALS
from cicl_assets.telemetry.otlp_proto import looks_protobuf, parse_protobuf
from cicl_assets.telemetry.spans_table import OTEL_SPANS


def looks_otlp_json_traces(sniff: Sniff) -> bool:
    return sniff.looks_json and sniff.contains(b'"resourceSpans"')


def looks_other_telemetry(sniff: Sniff) -> bool:
    if not sniff.looks_json or sniff.contains(b'"resourceSpans"'):
        return False
    if any(sniff.contains(f'"{key}"'.encode()) for key in NON_TRACE_SIGNALS):
        return True
    return sniff.contains(b'"spans"') and sniff.contains(b'"operationName"')


def refuse_other_telemetry(data: bytes, source_file: str) -> Iterator[tuple[str, pa.Table]]:
    head = data[:65536]
    for key, signal in NON_TRACE_SIGNALS.items():
        if f'"{key}"'.encode() in head:
            raise ParseError(
                f"{signal}, not traces: the file holds {key!r}; this stream only reads "
                "ExportTraceServiceRequest (resourceSpans)"
            )
    raise ParseError(
        "Jaeger model JSON with base64 ids, not OTLP: the file holds 'spans' with "
        "'operationName'; export OTLP (resourceSpans) from Jaeger or the Collector instead"
    )
    yield  # pragma: no cover - makes this a generator like the other parsers


OTHER_TELEMETRY = FileFormat("not-otlp-traces", looks_other_telemetry, refuse_other_telemetry)
OTLP_PROTOBUF = FileFormat("otlp-protobuf", looks_protobuf, parse_protobuf)
OTLP_JSON = FileFormat(
    "otlp-json", looks_otlp_json_traces, parse_json, look_alikes=(OTHER_TELEMETRY,)
)

OTEL_STREAM = StreamSpec(
    name="otel",
    prefix="otel",
    formats=(OTLP_JSON, OTLP_PROTOBUF),
    tables=(OTEL_SPANS,),
    # spans carry their own identity: a batch copied under another path is the same data
    dedupe_content=True,
    isolated=True,  # pyarrow's JSON reader and upb parse untrusted bytes
)
