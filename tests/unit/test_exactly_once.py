"""Exactly-once follows each path's current content and each row's identity (docs/ingestion.md).

Every case runs the otel stream (rows keyed by trace_id + span_id, contents keyed by digest) or
the deployments stream (rows keyed by event_id, contents keyed by path and digest) over a
landing folder the test rewrites between runs, on a real DuckDB file.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import replace

import pytest

from cicl_assets.deployments.stream import DEPLOYMENTS_STREAM
from cicl_assets.ingest.runner import ingest_stream
from cicl_assets.landing import LandingZone
from cicl_assets.telemetry.formats import OTEL_STREAM
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse

# In-process parsing keeps these tests fast; isolation is tested with the poison files.
OTEL = replace(OTEL_STREAM, isolated=False)
TRACE = "0af7651916cd43dd8448eb211c80319c"
DAY1 = 1_762_300_800_000_000_000  # 2025-11-05T00:00:00Z
DAY2 = DAY1 + 86_400 * 10**9


def span(span_id: str, name: str, start: int = DAY1, trace: str = TRACE) -> dict:
    return {
        "traceId": trace,
        "spanId": span_id,
        "name": name,
        "kind": 2,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 5_000_000),
    }


def otlp(*spans: dict, indent: int | None = None) -> bytes:
    doc = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]
                },
                "scopeSpans": [{"scope": {"name": "t"}, "spans": list(spans)}],
            }
        ]
    }
    return json.dumps(doc, indent=indent).encode()


X = otlp(span("0000000000000001", "x-one"), span("0000000000000002", "x-two"))
Y = otlp(span("0000000000000002", "y-two"), span("0000000000000003", "y-three"))


@pytest.fixture
def landing(tmp_path):
    (tmp_path / "landing" / "otel").mkdir(parents=True)
    return tmp_path / "landing"


@pytest.fixture
def warehouse(tmp_path):
    return DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))


def run(landing, warehouse, stream=OTEL):
    return ingest_stream(stream, LandingZone(uri=str(landing)), warehouse)


def spans(warehouse) -> list[tuple]:
    return [
        tuple(r.values())
        for r in warehouse.query(
            "SELECT span_id, span_name, source_file FROM otel_spans ORDER BY span_id, span_name"
        ).to_pylist()
    ]


def names(warehouse) -> list[tuple[str, str]]:
    return [(s, n) for s, n, _ in spans(warehouse)]


def test_a_file_rewritten_x_y_x_ends_with_x_rows(landing, warehouse):
    path = landing / "otel" / "a.json"
    seen = []
    for content in (X, Y, X):
        path.write_bytes(content)
        run(landing, warehouse)
        seen.append(names(warehouse))
    x_rows = [("0000000000000001", "x-one"), ("0000000000000002", "x-two")]
    y_rows = [("0000000000000002", "y-two"), ("0000000000000003", "y-three")]
    assert seen == [x_rows, y_rows, x_rows]
    files = warehouse.query("SELECT source_file, status FROM ingested_files").to_pylist()
    assert files == [{"source_file": "otel/a.json", "status": "ingested"}]


def test_a_copy_keeps_rows_when_the_original_is_rewritten(landing, warehouse):
    (landing / "otel" / "a.json").write_bytes(X)
    (landing / "otel" / "b.json").write_bytes(X)
    first = run(landing, warehouse)
    (landing / "otel" / "a.json").write_bytes(Y)
    second = run(landing, warehouse)
    assert (first.files_ingested, first.files_skipped) == (1, 1)
    assert (second.files_ingested, second.files_skipped) == (1, 1)
    # x-one only b.json carries now; span 2 both carry, Y's version being the newer.
    assert names(warehouse) == [
        ("0000000000000001", "x-one"),
        ("0000000000000002", "y-two"),
        ("0000000000000003", "y-three"),
    ]
    (landing / "otel" / "b.json").write_bytes(otlp(span("0000000000000009", "z")))
    run(landing, warehouse)
    assert names(warehouse) == [
        ("0000000000000002", "y-two"),
        ("0000000000000003", "y-three"),
        ("0000000000000009", "z"),
    ]


@pytest.mark.parametrize(
    ("copy_name", "copy_bytes"),
    [
        ("a.json.gz", gzip.compress(X)),
        (
            "pretty.json",
            otlp(span("0000000000000001", "x-one"), span("0000000000000002", "x-two"), indent=2),
        ),
    ],
)
def test_the_same_spans_in_other_bytes_are_stored_once(landing, warehouse, copy_name, copy_bytes):
    (landing / "otel" / "a.json").write_bytes(X)
    (landing / "otel" / copy_name).write_bytes(copy_bytes)
    run(landing, warehouse)
    run(landing, warehouse)
    assert names(warehouse) == [("0000000000000001", "x-one"), ("0000000000000002", "x-two")]
    # Either file keeps them once the other changes.
    (landing / "otel" / "a.json").write_bytes(otlp(span("0000000000000005", "five")))
    run(landing, warehouse)
    assert names(warehouse) == [
        ("0000000000000001", "x-one"),
        ("0000000000000002", "x-two"),
        ("0000000000000005", "five"),
    ]


def test_copies_in_one_run_are_stored_once(landing, warehouse):
    for i in range(3):
        (landing / "otel" / f"{i}.json.gz").write_bytes(gzip.compress(X, mtime=i))
    report = run(landing, warehouse)
    assert report.rows_by_table["otel_spans"] == 6
    assert names(warehouse) == [("0000000000000001", "x-one"), ("0000000000000002", "x-two")]


def test_a_later_version_of_a_span_replaces_the_earlier(landing, warehouse):
    (landing / "otel" / "a.json").write_bytes(X)
    run(landing, warehouse)
    (landing / "otel" / "b.json").write_bytes(otlp(span("0000000000000001", "x-one-v2")))
    run(landing, warehouse)
    assert spans(warehouse) == [
        ("0000000000000001", "x-one-v2", "otel/b.json"),
        ("0000000000000002", "x-two", "otel/a.json"),
    ]


def test_identity_is_checked_within_the_day_a_span_belongs_to(landing, warehouse):
    (landing / "otel" / "a.json").write_bytes(X)
    run(landing, warehouse)
    (landing / "otel" / "b.json").write_bytes(otlp(span("0000000000000001", "moved", DAY2)))
    run(landing, warehouse)
    assert names(warehouse) == [
        ("0000000000000001", "moved"),
        ("0000000000000001", "x-one"),
        ("0000000000000002", "x-two"),
    ]


def test_deleting_a_landing_file_does_not_retract_its_rows(landing, warehouse):
    (landing / "otel" / "a.json").write_bytes(X)
    run(landing, warehouse)
    (landing / "otel" / "a.json").unlink()
    report = run(landing, warehouse)
    assert report.files_seen == 0
    assert names(warehouse) == [("0000000000000001", "x-one"), ("0000000000000002", "x-two")]


def deployment(event: str, status: str) -> bytes:
    return json.dumps(
        {
            "kind": "cicl.deployment/v1",
            "deployment_id": event,
            "environment": "production",
            "service": "api",
            "commit_sha": "a" * 40,
            "image_digest": "sha256:" + "b" * 64,
            "status": status,
            "started_at": "2026-03-01T10:00:00Z",
        }
    ).encode()


def test_path_keyed_rows_follow_their_file(landing, warehouse):
    folder = landing / "deployments"
    folder.mkdir()
    (folder / "a.json").write_bytes(deployment("d1", "succeeded"))
    (folder / "b.json").write_bytes(deployment("d1", "succeeded"))
    run(landing, warehouse, DEPLOYMENTS_STREAM)
    (folder / "a.json").write_bytes(deployment("d2", "failed"))
    run(landing, warehouse, DEPLOYMENTS_STREAM)
    run(landing, warehouse, DEPLOYMENTS_STREAM)
    rows = warehouse.query(
        "SELECT deployment_id, status, source_file FROM deployment_events ORDER BY source_file"
    ).to_pylist()
    assert [tuple(r.values()) for r in rows] == [
        ("d2", "failed", "deployments/a.json"),
        ("d1", "succeeded", "deployments/b.json"),
    ]
