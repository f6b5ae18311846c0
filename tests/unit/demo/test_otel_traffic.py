from __future__ import annotations

import json
import statistics
from datetime import datetime
from pathlib import Path

import pytest
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from demo import story
from demo.otlp_json import request_to_otlp_json
from tests.conftest import DEMO_SPANS
from tests.unit.demo.otlp_reader import FlatSpan, otlp_json_to_request, read_requests

ERROR = Status.STATUS_CODE_ERROR


def _ns(at: datetime) -> int:
    return int(at.timestamp()) * 1_000_000_000


def _runs(spans: list[FlatSpan], workflow: str | None = None) -> list[FlatSpan]:
    return [
        s
        for s in spans
        if s.name == "workflow.run" and workflow in (None, s.attributes["workflow.name"])
    ]


def _in_breach(span: FlatSpan) -> bool:
    return _ns(story.BREACH_START) <= span.start_ns < _ns(story.BREACH_END)


def test_volume_services_and_both_formats(demo_landing: Path, demo_spans: list[FlatSpan]) -> None:
    assert 0.9 * DEMO_SPANS < len(demo_spans) < 1.1 * DEMO_SPANS
    assert {s.service for s in demo_spans} == set(story.SERVICES)
    by_format: dict[str, int] = {}
    for s in demo_spans:
        kind = "json" if ".jsonl" in s.path else "protobuf"
        by_format[kind] = by_format.get(kind, 0) + 1
    assert by_format["json"] > 0.3 * len(demo_spans)
    assert by_format["protobuf"] > 0.3 * len(demo_spans)
    names = {p.name for p in (demo_landing / "otel").rglob("*") if p.is_file()}
    assert any(n.endswith(".pb.gz") for n in names)
    assert any(n.endswith(".jsonl.gz") for n in names)
    first = _ns(story.TRAFFIC_START)
    assert all(first <= s.start_ns < s.end_ns for s in demo_spans)
    assert max(s.start_ns for s in demo_spans) < _ns(story.TRAFFIC_END)


def test_trace_structure(demo_spans: list[FlatSpan]) -> None:
    ids = {(s.trace_id, s.span_id) for s in demo_spans}
    assert len(ids) == len(demo_spans)
    roots = [s for s in demo_spans if not s.parent_span_id]
    assert roots and all(
        r.service == "flow-gateway" and r.kind == Span.SPAN_KIND_SERVER for r in roots
    )
    assert {r.name for r in roots} == {"POST /v1/workflows/{name}/runs"}
    orphans = [
        s for s in demo_spans if s.parent_span_id and (s.trace_id, s.parent_span_id) not in ids
    ]
    assert orphans == []
    # every span of a run carries its workflow
    workflows = {s.attributes.get("workflow.name") for s in demo_spans}
    assert workflows == set(story.WORKFLOWS)


def test_llm_calls_follow_gen_ai_conventions(demo_spans: list[FlatSpan]) -> None:
    calls = [s for s in demo_spans if s.attributes.get("gen_ai.operation.name") == "chat"]
    assert {c.attributes["gen_ai.provider.name"] for c in calls} == set(story.PROVIDERS)
    for call in calls:
        provider = story.PROVIDERS[call.attributes["gen_ai.provider.name"]]
        assert call.kind == Span.SPAN_KIND_CLIENT
        assert call.name == f"chat {provider['model']}"
        assert call.attributes["gen_ai.request.model"] == provider["model"]
        assert call.attributes["server.address"]
        if call.status_code == ERROR:
            assert call.attributes["error.type"] in (
                "RateLimitError",
                "Timeout",
                "InternalServerError",
            )
            assert call.events == ["exception"]
        else:
            assert call.attributes["gen_ai.response.model"] == provider["model"]
            assert call.attributes["gen_ai.usage.input_tokens"] > 0
            assert call.attributes["gen_ai.usage.output_tokens"] > 0
    retries = [c for c in calls if c.attributes.get("http.request.resend_count")]
    assert retries and all(r.links == 1 for r in retries)


