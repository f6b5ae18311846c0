"""Session logs, evaluation results and user feedback for an hour of simulated traffic.

From the hour's spans: one OTLP log record per workflow run (its session log line), a
``gen_ai.evaluation.result`` log record for a share of successful LLM calls (the evaluator
service scores relevance), an ERROR record for the runs whose draft dropped a citation after the
template change, and a cicl-native feedback record for a share of runs. After the
template change (``story.TEMPLATE_CHANGE_AT``) the changed workflow scores and rates lower.
Drawn from a generator of their own, so the spans stay exactly as they were.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from demo import story
from demo.landing_writer import WrittenFile, write_file
from demo.traffic_plan import HourPlan, Running

USERS = 40
S = 1_000_000_000


def _degraded(workflow: str, at_ns: int, running: Running | None) -> bool:
    if running is not None:
        return workflow in running.degraded
    changed = at_ns >= int(story.TEMPLATE_CHANGE_AT.timestamp()) * S
    return changed and workflow == story.TEMPLATE_CHANGE_WORKFLOW


def quality(workflow: str, at_ns: int, running: Running | None = None) -> float:
    if _degraded(workflow, at_ns, running):
        return story.QUALITY_AFTER_TEMPLATE_CHANGE
    return story.QUALITY_BEFORE


def drops_citation(workflow: str, run: ReadableSpan, running: Running | None = None) -> bool:
    """After the template change, a third of the changed workflow's runs log that the draft
    dropped a retrieved document's citation: a failure mode that starts with the deploy. Chosen
    by trace id, not drawn, so the other records stay as they were."""
    return (
        _degraded(workflow, run.end_time or 0, running) and run.get_span_context().trace_id % 3 == 0
    )


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": str(value)}


def _record(time_ns: int, span: ReadableSpan, attributes: dict[str, Any], **fields) -> dict:
    ctx = span.get_span_context()
    return {
        "timeUnixNano": str(time_ns),
        "observedTimeUnixNano": str(time_ns),
        "traceId": f"{ctx.trace_id:032x}",
        "spanId": f"{ctx.span_id:016x}",
        "attributes": [{"key": k, "value": _value(v)} for k, v in attributes.items()],
        **fields,
    }


def _request(service: str, scope: str, records: list[dict]) -> bytes:
    request = {
        "resourceLogs": [
            {
                "resource": {
                    "attributes": [
                        {"key": "service.name", "value": {"stringValue": service}},
                        {
                            "key": "deployment.environment.name",
                            "value": {"stringValue": story.ENVIRONMENT},
                        },
                    ]
                },
                "scopeLogs": [{"scope": {"name": scope}, "logRecords": records}],
            }
        ]
    }
    return orjson.dumps(request) + b"\n"


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / S, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_sessions(root: Path, plan: HourPlan, spans: Sequence[ReadableSpan]) -> list[WrittenFile]:
    rng = random.Random(f"{plan.seed}:sessions:{plan.hour_index}")
    runs: dict[int, ReadableSpan] = {}
    sessions, evaluations, ratings = [], [], []
    for span in spans:
        attributes = span.attributes or {}
        workflow = attributes.get("workflow.name")
        if workflow is None:
            continue
        runs.setdefault(span.get_span_context().trace_id, span)
        ok = span.status.status_code != StatusCode.ERROR
        if attributes.get("gen_ai.operation.name") == "chat" and ok:
            if rng.random() >= story.EVALUATED_SHARE:
                continue
            mean = quality(str(workflow), span.end_time or 0, plan.running)
            score = round(min(1.0, max(0.0, rng.gauss(mean, 0.08))), 3)
            evaluations.append(
                _record(
                    (span.end_time or 0) + 30 * S,
                    span,
                    {
                        "gen_ai.evaluation.name": story.EVALUATION_NAME,
                        "gen_ai.evaluation.score.value": score,
                        "gen_ai.evaluation.score.label": "pass" if score >= 0.6 else "fail",
                    },
                    eventName="gen_ai.evaluation.result",
                    severityNumber=9,
                    severityText="INFO",
                )
            )
    for run in runs.values():
        attributes = run.attributes or {}
        workflow = str(attributes["workflow.name"])
        user = f"user-{rng.randrange(USERS):03d}@customer.example"
        session = f"sess-{rng.getrandbits(48):012x}"
        end = run.end_time or 0
        sessions.append(
            _record(
                end,
                run,
                {"session.id": session, "enduser.id": user, "workflow.name": workflow},
                severityNumber=9,
                severityText="INFO",
                body={"stringValue": f"workflow {workflow} run finished"},
            )
        )
        if drops_citation(workflow, run, plan.running):
            doc = run.get_span_context().trace_id % 10_000
            sessions.append(
                _record(
                    end,
                    run,
                    {"session.id": session, "workflow.name": workflow},
                    severityNumber=17,
                    severityText="ERROR",
                    body={"stringValue": f"{story.TEMPLATE_ERROR} doc-{doc:04d}"},
                )
            )
        if rng.random() >= story.RATED_SHARE:
            continue
        mean = quality(workflow, end, plan.running)
        if rng.random() < 0.5:
            rating: Any = "up" if rng.random() < mean else "down"
        else:
            rating = max(1, min(5, round(1 + 4 * rng.gauss(mean, 0.15))))
        ratings.append(
            {
                "kind": "cicl.feedback/v1",
                "trace_id": f"{run.get_span_context().trace_id:032x}",
                "session_id": session,
                "workflow": workflow,
                "user": user,
                "rating": rating,
                "at": _iso(end + rng.randrange(30, 600) * S),
            }
        )
    folder = plan.start.strftime("%Y/%m/%d/%H")
    written = []
    if sessions:
        data = _request("workflow-runtime", "flow.runtime.session", sessions)
        written.append(write_file(root, f"otel/{folder}-sessions.logs.jsonl", data))
    if evaluations:
        data = _request("flow-evaluator", "flow.evaluator", evaluations)
        written.append(write_file(root, f"otel/{folder}-evaluations.logs.jsonl", data))
    if ratings:
        data = b"".join(orjson.dumps(r) + b"\n" for r in ratings)
        written.append(write_file(root, f"feedback/{folder}-ratings.jsonl", data))
    return written
