"""Realistic synthetic OTLP trace requests for the ingestion benchmark.

Each trace is one workflow run: a gateway SERVER span, the runtime's workflow span, several LLM
CLIENT calls with gen-AI attributes (some with exception events) and tool calls. Spans carry
10-20 attributes of mixed types, as instrumented services emit them.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator

import orjson
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

SERVICES = {
    "flow-gateway": "2.3.1",
    "workflow-runtime": "1.8.0",
    "tool-worker": "0.9.4",
}
PROVIDERS = {
    "openai": "gpt-4.1",
    "anthropic": "claude-sonnet-4",
    "gcp.gemini": "gemini-2.5-pro",
}
WORKFLOWS = ("invoice-triage", "support-reply", "code-review", "contract-summary")
TOOLS = ("search_documents", "fetch_invoice", "create_ticket", "run_linter", "send_email")
T0_NS = 1_762_041_600_000_000_000  # 2025-11-02T00:00:00Z


def _kv(key: str, value: object) -> KeyValue:
    kv = KeyValue(key=key)
    if isinstance(value, bool):
        kv.value.bool_value = value
    elif isinstance(value, int):
        kv.value.int_value = value
    elif isinstance(value, float):
        kv.value.double_value = value
    elif isinstance(value, list):
        kv.value.array_value.values.extend(AnyValue(string_value=v) for v in value)
    else:
        kv.value.string_value = str(value)
    return kv


def _resource_attrs(service: str, rng: random.Random) -> list[KeyValue]:
    return [
        _kv("service.name", service),
        _kv("service.version", SERVICES[service]),
        _kv("service.instance.id", f"{service}-{rng.randrange(16**8):08x}"),
        _kv("deployment.environment.name", "production"),
        _kv("telemetry.sdk.name", "opentelemetry"),
        _kv("telemetry.sdk.language", "rust" if service != "flow-gateway" else "go"),
        _kv("telemetry.sdk.version", "0.27.1"),
        _kv("k8s.namespace.name", "flow"),
        _kv("k8s.pod.name", f"{service}-7d9f{rng.randrange(1000):03d}"),
        _kv("cloud.region", "us-central1"),
    ]


class TraceFactory:
    """Builds spans of whole workflow runs; ``spans_per_request`` spans per service request."""

    def __init__(self, seed: int = 7):
        self.rng = random.Random(seed)
        self.clock = T0_NS

    def _id(self, n: int) -> bytes:
        return self.rng.getrandbits(n * 8).to_bytes(n, "big")

    def _span(self, trace_id, parent, name, kind, start, dur_ms, attrs, error=False) -> Span:
        span = Span(
            trace_id=trace_id,
            span_id=self._id(8),
            parent_span_id=parent or b"",
            name=name,
            kind=kind,
            start_time_unix_nano=start,
            end_time_unix_nano=start + int(dur_ms * 1e6),
        )
        span.attributes.extend(_kv(k, v) for k, v in attrs.items())
        if error:
            span.status.code = Status.STATUS_CODE_ERROR
            span.status.message = "upstream returned 429: rate limited"
            ev = span.events.add(name="exception", time_unix_nano=start + int(dur_ms * 5e5))
            ev.attributes.extend(
                [
                    _kv("exception.type", "RateLimitError"),
                    _kv("exception.message", "429 Too Many Requests"),
                ]
            )
        elif self.rng.random() < 0.5:
            span.status.code = Status.STATUS_CODE_OK
        return span

    def workflow_run(self) -> dict[str, list[Span]]:
        """Spans of one run, grouped by the service that emitted them."""
        rng = self.rng
        self.clock += rng.randrange(5_000_000, 50_000_000)
        start = self.clock
        trace_id = self._id(16)
        workflow = rng.choice(WORKFLOWS)
        out: dict[str, list[Span]] = {s: [] for s in SERVICES}
        calls = rng.randrange(2, 6)
        total_ms = 0.0
        wf_span_id = self._id(8)
        gw = self._span(
            trace_id,
            None,
            "POST /v1/workflows/{id}/runs",
            Span.SPAN_KIND_SERVER,
            start,
            1.0,
            {
                "http.request.method": "POST",
                "http.route": "/v1/workflows/{id}/runs",
                "http.response.status_code": 200,
                "url.scheme": "https",
                "server.address": "flow.coditect.example",
                "server.port": 443,
                "client.address": f"10.{rng.randrange(256)}.{rng.randrange(256)}.7",
                "user_agent.original": "flow-workbench/3.2 (web)",
                "network.protocol.version": "2",
                "workflow.name": workflow,
                "enduser.id": f"user-{rng.randrange(5000)}",
            },
        )
        t = start + 2_000_000
        for _ in range(calls):
            provider = rng.choice(list(PROVIDERS))
            dur = max(50.0, rng.gauss(1800, 600))
            failed = rng.random() < 0.02
            inp, outp = rng.randrange(200, 6000), rng.randrange(20, 1500)
            out["workflow-runtime"].append(
                self._span(
                    trace_id,
                    wf_span_id,
                    f"chat {PROVIDERS[provider]}",
                    Span.SPAN_KIND_CLIENT,
                    t,
                    dur,
                    {
                        "gen_ai.operation.name": "chat",
                        "gen_ai.provider.name": provider,
                        "gen_ai.request.model": PROVIDERS[provider],
                        "gen_ai.response.model": PROVIDERS[provider] + "-2025-08-07",
                        "gen_ai.request.temperature": round(rng.random(), 2),
                        "gen_ai.request.max_tokens": 4096,
                        "gen_ai.usage.input_tokens": inp,
                        "gen_ai.usage.output_tokens": outp,
                        "gen_ai.response.finish_reasons": ["stop"],
                        "gen_ai.response.id": f"resp_{rng.randrange(16**12):012x}",
                        "server.address": f"api.{provider}.example",
                        "server.port": 443,
                        "workflow.name": workflow,
                        "workflow.step": rng.randrange(1, 9),
                        **({"error.type": "RateLimitError"} if failed else {}),
                    },
                    error=failed,
                )
            )
            t += int(dur * 1e6)
            total_ms += dur
            if rng.random() < 0.6:
                tool = rng.choice(TOOLS)
                tdur = rng.uniform(5, 300)
                out["tool-worker"].append(
                    self._span(
                        trace_id,
                        wf_span_id,
                        f"execute_tool {tool}",
                        Span.SPAN_KIND_INTERNAL,
                        t,
                        tdur,
                        {
                            "gen_ai.operation.name": "execute_tool",
                            "gen_ai.tool.name": tool,
                            "gen_ai.tool.call.id": f"call_{rng.randrange(16**10):010x}",
                            "workflow.name": workflow,
                            "tool.cache_hit": rng.random() < 0.3,
                            "tool.result_bytes": rng.randrange(100, 90_000),
                            "db.system.name": "postgresql",
                            "thread.id": rng.randrange(1, 64),
                            "code.function.name": f"tools::{tool}",
                            "code.file.path": f"src/tools/{tool}.rs",
                        },
                    )
                )
                t += int(tdur * 1e6)
                total_ms += tdur
        wf = self._span(
            trace_id,
            gw.span_id,
            f"workflow {workflow}",
            Span.SPAN_KIND_INTERNAL,
            start + 1_000_000,
            total_ms + 3,
            {
                "workflow.name": workflow,
                "workflow.run.id": f"run-{rng.randrange(16**10):010x}",
                "workflow.version": "12",
                "workflow.steps": calls,
                "workflow.tenant": f"tenant-{rng.randrange(40)}",
                "code.function.name": "runtime::run_workflow",
                "thread.id": rng.randrange(1, 64),
                "workflow.cost_usd": round(rng.random() * 0.4, 4),
                "workflow.trigger": rng.choice(["api", "schedule", "webhook"]),
                "workflow.priority": rng.choice(["low", "normal", "high"]),
            },
        )
        wf.span_id = wf_span_id
        gw.end_time_unix_nano = start + int((total_ms + 6) * 1e6)
        out["flow-gateway"].append(gw)
        out["workflow-runtime"].insert(0, wf)
        self.clock = t
        return out

    def requests(self, spans_per_request: int = 512) -> Iterator[ExportTraceServiceRequest]:
        """Endless requests, each holding one service's spans (as an SDK batch exporter sends)."""
        pending: dict[str, list[Span]] = {s: [] for s in SERVICES}
        resources = {s: _resource_attrs(s, self.rng) for s in SERVICES}
        while True:
            for service, spans in self.workflow_run().items():
                pending[service].extend(spans)
                if len(pending[service]) >= spans_per_request:
                    req = ExportTraceServiceRequest()
                    rs = req.resource_spans.add()
                    rs.resource.attributes.extend(resources[service])
                    ss = rs.scope_spans.add()
                    ss.scope.name = f"{service}.tracing"
                    ss.scope.version = "0.27.1"
                    ss.spans.extend(pending[service][:spans_per_request])
                    pending[service] = pending[service][spans_per_request:]
                    yield req