def test_story_slow_deploy(demo_spans: list[FlatSpan]) -> None:
    deploy = _ns(story.SLOW_DEPLOY_AT)
    runtime = [s for s in demo_spans if s.service == story.SLOW_DEPLOY_SERVICE]
    assert {s.version for s in runtime if s.start_ns < deploy} == {story.SLOW_DEPLOY_VERSION_BEFORE}
    assert {s.version for s in runtime if s.start_ns >= deploy} == {story.SLOW_DEPLOY_VERSION_AFTER}
    calls = [
        s
        for s in runtime
        if s.attributes.get("gen_ai.provider.name") == story.SLOW_PROVIDER
        and s.status_code != ERROR
    ]
    before = statistics.median(c.duration_ms for c in calls if c.start_ns < deploy)
    after = statistics.median(c.duration_ms for c in calls if c.start_ns >= deploy)
    assert after / before == pytest.approx(story.SLOW_FACTOR, rel=0.15)
    # the other providers did not change
    for provider in set(story.PROVIDERS) - {story.SLOW_PROVIDER}:
        others = [
            s
            for s in runtime
            if s.attributes.get("gen_ai.provider.name") == provider and s.status_code != ERROR
        ]
        ratio = statistics.median(c.duration_ms for c in others if c.start_ns >= deploy) / (
            statistics.median(c.duration_ms for c in others if c.start_ns < deploy)
        )
        assert ratio == pytest.approx(1.0, rel=0.15)


def test_story_breach_hour(demo_spans: list[FlatSpan]) -> None:
    runs = _runs(demo_spans, story.BREACH_WORKFLOW)
    inside = [r for r in runs if _in_breach(r)]
    failed = [r for r in inside if r.status_code == ERROR]
    assert len(inside) >= 8
    assert len(failed) / len(inside) == pytest.approx(story.BREACH_ERROR_RATE, abs=0.06)
    failed_traces = {r.trace_id for r in failed}
    gateway_errors = {
        s.trace_id
        for s in demo_spans
        if s.service == "flow-gateway" and s.status_code == ERROR and _in_breach(s)
    }
    assert failed_traces <= gateway_errors
    for trace_id in failed_traces:
        errors = [
            s
            for s in demo_spans
            if s.trace_id == trace_id
            and s.status_code == ERROR
            and "gen_ai.provider.name" in s.attributes
        ]
        assert errors
        assert {e.attributes["gen_ai.provider.name"] for e in errors} == {story.BREACH_PROVIDER}
        assert {e.attributes["error.type"] for e in errors} == {"RateLimitError"}


def test_error_rate_outside_breach_is_well_under_one_percent(demo_spans: list[FlatSpan]) -> None:
    for workflow in story.WORKFLOWS:
        runs = [r for r in _runs(demo_spans, workflow) if not _in_breach(r)]
        failed = [r for r in runs if r.status_code == ERROR]
        assert len(failed) / len(runs) < 0.008, workflow
    outside = [r for r in _runs(demo_spans) if not _in_breach(r)]
    gateway = [s for s in demo_spans if s.service == "flow-gateway" and not _in_breach(s)]
    assert len(gateway) == len(outside)
    assert sum(g.status_code == ERROR for g in gateway) == sum(
        r.status_code == ERROR for r in outside
    )


def test_json_lines_are_collector_style_otlp_json(demo_landing: Path) -> None:
    path = demo_landing / "otel" / "2026" / "11" / "02" / "00-tool-worker.jsonl"
    lines = path.read_bytes().splitlines()
    # One request per export batch of 512 spans: the hour's 16 tool-worker spans are one batch.
    assert len(lines) == 1
    document = json.loads(lines[0])
    span = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    # Ids in lowercase hex, the kind as its enum number, 64-bit times as decimal strings.
    assert {k: span[k] for k in ("traceId", "spanId", "kind", "startTimeUnixNano")} == {
        "traceId": "db80178142cb38e6ee2ec745a6496889",
        "spanId": "8d9898a37b5b6d96",
        "kind": Span.SPAN_KIND_SERVER,
        "startTimeUnixNano": "1793577805679607815",
    }
    assert [
        sum(len(scope["spans"]) for rs in doc["resourceSpans"] for scope in rs["scopeSpans"])
        for doc in map(json.loads, lines)
    ] == [16]


def test_otlp_json_encoder_round_trips_protobuf(demo_landing: Path) -> None:
    path = next((demo_landing / "otel").rglob("*-workflow-runtime.pb"))
    request = read_requests(path)[0]
    assert otlp_json_to_request(request_to_otlp_json(request)) == request


def test_broken_files_are_broken(demo_landing: Path) -> None:
    broken = demo_landing / "otel" / "broken"
    with pytest.raises(DecodeError, match="Error parsing message"):
        ExportTraceServiceRequest.FromString((broken / "upload-interrupted.pb").read_bytes())
    document = json.loads((broken / "bad-trace-id.jsonl").read_bytes())
    with pytest.raises(ValueError, match="non-hexadecimal"):
        otlp_json_to_request(document)
    assert json.loads((broken / "not-otlp.json").read_bytes()) == {"message": "collector started"}
