"""The otel stream through the ingest runner: rejects with reasons, gzip, idempotent re-runs."""

import gzip
import shutil
from pathlib import Path

import orjson
import pytest

from cicl_assets.ingest.runner import ingest_stream
from cicl_assets.landing import LandingZone
from cicl_assets.telemetry.formats import OTEL_STREAM
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from tests.unit.telemetry.otlp_requests import every_kind_request, to_otlp_json

FIXTURES = Path(__file__).parents[2] / "fixtures" / "otlp-traces"


@pytest.fixture
def landing(tmp_path) -> LandingZone:
    otel = tmp_path / "landing" / "otel"
    otel.mkdir(parents=True)
    for name in (
        "otel-proto__trace.json",
        "jaeger-fixture__link_attributes_trace.json",
        "otel-proto__logs.json",
        "otel-proto__metrics.json",
        "jaeger-model-base64__domain_01.json",
    ):
        shutil.copy(FIXTURES / name, otel / name)
    request = every_kind_request()
    doc = to_otlp_json(request)
    (otel / "batch.pb").write_bytes(request.SerializeToString())
    (otel / "copy-of-batch.pb").write_bytes(request.SerializeToString())
    (otel / "batch.pb.gz").write_bytes(gzip.compress(request.SerializeToString() + b""))
    other = every_kind_request()
    other.resource_spans[0].scope_spans[0].spans[0].name = "renamed"
    (otel / "lines.jsonl.gz").write_bytes(gzip.compress(orjson.dumps(to_otlp_json(other)) + b"\n"))
    (otel / "truncated.pb").write_bytes(request.SerializeToString()[:-7])
    (otel / "invalid.json").write_bytes(b'{"resourceSpans": [ {"scopeSpans": ')
    bad = to_otlp_json(every_kind_request())
    bad["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["spanId"] = "xyz"
    (otel / "bad-hex.jsonl").write_bytes(
        orjson.dumps(doc) + b"\n" + orjson.dumps(doc) + b"\n" + orjson.dumps(bad) + b"\n"
    )
    (otel / "not-gzip.json.gz").write_bytes(b"\x1f\x8b" + b"definitely not deflate")
    (otel / "empty.json").write_bytes(b"")
    return LandingZone(uri=str(tmp_path / "landing"))


@pytest.mark.parametrize("workers", [1, 2])
def test_bad_files_are_rejected_with_reasons_and_good_ones_land_once(tmp_path, landing, workers):
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    report = ingest_stream(OTEL_STREAM, landing, warehouse, run_id="r1", workers=workers)
    # batch.pb.gz holds the same request as batch.pb, but its bytes differ: both are read
    assert report.files_seen == 14
    assert report.files_ingested == 6  # otel-proto__logs.json lands in otel_logs
    assert report.files_rejected == 7
    assert report.files_skipped == 1  # copy-of-batch.pb: spans already read from batch.pb
    counts = {
        r["source_file"]: r["n"]
        for r in warehouse.query(
            "SELECT source_file, COUNT(*) AS n FROM otel_spans GROUP BY source_file"
        ).to_pylist()
    }
    # batch.pb, batch.pb.gz and lines.jsonl.gz carry the same four span identities: each is
    # stored once, in the version of the newest of them (docs/ingestion.md).
    assert counts == {
        "otel/otel-proto__trace.json": 1,
        "otel/jaeger-fixture__link_attributes_trace.json": 1,
        "otel/lines.jsonl.gz": 4,
    }
    renamed = warehouse.query(
        "SELECT span_name FROM otel_spans WHERE source_file = 'otel/lines.jsonl.gz' "
        "AND span_id = 'b7ad6b7169203331'"
    ).to_pylist()
    assert renamed == [{"span_name": "renamed"}]
    errors = {
        r["source_file"].removeprefix("otel/"): r["error"]
        for r in warehouse.query("SELECT source_file, error FROM ingest_rejects").to_pylist()
    }
    assert errors["truncated.pb"] == (
        "otel/truncated.pb: otlp-protobuf: not a readable protobuf ExportTraceServiceRequest: "
        "the request framing ends early or is not protobuf (a truncated upload, or not OTLP)"
    )
    assert errors["invalid.json"].startswith("otel/invalid.json: otlp-json: invalid JSON")
    assert errors["bad-hex.jsonl"] == (
        "otel/bad-hex.jsonl: otlp-json: line 3: invalid hex in spanId 'xyz' "
        "(expected 16 hex digits)"
    )
    # After the opening parenthesis comes zlib's own wording.
    assert errors["not-gzip.json.gz"].startswith(
        "otel/not-gzip.json.gz: gzip: the file starts like gzip but cannot be inflated ("
    )
    assert (
        errors["empty.json"] == "otel/empty.json: unknown: the file is empty (0 bytes of content)"
    )
    assert "otel-proto__logs.json" not in errors
    assert errors["otel-proto__metrics.json"] == (
        "otel/otel-proto__metrics.json: not-otlp-traces: OTLP metrics, not traces or logs: the "
        "file holds 'resourceMetrics'; this stream reads ExportTraceServiceRequest "
        "(resourceSpans) and ExportLogsServiceRequest (resourceLogs)"
    )
    assert errors["jaeger-model-base64__domain_01.json"] == (
        "otel/jaeger-model-base64__domain_01.json: not-otlp-traces: Jaeger model JSON with base64 "
        "ids, not OTLP: the file holds 'spans' with 'operationName'; export OTLP (resourceSpans) "
        "from Jaeger or the Collector instead"
    )

    again = ingest_stream(OTEL_STREAM, landing, warehouse, run_id="r2", workers=workers)
    assert (again.files_ingested, again.files_rejected, again.files_skipped) == (0, 0, 14)
    assert warehouse.row_count("otel_spans") == 6
    assert warehouse.row_count("otel_logs") == 1
    assert warehouse.row_count("ingest_rejects") == 7