def to_json_line(request: ExportTraceServiceRequest) -> bytes:
    """OTLP/JSON as the Collector's file exporter writes it (hex ids, int enums, one line)."""
    return orjson.dumps({"resourceSpans": [_resource_spans(rs) for rs in request.resource_spans]})


def to_json_line_reference(request: ExportTraceServiceRequest) -> bytes:
    """The same through protobuf's own (slow) JSON mapping; for checking `to_json_line`."""
    doc = json_format.MessageToDict(request, use_integers_for_enums=True)
    for rs in doc.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for span in ss.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if span.get(key):
                        span[key] = base64.b64decode(span[key]).hex()
    return orjson.dumps(doc)


def _value(v: AnyValue) -> dict:
    which = v.WhichOneof("value")
    if which == "string_value":
        return {"stringValue": v.string_value}
    if which == "int_value":
        return {"intValue": str(v.int_value)}
    if which == "double_value":
        return {"doubleValue": v.double_value}
    if which == "bool_value":
        return {"boolValue": v.bool_value}
    if which == "array_value":
        return {"arrayValue": {"values": [_value(x) for x in v.array_value.values]}}
    raise ValueError(which)


def _attrs(kvs) -> list[dict]:
    return [{"key": kv.key, "value": _value(kv.value)} for kv in kvs]


def _span(s: Span) -> dict:
    out: dict = {"traceId": s.trace_id.hex(), "spanId": s.span_id.hex()}
    if s.parent_span_id:
        out["parentSpanId"] = s.parent_span_id.hex()
    out["name"] = s.name
    out["kind"] = s.kind
    out["startTimeUnixNano"] = str(s.start_time_unix_nano)
    out["endTimeUnixNano"] = str(s.end_time_unix_nano)
    out["attributes"] = _attrs(s.attributes)
    if s.events:
        out["events"] = [
            {
                "timeUnixNano": str(e.time_unix_nano),
                "name": e.name,
                "attributes": _attrs(e.attributes),
            }
            for e in s.events
        ]
    status: dict = {}
    if s.status.message:
        status["message"] = s.status.message
    if s.status.code:
        status["code"] = s.status.code
    if status:
        out["status"] = status
    return out


def _resource_spans(rs) -> dict:
    return {
        "resource": {"attributes": _attrs(rs.resource.attributes)},
        "scopeSpans": [
            {
                "scope": {"name": ss.scope.name, "version": ss.scope.version},
                "spans": [_span(s) for s in ss.spans],
            }
            for ss in rs.scope_spans
        ],
    }
