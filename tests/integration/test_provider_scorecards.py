"""provider_scorecards and routing_proposals over real warehouse tables, on DuckDB and the
BigQuery emulator: one day's rows a person can check by hand, and a slowed deployment's share
moved on the day after its baseline."""

import base64
import json
import re
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import dagster as dg
import pytest

from cicl_assets.feedback.table import USER_FEEDBACK
from cicl_assets.learning.routing.assets import provider_scorecards, routing_proposals
from cicl_assets.partitions import range_tags
from cicl_assets.resources import CiclConfig
from cicl_assets.telemetry.logs_table import EVAL_SCORES
from cicl_assets.telemetry.spans_table import OTEL_SPANS
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse


def t(day: int, hour: int, second: float = 0.0) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC) + timedelta(seconds=second)


def call(trace: str, span: str, start: datetime, provider: str | None, model: str | None,
         ms: float, tokens: tuple[int | None, int | None] = (None, None), error: bool = False,
         operation: str = "chat", attributes: dict | None = None, events: list | None = None) -> dict:  # fmt: skip
    return {
        "trace_id": trace * 32, "span_id": span * 16, "span_name": f"{operation} {model}",
        "service_name": "workflow-runtime", "start_time": start,
        "end_time": start + timedelta(milliseconds=ms), "duration_ms": ms,
        "status_code": "ERROR" if error else "OK", "gen_ai_provider": provider,
        "gen_ai_model": model, "input_tokens": tokens[0], "output_tokens": tokens[1],
        "span_attributes": json.dumps({"gen_ai.operation.name": operation, **(attributes or {})}),
        "events": json.dumps(events or []), "source_file": "otel/t.json",
    }  # fmt: skip


OPENAI, CLAUDE = ("openai", "gpt-4.1"), ("anthropic", "claude-sonnet-4")
SPANS = [
    call("0", "0", t(3, 22), *OPENAI, 900, (100, 10)),  # the day before: rated on the day
    call("1", "1", t(4, 9), *OPENAI, 1000, (1000, 100),
         attributes={"gen_ai.response.time_to_first_chunk": 0.25}),
    call("2", "2", t(4, 10), *OPENAI, 2000, (1000, 100), events=[
        {"name": "llm.content.completion.chunk",
         "time_unix_nano": int(t(4, 10, 0.4).timestamp() * 1e9)}]),
    call("3", "3", t(4, 11), *OPENAI, 3000, (1000, 200)),
    call("3", "4", t(4, 11, 5), *CLAUDE, 4000, (2000, 500)),
    call("5", "5", t(4, 12), *CLAUDE, 6000, (2000, 500)),
    call("6", "6", t(4, 13), *OPENAI, 180, error=True,
         events=[{"name": "exception", "time_unix_nano": 1}]),
    call("7", "7", t(4, 14), *OPENAI, 50, (10, 0), operation="embeddings"),
    call("8", "8", t(4, 15), "acme", "x1", 700, (10, 10)),  # no price for it
    call("9", "9", t(4, 16), None, None, 30, operation="execute_tool"),  # not an LLM call
    call("a", "a", t(5, 0), *OPENAI, 99999, (1, 1)),  # the next day
]  # fmt: skip
EVALS = [
    {"evaluation_id": "e1", "evaluated_at": t(4, 9, 5), "trace_id": "1" * 32,
     "span_id": "1" * 16, "score_value": 0.9, "score_label": "pass"},
    {"evaluation_id": "e2", "evaluated_at": t(4, 10, 5), "trace_id": "2" * 32,
     "span_id": "2" * 16, "score_value": 7.0, "score_label": "fail"},  # off scale: the label
    {"evaluation_id": "e3", "evaluated_at": t(4, 11, 5), "trace_id": "f" * 32,
     "span_id": "f" * 16, "score_value": 0.5},  # evaluates nothing known: unmatched
    {"evaluation_id": "e4", "evaluated_at": t(5, 1), "trace_id": "1" * 32,
     "span_id": "1" * 16, "score_value": 0.1},  # the next day's
]  # fmt: skip
FEEDBACK = [
    {"feedback_id": "f1", "rated_at": t(4, 11, 30), "trace_id": "3" * 32, "score": 1.0},
    {"feedback_id": "f2", "rated_at": t(4, 1), "trace_id": "0" * 32, "score": 0.0},
    {"feedback_id": "f3", "rated_at": t(4, 2), "trace_id": "0" * 32, "score": None},
]  # fmt: skip


def resources(warehouse):
    return {"warehouse": warehouse, "cicl_config": CiclConfig(config_dir="config")}


COLUMNS = (
    "day, gen_ai_provider, gen_ai_model, operation, calls, errors, error_rate, error_rate_low, "
    "error_rate_high, latency_p50_ms, latency_p95_ms, ms_per_output_token_p50, ttft_p50_ms, "
    "ttft_calls, input_tokens, output_tokens, cost_usd, price_missing, eval_count, "
    "eval_score_mean, feedback_count, feedback_score_mean, quality_count, quality"
)


