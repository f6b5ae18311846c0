"""The regression detectors give the same findings on DuckDB and on BigQuery (the emulator):
statistics are computed in Python over the exact samples each warehouse returns."""

from datetime import UTC, datetime, timedelta

import pytest

from cicl_assets.learning.regressions.run import evaluate_day, finding_row
from cicl_assets.learning.regressions.thresholds import Thresholds
from tests.unit.learning.regressions.scenario import START, plan, write

pytestmark = pytest.mark.bigquery
DETECTED = datetime(2027, 3, 4, tzinfo=UTC)


def _findings(warehouse) -> list[dict]:
    t = Thresholds()
    rows = []
    for day in (1, 2):
        day_start = START + timedelta(days=day)
        for result in evaluate_day(warehouse, day_start, t).findings:
            row = finding_row(result, t, DETECTED, f"{day_start:%Y-%m-%d}")
            row.pop("evidence")  # example traces are picked among equal values in any order
            rows.append(row)
    return sorted(rows, key=lambda r: (r["partition_day"], r["finding_id"]))


def test_duckdb_and_bigquery_find_the_same(duckdb_warehouse, bigquery_warehouse):
    scenario = plan(1, 30, regression=True)
    assert write(scenario, duckdb_warehouse) == write(scenario, bigquery_warehouse) == 6480
    on_duckdb, on_bigquery = _findings(duckdb_warehouse), _findings(bigquery_warehouse)
    assert on_duckdb == on_bigquery
    assert {r["title"].split(":")[0] for r in on_duckdb} == {"gcp.gemini gemini-2.5-pro chat"}
