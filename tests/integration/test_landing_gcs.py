"""The landing zone on ``gs://bucket/prefix``, against a local GCS emulator."""

from __future__ import annotations

import pytest

from cicl_assets.ingest.runner import ingest_stream
from cicl_assets.landing import LandingObject, LandingZone
from cicl_assets.landing.zone import FileTooLargeError, UnsafePathError
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from tests.integration.test_warehouse_contract import SAMPLE_FILES, ingest_outcome
from tests.unit.sample_stream import SAMPLE_STREAM

pytestmark = pytest.mark.gcs

ROOT = "drops/landing"
OBJECTS = {
    f"{ROOT}/otel/a.json": b'{"resourceSpans": []}',
    f"{ROOT}/otel/b/c.jsonl.gz": b"\x1f\x8b" + b"\0" * 40,
    f"{ROOT}/ci/run-1/run.json": b'{"pipeline": "build"}',
    f"{ROOT}/ci/": b"",  # a folder placeholder, as the console creates
    f"{ROOT}-other/otel/x.json": b"{}",  # shares the root as a string prefix, not as a folder
    "drops/secret.txt": b"outside the landing root",
}


@pytest.fixture
def bucket(gcs_bucket):
    return gcs_bucket


def upload(bucket, objects: dict[str, bytes]) -> None:
    for name, data in objects.items():
        bucket.blob(name).upload_from_string(data)


@pytest.fixture
def zone(bucket) -> LandingZone:
    upload(bucket, OBJECTS)
    return LandingZone(uri=f"gs://{bucket.name}/{ROOT}/")


def test_list_gives_relative_paths_in_order_with_sizes(zone):
    listed = list(zone.list())
    assert [(o.path, o.size) for o in listed] == [
        ("ci/run-1/run.json", len(OBJECTS[f"{ROOT}/ci/run-1/run.json"])),
        ("otel/a.json", len(OBJECTS[f"{ROOT}/otel/a.json"])),
        ("otel/b/c.jsonl.gz", 42),
    ]
    assert all(o.updated > 1.7e9 for o in listed)  # seconds since the epoch, from the object
    assert [o.path for o in zone.list("otel")] == ["otel/a.json", "otel/b/c.jsonl.gz"]
    assert [o.path for o in zone.list("/otel/b/")] == ["otel/b/c.jsonl.gz"]
    assert list(zone.list("nothing-here")) == []


def test_a_bucket_root_landing_zone_lists_every_object(bucket):
    upload(bucket, {"otel/a.json": b"{}", "top.json": b"[]"})
    assert [o.path for o in LandingZone(uri=f"gs://{bucket.name}").list()] == [
        "otel/a.json",
        "top.json",
    ]


def test_open_streams_the_object(zone):
    with zone.open("ci/run-1/run.json") as stream:
        assert stream.read() == b'{"pipeline": "build"}'
    with pytest.raises(FileNotFoundError):
        zone.open("ci/run-1/missing.json")


def test_read_bytes_refuses_objects_over_the_cap(zone):
    size = len(OBJECTS[f"{ROOT}/ci/run-1/run.json"])
    assert (
        zone.read_bytes("ci/run-1/run.json", max_bytes=size) == OBJECTS[f"{ROOT}/ci/run-1/run.json"]
    )
    with pytest.raises(FileTooLargeError, match=f"larger than the {size - 1:,}-byte cap"):
        zone.read_bytes("ci/run-1/run.json", max_bytes=size - 1)
    with pytest.raises(FileNotFoundError):  # an OSError: the runner rejects the file
        zone.read_bytes("otel/gone.json", max_bytes=1000)


@pytest.mark.parametrize("path", ["../secret.txt", "../../drops/secret.txt", "/drops/secret.txt"])
def test_paths_that_leave_the_root_are_refused(zone, path):
    with pytest.raises(UnsafePathError, match="escapes the landing root"):
        zone.open(path)
    with pytest.raises(UnsafePathError, match="escapes the landing root"):
        zone.read_bytes(path, max_bytes=1000)


@pytest.mark.parametrize("prefix", ["..", "../drops", "otel/../../.."])
def test_listing_outside_the_root_is_refused(zone, prefix):
    with pytest.raises(UnsafePathError, match="escapes the landing root"):
        list(zone.list(prefix))


def test_a_uri_without_bucket_is_refused(gcs_emulator):
    with pytest.raises(ValueError, match="names no bucket"):
        list(LandingZone(uri="gs:///landing").list())


