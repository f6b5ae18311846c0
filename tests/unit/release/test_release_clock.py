"""release_time: a release is dated on the wall clock, or with CICL_RELEASE_CLOCK=data at the
newest span that is not in the future (the demo's weeks-old traffic). The spans arrive as
production's do, in an ingested OTLP file: the data clock finds its day in ``ingested_files``
and reads only that day of the spans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cicl_assets.release.assets import release_time
from cicl_assets.telemetry.spans_table import OTEL_SPANS
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from tests.unit.release.spans_file import land_and_ingest, spans_request

NOW = datetime(2026, 12, 1, 13, 51, 14, 250_000, tzinfo=UTC)
OLD = datetime(2026, 11, 5, 23, 59, 57, 120_000, tzinfo=UTC)
OLDER = datetime(2026, 11, 4, 9, 0, tzinfo=UTC)
AHEAD = NOW + timedelta(hours=3)  # a producer whose clock runs ahead, still today
TOMORROW = NOW + timedelta(days=1)
THIS_MORNING = datetime(2026, 12, 1, 6, 30, 0, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("clock", "spans", "expected"),
    [
        (None, [OLDER, OLD], NOW),
        ("wall", [OLDER, OLD], NOW),
        ("data", None, NOW),  # no otel_spans table yet
        ("data", [], NOW),  # the table, and no file ingested yet
        ("data", [OLDER, OLD], OLD),
        ("data", [OLD, OLDER], OLD),
        ("data", [OLD, AHEAD], OLD),  # today's only span is ahead: the day before it
        ("data", [OLD, TOMORROW], OLD),  # a future day is not read
        ("data", [OLD, THIS_MORNING, AHEAD], THIS_MORNING),
        ("data", [AHEAD], NOW),
        ("data", [TOMORROW], NOW),
    ],
)
def test_a_release_is_dated_by_its_clock(tmp_path, clock, spans, expected):
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    if spans == []:
        warehouse.ensure_table(OTEL_SPANS)
    elif spans is not None:
        request = spans_request("s", "production", "op", spans)
        report = land_and_ingest(warehouse, tmp_path / "landing", "a.pb", request)
        assert (report.files_ingested, report.rows_by_table[OTEL_SPANS.name]) == (1, len(spans))
    assert release_time(warehouse, clock, NOW) == expected
