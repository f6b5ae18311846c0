"""Reads the demo's otel/ files back into flat span records with the protobuf classes and json."""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf.json_format import ParseDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


@dataclass
class FlatSpan:
    service: str
    version: str
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    start_ns: int
    end_ns: int
    status_code: int
    attributes: dict[str, Any]
    events: list[str]
    links: int
    path: str

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return tuple(_value(v) for v in value.array_value.values)
    return getattr(value, which)


def otlp_json_to_request(document: dict[str, Any]) -> ExportTraceServiceRequest:
    """Parse OTLP/JSON: hex ids become the base64 the protobuf JSON mapping expects."""
    for resource_spans in document.get("resourceSpans", ()):
        for scope_spans in resource_spans.get("scopeSpans", ()):
            for span in scope_spans.get("spans", ()):
                for record in (span, *span.get("links", ())):
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if record.get(key):
                            raw = bytes.fromhex(record[key])
                            assert len(raw) == (16 if key == "traceId" else 8), record[key]
                            assert record[key] == record[key].lower()
                            record[key] = base64.b64encode(raw).decode()
    return ParseDict(document, ExportTraceServiceRequest())


def read_requests(path: Path) -> list[ExportTraceServiceRequest]:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    name = path.name.removesuffix(".gz")
    if name.endswith(".pb"):
        return [ExportTraceServiceRequest.FromString(data)]
    return [otlp_json_to_request(json.loads(line)) for line in data.splitlines() if line]


def flatten(request: ExportTraceServiceRequest, path: str) -> list[FlatSpan]:
    out = []
    for rs in request.resource_spans:
        resource = {kv.key: _value(kv.value) for kv in rs.resource.attributes}
        for ss in rs.scope_spans:
            for s in ss.spans:
                out.append(
                    FlatSpan(
                        service=resource["service.name"],
                        version=resource["service.version"],
                        trace_id=s.trace_id.hex(),
                        span_id=s.span_id.hex(),
                        parent_span_id=s.parent_span_id.hex(),
                        name=s.name,
                        kind=s.kind,
                        start_ns=s.start_time_unix_nano,
                        end_ns=s.end_time_unix_nano,
                        status_code=s.status.code,
                        attributes={kv.key: _value(kv.value) for kv in s.attributes},
                        events=[e.name for e in s.events],
                        links=len(s.links),
                        path=path,
                    )
                )
    return out


def read_spans(root: Path) -> list[FlatSpan]:
    spans = []
    for path in sorted((root / "otel").rglob("*")):
        # Session logs and evaluation results sit beside the traces; they carry no spans.
        if path.is_file() and "broken" not in path.parts and ".logs." not in path.name:
            rel = path.relative_to(root).as_posix()
            for request in read_requests(path):
                spans.extend(flatten(request, rel))
    return spans
