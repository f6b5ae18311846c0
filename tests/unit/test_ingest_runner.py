import gzip
from dataclasses import replace

import pytest

from cicl_assets.ingest.content import ParseError, gunzip_capped
from cicl_assets.ingest.runner import ingest_stream
from cicl_assets.landing import LandingZone
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from tests.unit.sample_stream import SAMPLE_STREAM


@pytest.fixture
def landing(tmp_path):
    root = tmp_path / "landing" / "sample"
    root.mkdir(parents=True)
    (root / "good.json").write_bytes(b'{"a": 1}')
    (root / "good.json.gz").write_bytes(gzip.compress(b'{"a": 2}'))
    (root / "bad.json").write_bytes(b'{"a":')
    (root / "empty.json").write_bytes(b"")
    (root / "notes.txt").write_bytes(b"hello")
    (root / "fake.gz").write_bytes(b"\x1f\x8bnot gzip at all")
    (root / "copy.json").write_bytes(b'{"a": 1}')
    return LandingZone(uri=str(tmp_path / "landing"))


@pytest.mark.parametrize("workers", [1, 2])
def test_good_files_land_bad_files_are_rejected_and_reruns_add_nothing(tmp_path, landing, workers):
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    first = ingest_stream(SAMPLE_STREAM, landing, warehouse, workers=workers)
    assert (first.files_seen, first.files_ingested, first.files_rejected) == (7, 3, 4)
    rows = warehouse.query("SELECT a, source_file FROM sample_rows ORDER BY a, source_file")
    assert rows.to_pylist() == [
        {"a": 1, "source_file": "sample/copy.json"},
        {"a": 1, "source_file": "sample/good.json"},
        {"a": 2, "source_file": "sample/good.json.gz"},
    ]
    errors = {
        r["source_file"]: r["error"]
        for r in warehouse.query("SELECT source_file, error FROM ingest_rejects").to_pylist()
    }
    assert errors["sample/bad.json"].startswith("sample/bad.json: sample-json: invalid JSON")
    assert errors["sample/empty.json"] == (
        "sample/empty.json: unknown: the file is empty (0 bytes of content)"
    )
    assert errors["sample/notes.txt"] == (
        "sample/notes.txt: unknown: unrecognised format (expected one of: sample-json); "
        "starts 'hello'"
    )
    # After the opening parenthesis comes zlib's own wording.
    assert errors["sample/fake.gz"].startswith(
        "sample/fake.gz: gzip: the file starts like gzip but cannot be inflated ("
    )

    second = ingest_stream(SAMPLE_STREAM, landing, warehouse, workers=workers)
    assert (second.files_ingested, second.files_rejected, second.files_skipped) == (0, 0, 7)
    assert warehouse.row_count("sample_rows") == 3
    assert warehouse.row_count("ingest_rejects") == 4
    assert warehouse.row_count("ingested_files") == 7


def test_streams_of_self_identifying_rows_skip_the_same_content_under_another_path(
    tmp_path, landing
):
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    stream = replace(SAMPLE_STREAM, dedupe_content=True)
    first = ingest_stream(stream, landing, warehouse)
    assert (first.files_ingested, first.files_skipped) == (2, 1)
    assert warehouse.query("SELECT a FROM sample_rows ORDER BY a").column("a").to_pylist() == [1, 2]
    statuses = (
        warehouse.query(
            "SELECT status FROM ingested_files WHERE source_file IN ('sample/copy.json', 'sample/good.json')"
        )
        .column("status")
        .to_pylist()
    )
    assert sorted(statuses) == ["ingested", "same_content_as_ingested"]
    (tmp_path / "landing" / "sample" / "again.json").write_bytes(b'{"a": 1}')
    second = ingest_stream(stream, landing, warehouse)
    assert second.files_ingested == 0
    assert warehouse.row_count("sample_rows") == 2


def test_a_file_whose_content_changed_replaces_its_rows(tmp_path, landing):
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    ingest_stream(SAMPLE_STREAM, landing, warehouse)
    (tmp_path / "landing" / "sample" / "good.json").write_bytes(b'{"a": 7}')
    report = ingest_stream(SAMPLE_STREAM, landing, warehouse)
    assert report.files_ingested == 1
    rows = warehouse.query("SELECT a FROM sample_rows WHERE source_file = 'sample/good.json'")
    assert rows.column("a").to_pylist() == [7]


def test_oversized_file_is_rejected_once(tmp_path, landing):
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    small_cap = replace(SAMPLE_STREAM, max_file_bytes=6)
    ingest_stream(small_cap, landing, warehouse)
    ingest_stream(small_cap, landing, warehouse)
    errors = warehouse.query(
        "SELECT error FROM ingest_rejects WHERE source_file = 'sample/good.json'"
    ).to_pylist()
    assert len(errors) == 1
    assert "larger than the 6-byte cap" in errors[0]["error"]


def test_gzip_bomb_is_refused():
    bomb = gzip.compress(b"\0" * 50_000_000)
    with pytest.raises(ParseError, match="decompression bomb"):
        gunzip_capped(bomb, max_bytes=10**9)


def test_concatenated_gzip_members_are_read_whole():
    assert gunzip_capped(gzip.compress(b"ab") + gzip.compress(b"cd"), 1 << 20) == b"abcd"


def test_landing_refuses_paths_that_leave_the_root(landing):
    with pytest.raises(ValueError, match="escapes the landing root"):
        landing.open("../w.duckdb")
