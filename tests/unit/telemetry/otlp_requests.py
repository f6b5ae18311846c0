"""OTLP trace requests built with the protobuf classes, and their OTLP/JSON encodings."""

import base64
import json

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

TRACE = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
ROOT = bytes.fromhex("b7ad6b7169203331")
CHILD = bytes.fromhex("00f067aa0ba902b7")
T0 = 1_762_300_800_123_456_789  # 2025-11-05T00:00:00.123456789Z


def kv(key: str, **value) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(**value))


def every_kind_request() -> ExportTraceServiceRequest:
    """Two resources, two scopes, every AnyValue kind, events, links, old and new attribute names."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.extend(
        [
            kv("service.name", string_value="workflow-runtime"),
            kv("service.version", string_value="1.8.0"),
            kv("deployment.environment.name", string_value="production"),
        ]
    )
    ss = rs.scope_spans.add()
    ss.scope.name = "runtime.tracing"
    ss.scope.version = "0.27.1"
    root = ss.spans.add(
        trace_id=TRACE,
        span_id=ROOT,
        name="workflow invoice-triage",
        kind=Span.SPAN_KIND_SERVER,
        start_time_unix_nano=T0,
        end_time_unix_nano=T0 + 2_500_000_000,
        trace_state="vendor=1",
    )
    root.status.code = Status.STATUS_CODE_OK
    root.attributes.extend(
        [
            kv("workflow.name", string_value="invoice-triage"),
            kv("http.response.status_code", int_value=200),
            kv("text", string_value='say "hi"\n\tback\\slash é'),
            kv("empty.string", string_value=""),
            kv("flag", bool_value=False),
            kv("count", int_value=-(2**63)),
            kv("ratio", double_value=0.1),
            kv("not.a.number", double_value=float("nan")),
            kv("infinite", double_value=float("-inf")),
            kv("blob", bytes_value=b"\x00\x01\xff"),
            kv("empty.value"),
            kv(
                "list",
                array_value={
                    "values": [
                        AnyValue(string_value="a"),
                        AnyValue(int_value=7),
                        AnyValue(array_value={"values": [AnyValue(double_value=1.5)]}),
                    ]
                },
            ),
            kv(
                "map",
                kvlist_value={
                    "values": [
                        kv("inner", bool_value=True),
                        kv("deep", kvlist_value={"values": [kv("x", int_value=1)]}),
                    ]
                },
            ),
            kv("empty.list", array_value={}),
        ]
    )
    child = ss.spans.add(
        trace_id=TRACE,
        span_id=CHILD,
        parent_span_id=ROOT,
        name="chat claude-sonnet-4",
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=T0 + 1_000,
        end_time_unix_nano=T0 + 1_801_000_000,
    )
    child.status.code = Status.STATUS_CODE_ERROR
    child.status.message = "429 rate limited"
    child.attributes.extend(
        [
            kv("gen_ai.system", string_value="anthropic"),
            kv("gen_ai.response.model", string_value="claude-sonnet-4-20250514"),
            kv("gen_ai.usage.prompt_tokens", int_value=1200),
            kv("gen_ai.usage.completion_tokens", int_value=80),
            kv("error.type", string_value="RateLimitError"),
            kv("http.status_code", int_value=429),
        ]
    )
    event = child.events.add(name="exception", time_unix_nano=T0 + 1_800_000_000)
    event.attributes.extend([kv("exception.type", string_value="RateLimitError")])
    child.events.add(name="retry", time_unix_nano=T0 + 1_800_000_001)
    link = child.links.add(trace_id=bytes(range(16)), span_id=bytes(range(8)))
    link.attributes.extend([kv("link.kind", string_value="follows_from")])

    scope2 = rs.scope_spans.add()
    scope2.scope.name = "runtime.http"
    scope2.spans.add(
        trace_id=TRACE,
        span_id=bytes.fromhex("1111111111111111"),
        parent_span_id=ROOT,
        name="GET /health",
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=T0,
        end_time_unix_nano=T0 + 500,
    )

    rs2 = req.resource_spans.add()
    rs2.resource.attributes.extend(
        [
            kv("service.name", string_value="tool-worker"),
            kv("deployment.environment", string_value="staging"),
        ]
    )
    other = rs2.scope_spans.add().spans.add(
        trace_id=bytes.fromhex("ffffffffffffffffffffffffffffff01"),
        span_id=bytes.fromhex("2222222222222222"),
        name="execute_tool search",
        kind=Span.SPAN_KIND_PRODUCER,
        start_time_unix_nano=T0,
        end_time_unix_nano=T0 + 3_000_000,
    )
    other.attributes.extend(
        [
            kv("gen_ai.provider.name", string_value="openai"),
            kv("gen_ai.system", string_value="ignored-older-name"),
            kv("gen_ai.request.model", string_value="gpt-4.1"),
            kv("gen_ai.usage.input_tokens", int_value=10),
            kv("gen_ai.usage.output_tokens", int_value=20),
        ]
    )
    return req


def _hex_ids(obj: dict) -> None:
    for key in ("traceId", "spanId", "parentSpanId"):
        if obj.get(key):
            obj[key] = base64.b64decode(obj[key]).hex()


def to_otlp_json(req: ExportTraceServiceRequest) -> dict:
    """The OTLP/JSON form: hex ids, integer enums, 64-bit integers as strings."""
    doc = json_format.MessageToDict(req, use_integers_for_enums=True)
    for rs in doc.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for span in ss.get("spans", []):
                _hex_ids(span)
                for link in span.get("links", []):
                    _hex_ids(link)
    return doc


def from_otlp_json(doc: dict) -> ExportTraceServiceRequest:
    """Back to protobuf (hex ids to bytes) with the reference JSON parser."""
    doc = json.loads(json.dumps(doc))
    for rs in doc.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for span in ss.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if span.get(key):
                        span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
                for link in span.get("links", []):
                    for key in ("traceId", "spanId"):
                        link[key] = base64.b64encode(bytes.fromhex(link[key])).decode()
    return json_format.ParseDict(doc, ExportTraceServiceRequest())
