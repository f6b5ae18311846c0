"""The demo's session logs, evaluations and ratings tell the template-change story."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson

from cicl_assets.feedback.parse import parse_native
from cicl_assets.telemetry.otlp_logs import parse_logs_json
from demo import story


def _rows(landing: Path, pattern: str, parse, table: str) -> list[dict]:
    rows = []
    for path in sorted(landing.glob(pattern)):
        for name, batch in parse(path.read_bytes(), str(path)):
            if name == table:
                rows += batch
    return rows


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def test_support_reply_scores_and_ratings_fall_after_the_template_change(demo_landing: Path):
    evaluations = _rows(demo_landing, "otel/**/*-evaluations.logs.jsonl", parse_logs_json,
                        "eval_scores")  # fmt: skip
    sessions = _rows(demo_landing, "otel/**/*-sessions.logs.jsonl", parse_logs_json, "otel_logs")
    ratings = _rows(demo_landing, "feedback/**/*.jsonl", _native, "user_feedback")
    assert len(sessions) > 0 and len(evaluations) > 0 and len(ratings) > 0
    assert {e["evaluation_name"] for e in evaluations} == {story.EVALUATION_NAME}
    assert {e["evaluator"] for e in evaluations} == {"flow-evaluator"}

    change = story.TEMPLATE_CHANGE_AT
    by_workflow = _workflow_of_traces(sessions)
    for rows, time_key, score_key in (
        (evaluations, "evaluated_at", "score_value"),
        (ratings, "rated_at", "score"),
    ):

        def mean(workflow: str, after: bool, rows=rows, time_key=time_key, score_key=score_key):
            return _mean(
                [
                    r[score_key]
                    for r in rows
                    if (r.get("workflow") or by_workflow[r["trace_id"]]) == workflow
                    and (r[time_key] >= change) == after
                ]
            )

        changed = story.TEMPLATE_CHANGE_WORKFLOW
        assert mean(changed, after=False) - mean(changed, after=True) > 0.2
        assert abs(mean("invoice-triage", False) - mean("invoice-triage", True)) < 0.1


def _native(data: bytes, source_file: str):
    yield from parse_native(data, source_file)


def _workflow_of_traces(sessions: list[dict]) -> dict[str, str]:
    return {s["trace_id"]: orjson.loads(s["attributes"])["workflow.name"] for s in sessions}


def test_the_deploy_names_the_template_change(demo_landing: Path):
    record = orjson.loads(
        (
            demo_landing / "deployments" / "production" / f"{story.SLOW_DEPLOY_DEPLOYMENT_ID}.json"
        ).read_bytes()
    )
    assert record["changes"] == [story.TEMPLATE_CHANGE]
    started = datetime.fromisoformat(record["started_at"].replace("Z", "+00:00"))
    assert started == story.TEMPLATE_CHANGE_AT.astimezone(UTC)