@pytest.mark.parametrize("any_warehouse", ["duckdb", "bigquery"], indirect=True)
def test_a_day_of_scorecards(any_warehouse):
    warehouse = any_warehouse
    warehouse.append(OTEL_SPANS, OTEL_SPANS.from_records(SPANS))
    warehouse.append(EVAL_SCORES, EVAL_SCORES.from_records(EVALS))
    warehouse.append(USER_FEEDBACK, USER_FEEDBACK.from_records(FEEDBACK))
    for _ in range(2):  # re-running the day replaces its rows
        result = dg.materialize(
            [provider_scorecards], resources=resources(warehouse), partition_key="2026-11-04"
        )
        assert result.success
    rows = warehouse.query(
        f"SELECT {COLUMNS} FROM provider_scorecards WHERE day >= @d AND day < @e "
        "ORDER BY gen_ai_provider, operation",
        {"d": t(4, 0), "e": t(5, 0)},
    ).to_pylist()
    day = t(4, 0)
    assert [tuple(r.values()) for r in rows] == [
        # acme x1 has no price: flagged, its cost null, never 0
        (day, "acme", "x1", "chat", 1, 0, 0.0, 0.0, 0.793451, 700.0, 700.0, 70.0, None, 0,
         10, 10, None, True, 0, None, 0, None, 0, None),
        # 3000 x $3 + 1000 x $15 per 1M; feedback f1 rates trace 3, which both models served
        (day, "anthropic", "claude-sonnet-4", "chat", 2, 0, 0.0, 0.0, 0.65762, 5000.0, 5900.0,
         10.0, None, 0, 4000, 1000, 0.027, False, 0, None, 1, 1.0, 1, 1.0),
        # 1 error in 4; p95 of 1000/2000/3000 = 2900; ttft 250 (attribute) and 400 (event);
        # evals 0.9 and fail (0); feedback 1.0 (f1) and 0.0 (f2: yesterday's call in trace 0)
        (day, "openai", "gpt-4.1", "chat", 4, 1, 0.25, 0.045587, 0.699358, 2000.0, 2900.0,
         15.0, 325.0, 2, 3000, 400, 0.0092, False, 2, 0.45, 2, 0.5, 4, 0.475),
        (day, "openai", "gpt-4.1", "embeddings", 1, 0, 0.0, 0.0, 0.793451, 50.0, 50.0, None,
         None, 0, 10, 0, 0.00002, False, 0, None, 0, None, 0, None),
    ]  # fmt: skip
    [materialization] = result.asset_materializations_for_node("provider_scorecards")
    assert materialization.metadata["ratings_unmatched"].value == 1
    assert "acme/x1" in materialization.metadata["unpriced_models"].value


def picture(result: dg.ExecuteInProcessResult, key: str) -> tuple[str, bytes]:
    # A range run reports one materialization per day, each with the run's metadata.
    materialization = result.asset_materializations_for_node("routing_proposals")[-1]
    sentence, image = materialization.metadata[key].value.split("\n\n![", 1)
    return sentence, base64.b64decode(image.split("base64,", 1)[1].rstrip(")"))


def slow_week() -> list[dict]:
    """Four days of 40 calls a day to each drafting deployment; anthropic 2.5x slower on the
    fourth day (11-05)."""
    spans = []
    for day in range(2, 6):
        for i in range(40):
            jitter = (i % 5) * 10
            slow = 2.5 if day == 5 else 1.0
            spans.append(call("1", f"{day:02x}{i:02x}a", t(day, 8, i * 60), *CLAUDE,
                              2000 * slow + jitter, (1000, 100)))  # fmt: skip
            spans.append(call("2", f"{day:02x}{i:02x}b", t(day, 8, i * 60), *OPENAI,
                              1800 + jitter, (1000, 100)))  # fmt: skip
    for s in spans:
        s["span_id"] = (s["span_id"] * 4)[:16]
        s["trace_id"] = s["span_id"] * 2
    return spans


