"""Seeded scenarios for the regression detectors: LLM calls of a few providers through one
service, written with the real OpenTelemetry SDK and read into otel_spans by the real OTLP
parser, with deploys of that service at random hours and, in a regression scenario, one
provider's latency multiplied by a random factor after one of them.

``python -m tests.unit.learning.regressions.scenario --runs 50`` prints the efficacy figures:
recall, false findings per 100 series-days, hours of post-deploy data each detection needed.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opentelemetry.trace import SpanKind, Status, StatusCode

from cicl_assets.learning.regressions.run import evaluate_day, hours_to_detect
from cicl_assets.learning.regressions.thresholds import Thresholds
from cicl_assets.telemetry.otlp_proto import parse_protobuf
from cicl_assets.telemetry.spans_table import OTEL_SPANS
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from demo.otel_sdk import CollectingSpanExporter, SeededIdGenerator, encode_request, service_tracer

START = datetime(2026, 3, 1, tzinfo=UTC)
DAYS = 3
SERVICE = "llm-router"
MODELS = {"openai": ("gpt-4.1", 1800.0), "anthropic": ("claude-sonnet-4", 2200.0)}
MODELS["gcp.gemini"] = ("gemini-2.5-pro", 1500.0)
SIGMA = 0.35  # log-normal spread of a call's latency, as in the demo
ERROR_RATE = 0.01
MS = 1_000_000


@dataclass
class Scenario:
    seed: int
    calls_per_hour: int
    factor: float | None  # None: regression-free
    deploy_hours: list[int] = field(default_factory=list)
    regressed_provider: str | None = None
    regressed_deploy_hour: int | None = None


def plan(seed: int, calls_per_hour: int, regression: bool) -> Scenario:
    rng = random.Random(seed)
    hours = sorted(rng.sample(range(30, 24 * DAYS - 6), 2))
    scenario = Scenario(seed, calls_per_hour, None, hours)
    if regression:
        scenario.factor = round(rng.uniform(1.2, 3.0), 2)
        scenario.regressed_provider = rng.choice(sorted(MODELS))
        scenario.regressed_deploy_hour = rng.choice(hours)
    return scenario


def version_at(s: Scenario, hour: int) -> str:
    return f"3.{sum(h <= hour for h in s.deploy_hours)}.0"


def write(s: Scenario, warehouse: Warehouse) -> int:
    """Emit the scenario's spans with the SDK, one tracer per service version, and load them."""
    rng = random.Random(f"{s.seed}:calls")
    exporter = CollectingSpanExporter()
    ids = SeededIdGenerator(f"{s.seed}:ids")
    tracers = {}
    for hour in range(24 * DAYS):
        version = version_at(s, hour)
        if version not in tracers:
            tracers[version] = service_tracer(SERVICE, version, "scenario", ids, exporter)
        hour_ns = int((START + timedelta(hours=hour)).timestamp()) * 1_000_000_000
        for provider, (model, median) in sorted(MODELS.items()):
            slow = (
                s.factor
                if provider == s.regressed_provider and hour >= (s.regressed_deploy_hour or 0)
                else 1.0
            )
            for _ in range(s.calls_per_hour):
                start = hour_ns + rng.randrange(3_600_000) * MS
                latency = median * slow * math.exp(rng.gauss(0.0, SIGMA))
                span = tracers[version].start_span(
                    f"chat {model}",
                    kind=SpanKind.CLIENT,
                    start_time=start,
                    attributes={
                        "gen_ai.operation.name": "chat",
                        "gen_ai.provider.name": provider,
                        "gen_ai.request.model": model,
                        "gen_ai.usage.input_tokens": max(16, int(rng.gauss(1200, 200))),
                        "gen_ai.usage.output_tokens": max(1, int(rng.gauss(300, 60))),
                    },
                )
                if rng.random() < ERROR_RATE:
                    span.set_status(Status(StatusCode.ERROR, "500 Internal Server Error"))
                span.end(end_time=start + int(latency * MS))
    data = encode_request(exporter.take()).SerializeToString()
    rows = 0
    for table, batch in parse_protobuf(data, "otel/scenario.pb"):
        if table == OTEL_SPANS.name:
            rows += warehouse.append(OTEL_SPANS, batch)
    return rows


