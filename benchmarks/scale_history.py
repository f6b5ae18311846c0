"""A seeded history of hourly OTLP/JSON files for the scale benchmark (benchmarks/scale.py).

One file per hour, ``otel/YYYY/MM/DD/HH-scale.jsonl``, at the demo's density: each workflow run
is a gateway SERVER span, a ``workflow.run`` span and one chat CLIENT call, so every span-based
SLO of config/slos and the regression detectors have traffic to read. About 0.3% of runs fail.
An hour's content depends only on the seed and the hour, so a history of 16 days holds the
same last two days as one of 2 days, and the incremental hour is the same file for every history.
"""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

# The history ends here; the incremental run adds the hour that starts here.
END = datetime(2026, 11, 6, tzinfo=UTC)
HOUR = timedelta(hours=1)
# 3 spans a run: about 730 spans an hour, the demo's density (35k spans over 48 hourly files).
RUNS_PER_HOUR = 243
FAILURE_RATE = 0.003
EXPORT_BATCH = 512
# Median chat latency (ms): the 95th percentile (x1.8 at the spread drawn) stays under each
# provider's latency objective in config/slos, so the SLOs hold and no breach is reviewed.
WORKFLOWS = {
    "invoice-triage": ("gcp.gemini", "gemini-2.5-pro", 1400.0),
    "support-reply": ("anthropic", "claude-sonnet-4", 2000.0),
    "code-review": ("openai", "gpt-4.1", 1600.0),
    "contract-summary": ("gcp.gemini", "gemini-2.5-pro", 1500.0),
}
SERVICES = {"flow-gateway": "2.4.1", "workflow-runtime": "1.8.0"}
KIND_INTERNAL, KIND_SERVER, KIND_CLIENT = 1, 2, 3
STATUS_OK, STATUS_ERROR = 1, 2


def _attrs(values: dict[str, str | int]) -> list[dict]:
    out = []
    for key, value in values.items():
        kind = "intValue" if isinstance(value, int) else "stringValue"
        out.append({"key": key, "value": {kind: str(value) if kind == "intValue" else value}})
    return out


def _span(trace, span_id, parent, name, kind, start, duration_ms, failed, attrs) -> dict:
    begin = int(start.timestamp() * 1e9)
    span = {
        "traceId": trace,
        "spanId": span_id,
        "name": name,
        "kind": kind,
        "startTimeUnixNano": str(begin),
        "endTimeUnixNano": str(begin + int(duration_ms * 1e6)),
        "attributes": _attrs(attrs),
        "status": {"code": STATUS_ERROR if failed else STATUS_OK},
    }
    if parent:
        span["parentSpanId"] = parent
    return span


def hour_spans(hour: datetime, seed: int, runs: int) -> dict[str, list[dict]]:
    """The spans of one hour, by service."""
    rng = random.Random(f"{seed}:{hour.isoformat()}")
    by_service: dict[str, list[dict]] = {name: [] for name in SERVICES}
    for _ in range(runs):
        workflow = rng.choice(sorted(WORKFLOWS))
        provider, model, median_ms = WORKFLOWS[workflow]
        start = hour + timedelta(microseconds=rng.randrange(3_500_000_000))
        failed = rng.random() < FAILURE_RATE
        error = {"error.type": "RateLimitError"} if failed else {}
        trace = f"{rng.getrandbits(128):032x}"
        gateway, run, call = (f"{rng.getrandbits(64):016x}" for _ in range(3))
        chat_ms = rng.lognormvariate(0, 0.35) * median_ms
        by_service["flow-gateway"].append(
            _span(
                trace, gateway, None, f"POST /v1/workflows/{workflow}/runs", KIND_SERVER, start,
                chat_ms + 40, failed,
                {"workflow.name": workflow, "http.response.status_code": 502 if failed else 200},
            )
        )  # fmt: skip
        by_service["workflow-runtime"] += [
            _span(
                trace, run, gateway, "workflow.run", KIND_INTERNAL, start, chat_ms + 30, failed,
                {"workflow.name": workflow, **error},
            ),
            _span(
                trace, call, run, f"chat {model}", KIND_CLIENT, start + timedelta(milliseconds=10),
                chat_ms, failed,
                {
                    "workflow.name": workflow,
                    "gen_ai.provider.name": provider,
                    "gen_ai.request.model": model,
                    "gen_ai.usage.input_tokens": rng.randrange(500, 4000),
                    "gen_ai.usage.output_tokens": rng.randrange(50, 600),
                    **error,
                },
            ),
        ]  # fmt: skip
    return by_service


def hour_file_bytes(hour: datetime, seed: int, runs: int) -> bytes:
    """OTLP/JSON lines as the Collector's file exporter writes them: one export request a line,
    at most ``EXPORT_BATCH`` spans of one service each."""
    lines = []
    for service, spans in hour_spans(hour, seed, runs).items():
        resource = {"attributes": _attrs({"service.name": service, "service.version": SERVICES[service], "deployment.environment.name": "prod"})}  # fmt: skip
        for i in range(0, len(spans), EXPORT_BATCH):
            request = {
                "resourceSpans": [
                    {
                        "resource": resource,
                        "scopeSpans": [
                            {"scope": {"name": "scale"}, "spans": spans[i : i + EXPORT_BATCH]}
                        ],
                    }
                ]
            }
            lines.append(orjson.dumps(request))
    return b"\n".join(lines) + b"\n"


def hour_path(root: Path, hour: datetime) -> Path:
    return root / hour.strftime("otel/%Y/%m/%d/%H-scale.jsonl")


def write_hour(root: Path, hour: datetime, seed: int, runs: int = RUNS_PER_HOUR) -> Path:
    path = hour_path(root, hour)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(hour_file_bytes(hour, seed, runs))
    # Written when its hour ended, as an exporter would: a listing trusts it at once.
    done = (hour + HOUR).timestamp()
    os.utime(path, (done, done))
    return path


def write_history(root: Path, days: int, seed: int, runs: int = RUNS_PER_HOUR) -> list[Path]:
    """``days`` of hourly files ending at END."""
    first = END - timedelta(days=days)
    return [write_hour(root, first + i * HOUR, seed, runs) for i in range(days * 24)]
