"""Unchanged landing files are skipped on the listing alone: not read, not downloaded.

Locally a path's version is its size, mtime and inode; on Cloud Storage its generation and hash
(the GCS emulator here). A changed file is read again; a file touched without a change is read
once more, then skipped; a file written just before the listing is not trusted to be skipped.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from cicl_assets.feedback.stream import FEEDBACK_STREAM
from cicl_assets.ingest.runner import ingest_stream
from cicl_assets.landing import LandingZone
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse


def rating(workflow: str, score: int, hour: int) -> bytes:
    return (
        f'{{"workflow": "{workflow}", "rating": {score}, "at": "2026-11-05T{hour:02d}:00:00Z"}}\n'
    ).encode()


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """Paths the landing zone reads, in order (feedback parses in this process)."""
    seen: list[str] = []
    original = LandingZone.read_bytes

    def counting(self, path, max_bytes, timeout_s=60.0):
        seen.append(path)
        return original(self, path, max_bytes, timeout_s)

    monkeypatch.setattr(LandingZone, "read_bytes", counting)
    return seen


def write_old(path: Path, data: bytes, age_s: float = 3600) -> None:
    """Write ``data`` with an mtime ``age_s`` in the past (older than the racy window)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    then = time.time() - age_s
    os.utime(path, (then, then))


def ingested(warehouse) -> list[tuple[str, int]]:
    rows = warehouse.query(
        "SELECT workflow, CAST(rating_raw AS INTEGER) AS s FROM user_feedback ORDER BY workflow"
    ).to_pylist()
    return [(r["workflow"], r["s"]) for r in rows]


def test_a_local_unchanged_file_is_not_read_again(tmp_path, reads):
    root = tmp_path / "landing"
    for i, name in enumerate(("a", "b", "c")):
        write_old(root / "feedback" / f"{name}.jsonl", rating(f"wf-{name}", 1 + i, 10))
    zone = LandingZone(uri=str(root), state_dir=str(tmp_path / "state"))
    w = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))

    first = ingest_stream(FEEDBACK_STREAM, zone, w)
    assert (first.files_ingested, first.files_skipped_unread, len(reads)) == (3, 0, 3)

    reads.clear()
    second = ingest_stream(FEEDBACK_STREAM, zone, w)
    assert (second.files_skipped, second.files_skipped_unread, reads) == (3, 3, [])

    # a changed file (same size, other bytes, another mtime) is read and replaces its rows
    write_old(root / "feedback" / "b.jsonl", rating("wf-b", 5, 10), age_s=1800)
    # a touched file (same bytes, new mtime) is read once, found unchanged, then skipped
    touched = root / "feedback" / "c.jsonl"
    os.utime(touched, (time.time() - 1200, time.time() - 1200))
    reads.clear()
    third = ingest_stream(FEEDBACK_STREAM, zone, w)
    assert sorted(reads) == ["feedback/b.jsonl", "feedback/c.jsonl"]
    assert (third.files_ingested, third.files_skipped, third.files_skipped_unread) == (1, 2, 1)
    assert ingested(w) == [("wf-a", 1), ("wf-b", 5), ("wf-c", 3)]

    reads.clear()
    fourth = ingest_stream(FEEDBACK_STREAM, zone, w)
    assert (fourth.files_skipped_unread, reads) == (3, [])


def test_a_file_written_just_before_the_listing_is_read_again(tmp_path, reads):
    root = tmp_path / "landing"
    fresh = root / "feedback" / "fresh.jsonl"
    fresh.parent.mkdir(parents=True)
    fresh.write_bytes(rating("wf-fresh", 2, 9))
    # an mtime the listing sees as just written, however slow this machine is today
    soon = time.time() + 60
    os.utime(fresh, (soon, soon))
    zone = LandingZone(uri=str(root), state_dir=str(tmp_path / "state"))
    w = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    assert ingest_stream(FEEDBACK_STREAM, zone, w).files_ingested == 1
    reads.clear()
    again = ingest_stream(FEEDBACK_STREAM, zone, w)
    # read (its listing was not trusted), found to be the same content, nothing written twice
    assert (reads, again.files_ingested, again.files_skipped_unread) == (
        ["feedback/fresh.jsonl"],
        0,
        0,
    )
    assert ingested(w) == [("wf-fresh", 2)]


@pytest.mark.gcs
def test_an_unchanged_object_is_not_downloaded_again(tmp_path, gcs_bucket, reads):
    for name in ("a", "b"):
        gcs_bucket.blob(f"zone/feedback/{name}.jsonl").upload_from_string(
            rating(f"wf-{name}", 3, 11)
        )
    zone = LandingZone(uri=f"gs://{gcs_bucket.name}/zone/", state_dir=str(tmp_path / "state"))
    w = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    assert ingest_stream(FEEDBACK_STREAM, zone, w).files_ingested == 2
    reads.clear()
    again = ingest_stream(FEEDBACK_STREAM, zone, w)
    assert (again.files_skipped_unread, reads) == (2, [])
    # a new generation of one object, even with the same bytes, is downloaded once more
    gcs_bucket.blob("zone/feedback/a.jsonl").upload_from_string(rating("wf-a", 4, 11))
    reads.clear()
    third = ingest_stream(FEEDBACK_STREAM, zone, w)
    assert (reads, third.files_ingested, third.files_skipped_unread) == (["feedback/a.jsonl"], 1, 1)
    assert ingested(w) == [("wf-a", 4), ("wf-b", 3)]
