"""OTLP/JSON as the Collector's file exporter writes it, from an ExportTraceServiceRequest.

Protobuf's canonical JSON mapping is almost OTLP/JSON: camelCase names and 64-bit integers as
strings are the same, but OTLP/JSON writes trace and span ids as hex (not base64) and enums as
integers.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

_ID_KEYS = ("traceId", "spanId", "parentSpanId")


def _hex_ids(record: dict[str, Any]) -> None:
    for key in _ID_KEYS:
        value = record.get(key)
        if value:
            record[key] = base64.b64decode(value).hex()


def request_to_otlp_json(request: ExportTraceServiceRequest) -> dict[str, Any]:
    """The OTLP/JSON document of one request."""
    document = MessageToDict(request, use_integers_for_enums=True)
    for resource_spans in document.get("resourceSpans", ()):
        for scope_spans in resource_spans.get("scopeSpans", ()):
            for span in scope_spans.get("spans", ()):
                _hex_ids(span)
                for link in span.get("links", ()):
                    _hex_ids(link)
    return document


def request_to_json_line(request: ExportTraceServiceRequest) -> bytes:
    """One line of a Collector file-exporter output: the request's OTLP/JSON and a newline."""
    return orjson.dumps(request_to_otlp_json(request)) + b"\n"
