"""Production traffic around a deployment, written straight into the warehouse: support-reply
runs whose relevance scores move from ``before`` to ``after``, and anthropic chat calls whose
latency stays where it was (the demo's story after its release)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from cicl_assets.deployments.tables import DEPLOYMENTS
from cicl_assets.telemetry.logs_table import EVAL_SCORES
from cicl_assets.telemetry.spans_table import OTEL_SPANS
from cicl_assets.warehouse.base import Warehouse

EVERY = timedelta(minutes=15)


def write_traffic(
    warehouse: Warehouse,
    at: datetime,
    relevance: tuple[float, float],
    latency_ms: tuple[float, float] = (5500.0, 5500.0),
    hours: int = 24,
) -> None:
    rng = random.Random(7)
    spans, scores = [], []
    t, n = at - timedelta(hours=hours), 0
    while t < at + timedelta(hours=hours):
        trace = f"{n:032x}"
        latency = rng.gauss(latency_ms[0] if t < at else latency_ms[1], 300)
        common = {
            "trace_id": trace,
            "service_name": "workflow-runtime",
            "status_code": "OK",
            "deployment_environment": "production",
            "workflow_name": "support-reply",
        }
        spans.append(
            {
                **common,
                "span_id": f"{2 * n:016x}",
                "span_name": "workflow support-reply",
                "start_time": t,
                "end_time": t + timedelta(seconds=9),
                "duration_ms": 9000.0,
            }
        )
        spans.append(
            {
                **common,
                "span_id": f"{2 * n + 1:016x}",
                "parent_span_id": f"{2 * n:016x}",
                "span_name": "chat claude-sonnet-4",
                "gen_ai_provider": "anthropic",
                "gen_ai_model": "claude-sonnet-4",
                "start_time": t,
                "end_time": t + timedelta(milliseconds=latency),
                "duration_ms": latency,
            }
        )
        mean = relevance[0] if t < at else relevance[1]
        scores.append(
            {
                "evaluation_id": f"e{n}",
                "evaluated_at": t + timedelta(seconds=10),
                "trace_id": trace,
                "evaluation_name": "relevance",
                "score_value": min(1.0, max(0.0, rng.gauss(mean, 0.05))),
                "workflow_name": "support-reply",
            }
        )
        t, n = t + EVERY, n + 1
    warehouse.append(OTEL_SPANS, OTEL_SPANS.from_records(spans))
    warehouse.append(EVAL_SCORES, EVAL_SCORES.from_records(scores))


def write_deployment(
    warehouse: Warehouse,
    deployment_id: str,
    at: datetime,
    commit: str | None,
    manifest: str | None = None,
) -> None:
    warehouse.append(
        DEPLOYMENTS,
        DEPLOYMENTS.from_records(
            [
                {
                    "deployment_id": deployment_id,
                    "environment": "production",
                    "service": "platform-config",
                    "commit_sha": commit,
                    "status": "succeeded",
                    "started_at": at,
                    "finished_at": at,
                    "release_manifest": manifest,
                }
            ]
        ),
    )
