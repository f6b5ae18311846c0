"""Atomic writes and identity merges, run unchanged on DuckDB and the BigQuery emulator."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cicl_assets.warehouse import lease
from cicl_assets.warehouse.batch import IngestBatch, Part, Retirement, TableLoad
from cicl_assets.warehouse.tables import INGESTED_FILES, UTC_TS, TableSpec

UTC = dt.UTC
DAY1 = dt.datetime(2026, 3, 1, 10, tzinfo=UTC)
DAY2 = dt.datetime(2026, 3, 2, 10, tzinfo=UTC)

ITEMS = TableSpec(
    name="items",
    description="One row per item.",
    schema=pa.schema(
        [("id", pa.string()), ("v", pa.string()), ("done_at", UTC_TS), ("at", UTC_TS)]
    ),
    time_column="at",
    identity=("id",),
    prefer_present=("done_at",),
).with_provenance()

DERIVED = TableSpec(
    name="derived",
    description="One row per derived figure.",
    schema=pa.schema([("k", pa.string()), ("n", pa.int64())]),
    identity=("k",),
)


def part(tmp_path, name: str, rows: list[dict], carrier: str, order: int) -> Part:
    path = str(tmp_path / f"{name}.parquet")
    pq.write_table(ITEMS.from_records(rows), path)
    return Part(path, carrier, order)


def items(warehouse) -> list[tuple]:
    at = warehouse.quote("at")
    rows = warehouse.query(
        f"SELECT id, v, {at} AS ts, carried_by FROM items ORDER BY id, {at}"
    ).to_pylist()
    return [(r["id"], r["v"], r["ts"].day, list(r["carried_by"])) for r in rows]


def commit(warehouse, *parts: Part, retired: Retirement | None = None):
    return warehouse.commit_ingest(
        IngestBatch(
            stream_tables=(ITEMS,),
            loads=(TableLoad(ITEMS, tuple(parts)),) if parts else (),
            retired=retired or Retirement(),
        )
    )


def test_identities_merge_within_their_day_and_retire_with_their_content(any_warehouse, tmp_path):
    w = any_warehouse
    w.ensure_table(ITEMS)
    first = [
        {"id": "a", "v": "a1", "done_at": DAY1, "at": DAY1},
        {"id": "b", "v": "b1", "at": DAY1},
        {"id": "b", "v": "b1-later-row", "at": DAY1},
    ]
    assert commit(w, part(tmp_path, "x", first, "X", 0)) == {"items": 3}
    assert items(w) == [("a", "a1", 1, ["X"]), ("b", "b1-later-row", 1, ["X"])]
    second = [
        {"id": "a", "v": "a2-unfinished", "at": DAY1},  # loses: the stored one has done_at
        {"id": "b", "v": "b2", "at": DAY1},  # wins: newer content
        {"id": "b", "v": "b-other-day", "at": DAY2},  # another partition, another row
        {"id": "c", "v": "c2", "at": DAY2},
    ]
    commit(w, part(tmp_path, "y", second, "Y", 0))
    assert items(w) == [
        ("a", "a1", 1, ["X", "Y"]),
        ("b", "b2", 1, ["X", "Y"]),
        ("b", "b-other-day", 2, ["Y"]),
        ("c", "c2", 2, ["Y"]),
    ]
    commit(w, retired=Retirement(("Y",), ("2026-03-01", "2026-03-02")))
    assert items(w) == [("a", "a1", 1, ["X"]), ("b", "b2", 1, ["X"])]


def test_a_failure_inside_an_ingest_commit_leaves_everything_as_it_was(any_warehouse, tmp_path):
    w = any_warehouse
    commit(w, part(tmp_path, "x", [{"id": "a", "v": "a1", "at": DAY1}], "X", 0))
    # A table whose column holds numbers, loaded with text: the second statement fails.
    clash = TableSpec("clash", pa.schema([("n", pa.int64())]), "One row per n.").with_provenance()
    w.ensure_table(clash)
    text = TableSpec("clash", pa.schema([("n", pa.string())]), "x").with_provenance()
    bad = str(tmp_path / "bad.parquet")
    pq.write_table(text.from_records([{"n": "not a number"}]), bad)
    files = INGESTED_FILES.from_records([{"ingest_key": "p#Z", "stream": "s"}])
    with pytest.raises(Exception):  # noqa: B017 - each engine words its own error
        w.commit_ingest(
            IngestBatch(
                stream_tables=(ITEMS, text),
                loads=(
                    TableLoad(ITEMS, (part(tmp_path, "z", [{"id": "z", "at": DAY1}], "Z", 0),)),
                    TableLoad(text, (Part(bad, "Z", 0),)),
                ),
                retired=Retirement(("X",), ("2026-03-01",)),
                files=files,
                file_keys=("p#Z",),
            )
        )
    assert items(w) == [("a", "a1", 1, ["X"])]
    assert w.row_count("ingested_files") == 0


def test_replace_table_is_all_or_nothing(any_warehouse):
    w = any_warehouse
    w.replace_table(DERIVED, DERIVED.from_records([{"k": "a", "n": 1}, {"k": "b", "n": 2}]))
    # Rows that do not conform (a column the table lacks) fail before anything is removed.
    with pytest.raises(ValueError, match="columns not in the table spec"):
        w.replace_table(DERIVED, pa.table({"k": ["c"], "n": [3], "extra": [1]}))
    # Rows the table refuses fail inside the transaction, after the delete: rolled back.
    text = TableSpec("derived", pa.schema([("k", pa.string()), ("n", pa.string())]), "x")
    with pytest.raises(Exception):  # noqa: B017 - each engine words its own error
        w.replace_table(text, text.from_records([{"k": "c", "n": "three"}]))
    assert w.query("SELECT k, n FROM derived ORDER BY k").to_pylist() == [
        {"k": "a", "n": 1},
        {"k": "b", "n": 2},
    ]
    w.replace_where_in(DERIVED, "k", ["a"], DERIVED.from_records([{"k": "a", "n": 10}]))
    w.replace_table(DERIVED, DERIVED.from_records([{"k": "z", "n": 26}]))
    assert w.query("SELECT k, n FROM derived ORDER BY k").to_pylist() == [{"k": "z", "n": 26}]


def test_upsert_updates_and_adds_and_never_deletes(any_warehouse):
    w = any_warehouse
    w.upsert(DERIVED, DERIVED.from_records([{"k": "a", "n": 1}, {"k": "b", "n": 2}]))
    w.upsert(DERIVED, DERIVED.from_records([{"k": "b", "n": 20}, {"k": "c", "n": 3}]))
    assert w.query("SELECT k, n FROM derived ORDER BY k").to_pylist() == [
        {"k": "a", "n": 1},
        {"k": "b", "n": 20},
        {"k": "c", "n": 3},
    ]


def test_the_writer_lease_has_one_holder_until_released_or_expired(any_warehouse):
    w = any_warehouse
    assert lease.try_take(w, "writer", "first", ttl_s=600) == "first"
    assert lease.try_take(w, "writer", "second", ttl_s=600) == "first"
    with pytest.raises(lease.LeaseBusy, match="held by first"):
        with lease.writer_lease(w, owner="second", wait_s=0.5, poll_s=0.1):
            pass
    lease.release(w, "writer", "first")
    with lease.writer_lease(w, owner="second", wait_s=0.5) as owner:
        assert lease.holder(w) == owner == "second"
    assert lease.holder(w) is None
    assert lease.try_take(w, "writer", "third", ttl_s=-1) == "third" or lease.holder(w) is None
    assert lease.try_take(w, "writer", "fourth", ttl_s=600) == "fourth"


def test_replace_range_touches_only_its_time_range_and_keys(any_warehouse):
    w = any_warehouse
    w.ensure_table(ITEMS)
    w.append(
        ITEMS,
        ITEMS.from_records(
            [
                {"id": "a", "v": "day1", "at": DAY1},
                {"id": "b", "v": "day1", "at": DAY1},
                {"id": "a", "v": "day2", "at": DAY2},
            ]
        ),
    )
    day1 = (DAY1.replace(hour=0), DAY2.replace(hour=0))
    # keys within the range: only a's day-1 row gives way
    w.replace_range(
        ITEMS, *day1, ITEMS.from_records([{"id": "a", "v": "new", "at": DAY1}]), "id", ["a"]
    )
    # no keys: nothing is deleted, the row is added
    w.replace_range(
        ITEMS, *day1, ITEMS.from_records([{"id": "c", "v": "new", "at": DAY1}]), "id", []
    )
    got = w.query("SELECT id, v FROM items ORDER BY id, v").to_pylist()
    assert [(r["id"], r["v"]) for r in got] == [
        ("a", "day2"),
        ("a", "new"),
        ("b", "day1"),
        ("c", "new"),
    ]
    # the whole range: day 2 stays
    w.replace_range(ITEMS, *day1, ITEMS.from_records([]))
    got = w.query("SELECT id, v FROM items ORDER BY id").to_pylist()
    assert [(r["id"], r["v"]) for r in got] == [("a", "day2")]


def test_replace_range_is_all_or_nothing(any_warehouse):
    w = any_warehouse
    w.ensure_table(ITEMS)
    w.append(ITEMS, ITEMS.from_records([{"id": "a", "v": "kept", "at": DAY1}]))
    # Rows the table refuses (text where it holds times) fail after the delete: rolled back.
    text_at = TableSpec(
        "items",
        pa.schema([("id", pa.string()), ("v", pa.string()), ("at", pa.string())]),
        "x",
        time_column="at",
    )
    bad = text_at.from_records([{"id": "b", "v": "x", "at": "not a time"}])
    with pytest.raises(Exception):  # noqa: B017 - each engine words its own error
        w.replace_range(text_at, DAY1.replace(hour=0), DAY2.replace(hour=0), bad)
    assert w.query("SELECT id, v FROM items").to_pylist() == [{"id": "a", "v": "kept"}]
