"""The seen cases of exactly-once through the ingest runner, on every engine (on BigQuery the
MERGE path: staging tables and one transaction per batch)."""

from __future__ import annotations

import gzip

from cicl_assets.ingest.runner import ingest_stream
from cicl_assets.landing import LandingZone
from tests.unit.test_exactly_once import OTEL, X, Y, otlp, span


def test_rewrites_copies_and_other_bytes_on_every_engine(any_warehouse, tmp_path):
    otel = tmp_path / "landing" / "otel"
    otel.mkdir(parents=True)

    def run() -> list[tuple[str, str, int]]:
        ingest_stream(OTEL, LandingZone(uri=str(tmp_path / "landing")), any_warehouse)
        rows = any_warehouse.query(
            "SELECT span_id, span_name, ARRAY_LENGTH(carried_by) AS carriers FROM otel_spans "
            "ORDER BY span_id, span_name"
            if any_warehouse.dialect == "bigquery"
            else "SELECT span_id, span_name, len(carried_by) AS carriers FROM otel_spans "
            "ORDER BY span_id, span_name"
        ).to_pylist()
        return [(r["span_id"][-1], r["span_name"], r["carriers"]) for r in rows]

    (otel / "a.json").write_bytes(X)
    (otel / "b.json").write_bytes(X)
    (otel / "c.json.gz").write_bytes(gzip.compress(otlp(span("0000000000000002", "x-two"))))
    assert run() == [("1", "x-one", 1), ("2", "x-two", 2)]
    (otel / "a.json").write_bytes(Y)
    assert run() == [("1", "x-one", 1), ("2", "y-two", 3), ("3", "y-three", 1)]
    (otel / "b.json").write_bytes(otlp(span("0000000000000009", "nine")))
    assert run() == [("2", "y-two", 2), ("3", "y-three", 1), ("9", "nine", 1)]
    (otel / "a.json").write_bytes(X)
    assert run() == [("1", "x-one", 1), ("2", "x-two", 2), ("9", "nine", 1)]
