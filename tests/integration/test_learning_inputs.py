"""Session logs, evaluation results and user feedback through their streams, on every
warehouse: what lands, what is rejected and why, and that re-running adds nothing."""

import gzip
import shutil
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from cicl_assets.feedback.stream import FEEDBACK_STREAM
from cicl_assets.ingest.redact import pseudonymise
from cicl_assets.ingest.runner import ingest_stream
from cicl_assets.landing import LandingZone
from cicl_assets.telemetry.evaluation_join import join_evaluated_spans
from cicl_assets.telemetry.formats import OTEL_STREAM
from tests.redaction import masked

FIXTURES = Path(__file__).parents[1] / "fixtures"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
ROOT, CHILD = "b7ad6b7169203331", "00f067aa0ba902b7"
T0 = 1_793_872_740_000_000_000  # 2026-11-05T09:59:00Z


def _kv(key: str, **value) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(**value))


def traces() -> ExportTraceServiceRequest:
    """A workflow run whose LLM call carries a response id, with an evaluation as a span event
    on the run's span."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.append(_kv("service.name", string_value="workflow-runtime"))
    spans = rs.scope_spans.add().spans
    root = spans.add(
        trace_id=bytes.fromhex(TRACE),
        span_id=bytes.fromhex(ROOT),
        name="workflow support-reply",
        start_time_unix_nano=T0,
        end_time_unix_nano=T0 + 3_000_000_000,
    )
    root.attributes.append(_kv("workflow.name", string_value="support-reply"))
    event = root.events.add(name="gen_ai.evaluation.result", time_unix_nano=T0 + 5_000_000_000)
    event.attributes.extend(
        [
            _kv("gen_ai.evaluation.name", string_value="tone"),
            _kv("gen_ai.evaluation.score.value", double_value=0.9),
            _kv("gen_ai.evaluation.score.label", string_value="pass"),
        ]
    )
    call = spans.add(
        trace_id=bytes.fromhex(TRACE),
        span_id=bytes.fromhex(CHILD),
        parent_span_id=bytes.fromhex(ROOT),
        name="chat claude-sonnet-4",
        start_time_unix_nano=T0 + 1_000_000,
        end_time_unix_nano=T0 + 2_000_000_000,
    )
    for key, text in (
        ("workflow.name", "support-reply"),
        ("gen_ai.provider.name", "anthropic"),
        ("gen_ai.request.model", "claude-sonnet-4"),
        ("gen_ai.response.id", "resp_00000000000000a1"),
    ):
        call.attributes.append(_kv(key, string_value=text))
    return req


def logs_protobuf() -> bytes:
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    rl.resource.attributes.append(_kv("service.name", string_value="flow-gateway"))
    sl = rl.scope_logs.add()
    sl.scope.name = "flow.gateway.session"
    record = sl.log_records.add(
        time_unix_nano=T0,
        observed_time_unix_nano=T0 + 1,
        severity_number=17,
        severity_text="ERROR",
        trace_id=bytes.fromhex(TRACE),
        span_id=bytes.fromhex(ROOT),
        event_name="session.end",
    )
    record.body.kvlist_value.values.append(_kv("reason", string_value="client closed"))
    record.attributes.append(_kv("session.id", string_value="sess-42"))
    return req.SerializeToString()


def _landing(root: Path) -> LandingZone:
    otel, feedback = root / "otel", root / "feedback"
    otel.mkdir(parents=True)
    feedback.mkdir()
    (otel / "traces.pb").write_bytes(traces().SerializeToString())
    lines = (FIXTURES / "otlp-logs" / "genai-evaluation-events.jsonl").read_bytes()
    (otel / "evaluations.jsonl.gz").write_bytes(gzip.compress(lines))
    shutil.copy(FIXTURES / "otlp-logs" / "otel-proto__events.json", otel / "events.json")
    (otel / "session.pb").write_bytes(logs_protobuf())
    (otel / "cut-session.pb").write_bytes(logs_protobuf()[:-5])
    bad_id = lines.split(b"\n")[1].replace(b"b7ad6b7169203331", b"b7ad6b71692033zz")
    (otel / "bad-span-id.jsonl").write_bytes(bad_id + b"\n")
    shutil.copy(FIXTURES / "feedback" / "native.jsonl", feedback / "native.jsonl")
    shutil.copy(FIXTURES / "feedback" / "langfuse-scores-page.json", feedback / "langfuse.json")
    (feedback / "bad-rating.jsonl").write_text(
        '{"workflow": "support-reply", "rating": 9, "at": "2026-11-05T10:00:00Z"}\n'
    )
    (feedback / "langfuse-bad-type.json").write_text(
        '[{"id": "x", "traceId": "t", "name": "q", "value": 1, "dataType": "TEXT", '
        '"timestamp": "2026-11-05T10:00:00Z"}]'
    )
    return LandingZone(uri=str(root), state_dir=str(root.parent / "state"))


def _rows(warehouse, sql: str) -> list[dict]:
    return warehouse.query(sql).to_pylist()


def test_logs_evaluations_and_feedback_land_and_bad_files_say_why(any_warehouse, tmp_path):
    landing = _landing(tmp_path / "landing")
    key = landing.redaction_policy().key
    otel = ingest_stream(OTEL_STREAM, landing, any_warehouse, run_id="r1")
    feedback = ingest_stream(FEEDBACK_STREAM, landing, any_warehouse, run_id="r1")
    assert (otel.files_ingested, otel.files_rejected) == (4, 2)
    assert (feedback.files_ingested, feedback.files_rejected) == (2, 2)
    assert join_evaluated_spans(any_warehouse) == {"evaluations_without_span": 0}

    rejects = {
        r["source_file"]: r["error"]
        for r in _rows(any_warehouse, "SELECT source_file, error FROM ingest_rejects")
    }
    assert rejects == {
        "otel/cut-session.pb": "otel/cut-session.pb: otlp-logs-protobuf: not a readable protobuf "
        "ExportLogsServiceRequest (Error parsing message with type "
        "'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest'); truncated or not OTLP",
        "otel/bad-span-id.jsonl": "otel/bad-span-id.jsonl: otlp-logs-json: line 1: "
        "resourceLogs[0].scopeLogs[0].logRecords[0].spanId: 'b7ad6b71692033zz' is not 16 hex "
        "digits",
        "feedback/bad-rating.jsonl": "feedback/bad-rating.jsonl: cicl-feedback: line 1: rating 9 "
        "is neither a thumb (up or down) nor a whole number from 1 to 5",
        "feedback/langfuse-bad-type.json": "feedback/langfuse-bad-type.json: langfuse-scores: "
        "line 1, item 1: dataType 'TEXT' is not one of NUMERIC, CATEGORICAL, BOOLEAN",
    }

    logs = _rows(
        any_warehouse,
        "SELECT source_file, time, severity_number, body, body_json, event_name, trace_id, "
        "span_id, service_name, session_id FROM otel_logs ORDER BY source_file, time",
    )
    at = datetime(2026, 11, 5, 9, 59, tzinfo=UTC)
    assert [(r["source_file"], r["event_name"], r["severity_number"]) for r in logs] == [
        ("otel/evaluations.jsonl.gz", None, 13),
        ("otel/evaluations.jsonl.gz", "gen_ai.evaluation.result", 9),
        ("otel/evaluations.jsonl.gz", "gen_ai.evaluation.result", 9),
        ("otel/events.json", "browser.page_view", 9),
        ("otel/session.pb", "session.end", 17),
    ]
    session = logs[-1]
    assert (session["time"], session["trace_id"], session["span_id"]) == (at, TRACE, ROOT)
    assert (session["body"], orjson.loads(session["body_json"])) == (
        None,
        {"reason": "client closed"},
    )
    assert (session["service_name"], session["session_id"]) == ("flow-gateway", "sess-42")
    assert logs[0]["body"] == "step draft-reply retried after 429"

    evaluations = _rows(
        any_warehouse,
        "SELECT carrier, evaluated_at, trace_id, span_id, response_id, evaluation_name, "
        "score_value, score_label, explanation, evaluator, gen_ai_provider, gen_ai_model, "
        "workflow_name FROM eval_scores ORDER BY evaluated_at",
    )
    assert masked(evaluations) == [
        {
            "carrier": "span_event",
            "evaluated_at": datetime(2026, 11, 5, 9, 59, 5, tzinfo=UTC),
            "trace_id": TRACE,
            "span_id": ROOT,
            "response_id": None,
            "evaluation_name": "tone",
            "score_value": 0.9,
            "score_label": "pass",
            "explanation": None,
            "evaluator": "workflow-runtime",
            "gen_ai_provider": None,
            "gen_ai_model": None,
            "workflow_name": "support-reply",
        },
        {
            "carrier": "log_record",
            "evaluated_at": datetime(2026, 11, 5, 10, 0, tzinfo=UTC),
            "trace_id": TRACE,
            "span_id": CHILD,
            "response_id": None,
            "evaluation_name": "relevance",
            "score_value": 0.25,
            "score_label": "not_relevant",
            "explanation": "answer ignores the question; Authorization: Bearer [REDACTED] "
            "was echoed",
            "evaluator": "flow-evaluator",
            "gen_ai_provider": "anthropic",
            "gen_ai_model": "claude-sonnet-4",
            "workflow_name": "support-reply",
        },
        {
            "carrier": "log_record",
            "evaluated_at": datetime(2026, 11, 5, 10, 1, tzinfo=UTC),
            "trace_id": TRACE,
            "span_id": CHILD,
            "response_id": "resp_00000000000000a1",
            "evaluation_name": "relevance",
            "score_value": 1.0,
            "score_label": "relevant",
            "explanation": None,
            "evaluator": "flow-evaluator",
            "gen_ai_provider": "anthropic",
            "gen_ai_model": "claude-sonnet-4",
            "workflow_name": "support-reply",
        },
    ]

    ratings = _rows(
        any_warehouse,
        "SELECT source, source_kind, name, rated_at, trace_id, span_id, workflow, user_pseudonym, "
        "rating_raw, rating_scale, value, score, comment FROM user_feedback ORDER BY rated_at, name",
    )
    assert [
        (r["source"], r["name"], r["rating_raw"], r["rating_scale"], r["value"], r["score"])
        for r in ratings
    ] == [
        ("langfuse", "user-feedback", "False", "boolean", 0.0, 0.0),
        ("cicl", "user_rating", "down", "thumbs", 0.0, 0.0),
        ("cicl", "user_rating", "4", "1-5", 4.0, 0.75),
        ("cicl", "user_rating", "up", "thumbs", 1.0, 1.0),
        ("langfuse", "quality", "4", "1-5", 4.0, 0.75),
        ("langfuse", "tone", "neutral", "categorical", 1.0, 0.5),
    ]
    down = ratings[1]
    assert (down["trace_id"], down["span_id"], down["workflow"]) == (TRACE, ROOT, "support-reply")
    assert down["user_pseudonym"] == pseudonymise("ana@customer.example", key)
    assert masked(down["comment"]) == "reply was off-topic; my password=[REDACTED] shows up in it"
    assert ratings[2]["rated_at"] == datetime(2026, 11, 5, 10, 30, tzinfo=UTC)
    assert ratings[3]["user_pseudonym"] is None
    assert ratings[4]["user_pseudonym"] == pseudonymise("reviewer-7", key)
    assert (ratings[0]["workflow"], ratings[0]["source_kind"]) == ("support-reply", "API")
    assert ratings[5]["trace_id"] == "8e1d1c7b-54a3-4a55-b3a4-0f8f2b1c9d77"
    assert "ana@customer.example" not in str(ratings) and "reviewer-7" not in str(ratings)

    counts = {t: any_warehouse.row_count(t) for t in ("otel_logs", "eval_scores", "user_feedback")}
    again = ingest_stream(OTEL_STREAM, landing, any_warehouse, run_id="r2")
    again_feedback = ingest_stream(FEEDBACK_STREAM, landing, any_warehouse, run_id="r2")
    assert (again.files_ingested, again_feedback.files_ingested) == (0, 0)
    assert (
        {t: any_warehouse.row_count(t) for t in counts}
        == counts
        == {
            "otel_logs": 5,
            "eval_scores": 3,
            "user_feedback": 6,
        }
    )


def test_the_feedback_asset_reports_ratings_per_workflow_and_a_chart(tmp_path):
    import dagster as dg

    from cicl_assets.feedback.assets import user_feedback
    from cicl_assets.resources import CiclConfig
    from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse

    folder = tmp_path / "landing" / "feedback"
    folder.mkdir(parents=True)
    shutil.copy(FIXTURES / "feedback" / "native.jsonl", folder / "native.jsonl")
    shutil.copy(FIXTURES / "feedback" / "langfuse-scores-page.json", folder / "langfuse.json")
    result = dg.materialize(
        [user_feedback],
        resources={
            "warehouse": DuckDBWarehouse(path=str(tmp_path / "w.duckdb")),
            "landing": LandingZone(uri=str(tmp_path / "landing")),
            "cicl_config": CiclConfig(),
        },
    )
    meta = result.asset_materializations_for_node("user_feedback")[0].metadata
    assert meta["ratings"].value == 6
    assert {k: v.value for k, v in meta.items() if k.startswith("mean_score/")} == {
        "mean_score/?": 0.625,  # quality 0.75 and tone 0.5 name no workflow
        "mean_score/invoice-triage": 0.75,
        "mean_score/support-reply": pytest.approx(1 / 3),
    }
    chart = meta["ratings_over_time"].value
    assert chart.startswith("Mean normalised rating (0 = worst, 1 = best) per workflow, day by")
    assert "\n\n![ratings over time](data:image/png;base64,iVBORw0KGgo" in chart
