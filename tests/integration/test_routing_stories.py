"""Routing proposals on stories: the demo's days (real OTel SDK spans from the demo's own
emitter) move weights away from the provider the 1.8.0 deploy slowed and from the one rate
limited for an hour, and nowhere else; a quiet week of a seeded generator moves nothing."""

import json
import math
import random
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from cicl_assets.learning.routing.assets import provider_scorecards, routing_proposals
from cicl_assets.partitions import range_tags
from cicl_assets.resources import CiclConfig
from cicl_assets.telemetry.spans_table import OTEL_SPANS
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from demo import story
from demo.otel_traffic import emit_hour
from demo.traffic_plan import plan_traffic

SPANS = 30_000
ANTHROPIC, OPENAI, GEMINI = (
    "anthropic/claude-sonnet-4", "openai/gpt-4.1", "gemini/gemini-2.5-pro",
)  # fmt: skip


def span_row(s: ReadableSpan) -> dict:
    """The otel_spans columns the scorecards read, as the telemetry ingest fills them."""
    attrs = dict(s.attributes or {})
    ctx = s.get_span_context()
    return {
        "trace_id": f"{ctx.trace_id:032x}",
        "span_id": f"{ctx.span_id:016x}",
        "start_time": datetime.fromtimestamp(s.start_time / 1e9, UTC),
        "duration_ms": (s.end_time - s.start_time) / 1e6,
        "status_code": "ERROR" if s.status.status_code == StatusCode.ERROR else "OK",
        "gen_ai_provider": attrs.get("gen_ai.provider.name"),
        "gen_ai_model": attrs.get("gen_ai.request.model"),
        "input_tokens": attrs.get("gen_ai.usage.input_tokens"),
        "output_tokens": attrs.get("gen_ai.usage.output_tokens"),
        "span_attributes": json.dumps({k: v for k, v in attrs.items() if isinstance(v, str)}),
        "events": json.dumps([{"name": e.name, "time_unix_nano": e.timestamp} for e in s.events]),
        "service_name": s.resource.attributes.get("service.name"),
        "source_file": "otel/demo",
    }


def materialize_days(warehouse, first: datetime, last: datetime) -> None:
    assert dg.materialize(
        [provider_scorecards, routing_proposals],
        resources={"warehouse": warehouse, "cicl_config": CiclConfig(config_dir="config")},
        tags=range_tags(first.date(), last.date()),
    ).success


def proposals(warehouse) -> dict[tuple[str, str], dict[str, float]]:
    rows = warehouse.query(
        "SELECT as_of, model_group, proposed_weights FROM routing_proposals "
        "WHERE as_of >= @s AND as_of < @e",
        {"s": datetime(2026, 1, 1, tzinfo=UTC), "e": datetime(2027, 1, 1, tzinfo=UTC)},
    ).to_pylist()
    return {
        (r["as_of"].date().isoformat(), r["model_group"]): {
            e["litellm_params"]["model"]: e["litellm_params"]["weight"]
            for e in json.loads(r["proposed_weights"])
        }
        for r in rows
    }


@pytest.fixture(scope="module")
def demo_days(tmp_path_factory) -> DuckDBWarehouse:
    warehouse = DuckDBWarehouse(path=str(tmp_path_factory.mktemp("routing") / "w.duckdb"))
    for plan in plan_traffic(story.SEED, SPANS):
        rows = [span_row(s) for s in emit_hour(plan)]
        warehouse.append(OTEL_SPANS, OTEL_SPANS.from_records(rows))
    materialize_days(warehouse, story.TRAFFIC_START, story.TRAFFIC_END - timedelta(days=1))
    return warehouse


def test_the_demo_moves_weights_away_from_the_slowed_and_the_rate_limited(demo_days):
    found = proposals(demo_days)
    # 11-02 has no baseline, 11-03 is like it. From 11-04 09:00 (the 1.8.0 deploy) anthropic is
    # 2.5x slower: it loses share in the groups it is in. On 11-05 gemini is rate limited for
    # an hour: it loses share too; openai, neither slowed nor limited, takes it.
    assert sorted(found) == [
        ("2026-11-04", "drafting"), ("2026-11-04", "general"),
        ("2026-11-05", "classification"), ("2026-11-05", "drafting"), ("2026-11-05", "general"),
    ]  # fmt: skip
    assert found[("2026-11-04", "drafting")] == {ANTHROPIC: 5.0, OPENAI: 5.0}
    assert found[("2026-11-04", "general")][ANTHROPIC] < 3.0
    assert found[("2026-11-04", "general")][GEMINI] >= 3.0
    assert found[("2026-11-05", "classification")][GEMINI] < 6.0
    general = found[("2026-11-05", "general")]
    assert general[ANTHROPIC] < 3.0 and general[GEMINI] < 3.0 and general[OPENAI] > 4.0


def quiet_week() -> list[dict]:
    """Eight days of calls to every provider at its demo latency and error rate, seeded."""
    rng = random.Random(11)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    rows = []
    for hour in range(8 * 24):
        at = start + timedelta(hours=hour)
        for provider, profile in story.PROVIDERS.items():
            for _ in range(12):
                error = rng.random() < profile["error_rate"]
                span = f"{rng.getrandbits(64):016x}"
                out = max(1, int(300 * math.exp(rng.gauss(0, 0.5))))
                rows.append({
                    "trace_id": span * 2, "span_id": span,
                    "start_time": at + timedelta(seconds=rng.randrange(3600)),
                    "duration_ms": 180.0 if error
                    else profile["latency_ms"] * math.exp(rng.gauss(0, 0.35)),
                    "status_code": "ERROR" if error else "OK", "gen_ai_provider": provider,
                    "gen_ai_model": profile["model"], "input_tokens": None if error else 2000,
                    "output_tokens": None if error else out,
                    "span_attributes": '{"gen_ai.operation.name": "chat"}', "events": "[]",
                    "source_file": "otel/quiet",
                })  # fmt: skip
    return rows


def test_a_quiet_week_moves_nothing(tmp_path):
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    warehouse.append(OTEL_SPANS, OTEL_SPANS.from_records(quiet_week()))
    materialize_days(
        warehouse, datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 8, tzinfo=UTC)
    )
    assert proposals(warehouse) == {}
    days = warehouse.query(
        "SELECT COUNT(*) AS n FROM provider_scorecards WHERE day >= @s AND day < @e",
        {"s": datetime(2026, 10, 1, tzinfo=UTC), "e": datetime(2026, 10, 9, tzinfo=UTC)},
    ).to_pylist()
    assert days == [{"n": 8 * 3}]
