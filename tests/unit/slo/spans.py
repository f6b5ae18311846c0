"""Synthetic otel_spans rows shaped like the demo story, written straight to a warehouse.

The real telemetry asset fills otel_spans from OTLP files; these tests only need rows with the
columns the SLO code reads, so they build them with the real table spec (other columns null).
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

from cicl_assets.telemetry.spans_table import OTEL_SPANS
from cicl_assets.warehouse.base import Warehouse
from demo import story

WORKFLOW_PROVIDER = {
    "invoice-triage": "gcp.gemini",
    "support-reply": "anthropic",
    "code-review": "openai",
    "contract-summary": "gcp.gemini",
}


def span(
    start: datetime,
    *,
    service: str = "workflow-runtime",
    name: str = "workflow.run",
    kind: str = "INTERNAL",
    workflow: str | None = None,
    error: bool = False,
    duration_ms: float = 100.0,
    provider: str | None = None,
    error_type: str | None = None,
    version: str = "1.7.3",
    trace_id: str = "0" * 32,
    span_id: str = "0" * 16,
    parent_span_id: str | None = None,
) -> dict:
    return {
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": parent_span_id,
        "service_name": service,
        "service_version": version,
        "deployment_environment": story.ENVIRONMENT,
        "span_name": name,
        "span_kind": kind,
        "start_time": start,
        "end_time": start + timedelta(milliseconds=duration_ms),
        "duration_ms": float(duration_ms),
        "status_code": "ERROR" if error else "OK",
        "gen_ai_provider": provider,
        "gen_ai_model": story.PROVIDERS[provider]["model"] if provider else None,
        "workflow_name": workflow,
        "error_type": error_type,
        "span_attributes": json.dumps({"workflow.name": workflow} if workflow else {}),
        "source_file": "otel/synthetic.json",
    }


def story_spans(start: datetime, end: datetime, runs_per_minute: int = 2, seed: int = 7) -> list:
    """Each minute, ``runs_per_minute`` runs of every workflow: a gateway SERVER span, a
    workflow.run span and one chat CLIENT call. Outside the breach hour about 0.3% of runs fail;
    inside it BREACH_ERROR_RATE of BREACH_WORKFLOW's runs fail on BREACH_PROVIDER rate limits."""
    rng = random.Random(seed)
    rows = []
    n = 0
    minute = start
    while minute < end:
        breach = story.BREACH_START <= minute < story.BREACH_END
        for workflow in story.WORKFLOWS:
            for k in range(runs_per_minute):
                n += 1
                at = minute + timedelta(seconds=(k * 60) // runs_per_minute + 1)
                provider = WORKFLOW_PROVIDER[workflow]
                if breach and workflow == story.BREACH_WORKFLOW:
                    fails = rng.random() < story.BREACH_ERROR_RATE
                    provider = story.BREACH_PROVIDER
                else:
                    fails = rng.random() < 0.003
                err = "RateLimitError" if fails else None
                trace = f"{n:032x}"
                ids = [f"{n:013x}{k:03x}" for k in (1, 2, 3)]  # gateway > workflow.run > chat
                model = story.PROVIDERS[provider]["model"]
                rows.append(
                    span(
                        at,
                        service="flow-gateway",
                        name="POST /v1/workflows/{name}/runs",
                        kind="SERVER",
                        workflow=workflow,
                        error=fails,
                        error_type="502" if fails else None,
                        trace_id=trace,
                        span_id=ids[0],
                    )
                )
                rows.append(
                    span(
                        at,
                        workflow=workflow,
                        error=fails,
                        error_type=err,
                        trace_id=trace,
                        span_id=ids[1],
                        parent_span_id=ids[0],
                    )
                )
                rows.append(
                    span(
                        at,
                        name=f"chat {model}",
                        kind="CLIENT",
                        workflow=workflow,
                        provider=provider,
                        error=fails,
                        error_type=err,
                        duration_ms=rng.lognormvariate(7.0, 0.3),
                        trace_id=trace,
                        span_id=ids[2],
                        parent_span_id=ids[1],
                    )
                )
        minute += timedelta(minutes=1)
    return rows


def write_spans(warehouse: Warehouse, rows: list[dict]) -> int:
    return warehouse.append(OTEL_SPANS, OTEL_SPANS.from_records(rows))