@pytest.mark.parametrize("any_warehouse", ["duckdb", "bigquery"], indirect=True)
def test_a_slowed_deployment_loses_share(any_warehouse):
    warehouse = any_warehouse
    warehouse.append(OTEL_SPANS, OTEL_SPANS.from_records(slow_week()))
    result = dg.materialize(
        [provider_scorecards, routing_proposals],
        resources=resources(warehouse),
        tags=range_tags(t(2, 0).date(), t(5, 0).date()),
    )
    assert result.success
    rows = warehouse.query(
        "SELECT as_of, model_group, severity, title, proposed_weights, "
        "expected_latency_p50_ms_current, expected_latency_p50_ms_proposed, reasons "
        "FROM routing_proposals WHERE as_of >= @d AND as_of < @e ORDER BY model_group",
        {"d": t(1, 0), "e": t(6, 0)},
    ).to_pylist()
    # Days 2-4 are quiet; in general, gemini made no calls: it neither gains nor loses.
    assert [(r["as_of"], r["model_group"], r["severity"], r["title"]) for r in rows] == [
        (t(5, 0), "drafting", "high",
         "drafting: shift traffic from anthropic/claude-sonnet-4 to openai/gpt-4.1"),
        (t(5, 0), "general", "high",
         "general: shift traffic from anthropic/claude-sonnet-4 to openai/gpt-4.1"),
    ]  # fmt: skip
    general = {e["litellm_params"]["model"]: e["litellm_params"]["weight"]
               for e in json.loads(rows[1]["proposed_weights"])}  # fmt: skip
    # anthropic 0.3 / (5020 / 2020) = 0.121, all 0.179 freed to openai (under the 0.2 step)
    assert general == {
        "openai/gpt-4.1": 5.79,
        "anthropic/claude-sonnet-4": 1.21,
        "gemini/gemini-2.5-pro": 3.0,
    }
    weights = {e["litellm_params"]["model"]: e["litellm_params"]["weight"]
               for e in json.loads(rows[0]["proposed_weights"])}  # fmt: skip
    assert weights == {"anthropic/claude-sonnet-4": 5.0, "openai/gpt-4.1": 5.0}
    # p50s: anthropic 5020 today against 2020 before, openai 1820
    assert (rows[0]["expected_latency_p50_ms_current"],
            rows[0]["expected_latency_p50_ms_proposed"]) == (4060.0, 3420.0)  # fmt: skip
    assert rows[0]["reasons"].splitlines()[0] == (
        "anthropic/claude-sonnet-4: p50 latency 5,020 ms is 2.5x its 3-day baseline (2,020 ms); "
        "share 70% -> 50%."
    )
    sentence, png = picture(result, "group/drafting")
    assert sentence.startswith("Model group drafting: each deployment's p50 latency")
    assert png.startswith(b"\x89PNG")
    sentence, png = picture(result, "weights/drafting")
    assert sentence == (
        "Model group drafting: grey bars are each deployment's share of traffic today, blue bars "
        "the share proposed on 2026-11-05 (drafting: shift traffic from "
        "anthropic/claude-sonnet-4 to openai/gpt-4.1)."
    )
    assert png.startswith(b"\x89PNG")


TIME_COLUMNS = {"otel_spans": "start_time", "eval_scores": "evaluated_at",
                "user_feedback": "rated_at", "provider_scorecards": "day",
                "routing_proposals": "as_of"}  # fmt: skip


class RecordingDuckDB(DuckDBWarehouse):
    statements: ClassVar[list[str]] = []

    def query(self, sql: str, params: dict[str, Any] | None = None):
        self.statements.append(" ".join(sql.split()))
        return super().query(sql, params)

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        self.statements.append(" ".join(sql.split()))
        super().execute(sql, params)

    @contextmanager
    def transaction(self, what: str = ""):
        # atomic writes (replace_range) run their statements on the transaction's connection
        with super().transaction(what) as con:
            yield _RecordingConnection(con, self.statements)


class _RecordingConnection:
    def __init__(self, con, statements: list[str]):
        self._con, self._statements = con, statements

    def execute(self, sql: str, *params):
        self._statements.append(" ".join(sql.split()))
        return self._con.execute(sql, *params)

    def __getattr__(self, name: str):
        return getattr(self._con, name)


def test_every_read_and_write_is_bounded_to_its_days(tmp_path):
    warehouse = RecordingDuckDB(path=str(tmp_path / "w.duckdb"))
    warehouse.append(OTEL_SPANS, OTEL_SPANS.from_records(slow_week() + SPANS))
    warehouse.append(EVAL_SCORES, EVAL_SCORES.from_records(EVALS))
    warehouse.append(USER_FEEDBACK, USER_FEEDBACK.from_records(FEEDBACK))
    RecordingDuckDB.statements.clear()
    assert dg.materialize(
        [provider_scorecards, routing_proposals],
        resources=resources(warehouse),
        tags=range_tags(t(3, 0).date(), t(5, 0).date()),
    ).success
    seen, unbounded = set(), []
    for sql in RecordingDuckDB.statements:
        for table, column in TIME_COLUMNS.items():
            if re.search(rf"\b(FROM|INTO)\s+{table}\b", sql) and "read_parquet" not in sql:
                seen.add(table)
                if not re.search(rf"\b{column}\"?\s*(>=|<)\s*[@?]", sql):
                    unbounded.append(sql)
    assert seen == set(TIME_COLUMNS)
    assert unbounded == []