@dataclass
class Outcome:
    found: bool
    hours_to_detect: float | None
    false_findings: int
    series_days: int


def run(s: Scenario, warehouse: Warehouse, t: Thresholds | None = None) -> Outcome:
    """Every day partition after the first, evaluated; the planted regression found or not."""
    t = t or Thresholds()
    write(s, warehouse)
    found, hours, false, series_days = False, None, 0, 0
    for day in range(1, DAYS):
        evaluation = evaluate_day(warehouse, START + timedelta(days=day), t)
        series_days += evaluation.series_count
        for r in evaluation.findings:
            planted = (
                s.factor is not None
                and dict(r.series.dims).get("gen_ai_provider") == s.regressed_provider
                and r.series.metric in ("latency_ms", "latency_per_output_token_ms")
                and r.deploy is not None
                and r.deploy.at - START - timedelta(hours=s.regressed_deploy_hour or 0)
                < timedelta(hours=1)
            )
            if planted:
                found = True
                h = hours_to_detect(r)
                if r.series.metric == "latency_ms" and h is not None:
                    hours = h if hours is None else min(hours, h)
            else:
                false += 1
    return Outcome(found, hours, false, series_days)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0, help="to split runs over processes")
    parser.add_argument("--calls-per-hour", type=int, default=30)
    parser.add_argument("--workdir", default=tempfile.gettempdir())
    args = parser.parse_args()
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.runs):
        for regression in (True, False):
            s = plan(seed, args.calls_per_hour, regression)
            path = Path(args.workdir) / f"scenario-{seed}-{regression}.duckdb"
            # A file left by an earlier run would add its spans to this one's.
            path.unlink(missing_ok=True)
            outcome = run(s, DuckDBWarehouse(path=str(path)))
            path.unlink(missing_ok=True)
            rows.append((s, outcome))
            sys.stderr.write(f"{seed} {s.factor} {outcome}\n")
    sys.stdout.write("\n".join(figures(rows)) + "\n")


def figures(rows: list[tuple[Scenario, Outcome]]) -> list[str]:
    regressions = [(s, o) for s, o in rows if s.factor is not None]
    big = [o for s, o in regressions if (s.factor or 0) >= 1.3]
    free = [o for s, o in rows if s.factor is None]
    false_free = sum(o.false_findings for o in free)
    days_free = max(1, sum(o.series_days for o in free))
    false_reg = sum(o.false_findings for _, o in regressions)
    days_reg = max(1, sum(o.series_days for _, o in regressions))
    lines = [
        f"recall {sum(o.found for _, o in regressions)}/{len(regressions)}; "
        f">=1.3x: {sum(o.found for o in big)}/{len(big)}",
        f"false findings per 100 series-days, regression-free: {100 * false_free / days_free:.3f}"
        f" ({false_free} in {days_free})",
        f"false findings per 100 series-days, regression runs: {100 * false_reg / days_reg:.3f}",
    ]
    hours = sorted(o.hours_to_detect for _, o in regressions if o.hours_to_detect is not None)
    if hours:
        lines.append(
            f"hours of post-deploy data per detection: median {hours[len(hours) // 2]:g}, "
            f"max {hours[-1]:g}; within 1 h: {sum(h <= 1 for h in hours)}/{len(hours)}"
        )
    for s, o in sorted(regressions, key=lambda r: r[0].factor or 0):
        lines.append(
            f"  factor {s.factor:.2f} {s.regressed_provider:11s} found={o.found} "
            f"hours of post-deploy data={o.hours_to_detect}"
        )
    return lines


if __name__ == "__main__":
    main()
