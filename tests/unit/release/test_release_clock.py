"""release_time: a release is dated on the wall clock, or with CICL_RELEASE_CLOCK=data at the
newest span that is not in the future (the demo's weeks-old traffic)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cicl_assets.release.assets import release_time
from cicl_assets.telemetry.spans_table import OTEL_SPANS
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse

NOW = datetime(2026, 12, 1, 13, 51, 14, 250_000, tzinfo=UTC)
OLD = datetime(2026, 11, 5, 23, 59, 57, 120_000, tzinfo=UTC)
OLDER = datetime(2026, 11, 4, 9, 0, tzinfo=UTC)
AHEAD = NOW + timedelta(hours=3)  # a producer whose clock runs ahead


def span(n: int, at: datetime) -> dict:
    return {"trace_id": f"{n:032x}", "span_id": f"{n:016x}", "service_name": "s",
            "span_name": "op", "start_time": at, "end_time": at}  # fmt: skip


@pytest.mark.parametrize(
    ("clock", "spans", "expected"),
    [
        (None, [OLDER, OLD], NOW),
        ("wall", [OLDER, OLD], NOW),
        ("data", None, NOW),  # no otel_spans table yet
        ("data", [], NOW),
        ("data", [OLDER, OLD], OLD),
        ("data", [OLD, AHEAD], OLD),
        ("data", [AHEAD], NOW),
    ],
)
def test_a_release_is_dated_by_its_clock(tmp_path, clock, spans, expected):
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    if spans is not None:
        warehouse.ensure_table(OTEL_SPANS)
        if spans:
            rows = [span(n, at) for n, at in enumerate(spans)]
            warehouse.append(OTEL_SPANS, OTEL_SPANS.from_records(rows))
    assert release_time(warehouse, clock, NOW) == expected