@pytest.mark.parametrize("workers", [1, 2])
def test_ingesting_from_gcs_gives_the_rows_a_local_folder_gives(bucket, tmp_path, workers):
    upload(bucket, {f"{ROOT}/{rel}": data for rel, data in SAMPLE_FILES.items()})
    from_gcs = DuckDBWarehouse(path=str(tmp_path / "gcs.duckdb"))
    report = ingest_stream(
        SAMPLE_STREAM, LandingZone(uri=f"gs://{bucket.name}/{ROOT}"), from_gcs, workers=workers
    )
    assert (report.files_seen, report.files_ingested, report.files_rejected) == (7, 3, 4)

    local_root = tmp_path / "landing"
    for rel, data in SAMPLE_FILES.items():
        (local_root / rel).parent.mkdir(parents=True, exist_ok=True)
        (local_root / rel).write_bytes(data)
    from_folder = DuckDBWarehouse(path=str(tmp_path / "local.duckdb"))
    ingest_stream(SAMPLE_STREAM, LandingZone(uri=str(local_root)), from_folder, workers=workers)

    outcome = ingest_outcome(from_gcs)
    assert outcome["sample_rows"] == [
        {"a": 1, "source_file": "sample/copy.json"},
        {"a": 1, "source_file": "sample/good.json"},
        {"a": 2, "source_file": "sample/good.json.gz"},
    ]
    assert outcome == ingest_outcome(from_folder)


ODD_OBJECTS = {
    f"{ROOT}/sample/tab\there.json": b'{"a": 7}',
    f"{ROOT}/sample/new\nline.json": b'{"a":',
    f"{ROOT}/sample/caf\u00e9.json": b'{"a": 8}',
    f"{ROOT}/sample/good.json": b'{"a": 1}',
}
# Names with a '..' part: the GCS emulator refuses to store them (real GCS does not), so a
# listing hands them out as if they were there.
DOT_DOT = ("sample/..\\\\evil.json", "sample/../up.json")


class ListsDotDotNames(LandingZone):
    def list(self, prefix: str = ""):
        listed = [*super().list(prefix), *(LandingObject(p, 8, 1.7e9) for p in DOT_DOT)]
        return iter(sorted(listed, key=lambda o: o.path))


def test_odd_object_names_are_listed_escaped_and_read_back(bucket):
    upload(bucket, ODD_OBJECTS)
    zone = LandingZone(uri=f"gs://{bucket.name}/{ROOT}")
    assert [o.path for o in zone.list("sample")] == [
        "sample/caf\u00e9.json",
        "sample/good.json",
        "sample/new\\x0aline.json",
        "sample/tab\\x09here.json",
    ]
    assert zone.read_bytes("sample/tab\\x09here.json", 100) == b'{"a": 7}'
    with pytest.raises(FileNotFoundError):  # object names are UTF-8: no object has this name
        zone.read_bytes("sample/\\xff.json", 100)
    for path in DOT_DOT:
        with pytest.raises(UnsafePathError):
            zone.read_bytes(path, 100)


@pytest.mark.parametrize("workers", [1, 2])
def test_odd_object_names_become_rejects_or_rows_and_never_fail_the_run(bucket, tmp_path, workers):
    upload(bucket, ODD_OBJECTS)
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    zone = ListsDotDotNames(uri=f"gs://{bucket.name}/{ROOT}")
    report = ingest_stream(SAMPLE_STREAM, zone, warehouse, workers=workers)
    assert (report.files_seen, report.files_ingested, report.files_rejected) == (6, 3, 3)
    rows = warehouse.query("SELECT a, source_file FROM sample_rows ORDER BY a").to_pylist()
    assert rows == [
        {"a": 1, "source_file": "sample/good.json"},
        {"a": 7, "source_file": "sample/tab\\x09here.json"},
        {"a": 8, "source_file": "sample/caf\u00e9.json"},
    ]
    errors = warehouse.query("SELECT error FROM ingest_rejects ORDER BY 1").column("error")
    assert errors.to_pylist() == [
        "sample/../up.json: not read: landing path 'sample/../up.json' escapes the landing root;"
        " rename the file",
        "sample/..\\\\evil.json: not read: landing path 'sample/..\\\\evil.json' escapes the "
        "landing root (a '\\' counts as a separator); rename the file",
        "sample/new\\x0aline.json: sample-json: invalid JSON (Expecting value: line 1 column 6 "
        "(char 5))",
    ]
    again = ingest_stream(SAMPLE_STREAM, zone, warehouse, workers=workers)
    assert (again.files_ingested, again.files_rejected, again.files_skipped) == (0, 0, 6)
