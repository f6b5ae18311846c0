"""The same rows written to DuckDB and to BigQuery have the same fingerprint."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from cicl_assets.warehouse.fingerprint import table_fingerprint, table_lines
from cicl_assets.warehouse.tables import UTC_TS, TableSpec

MIXED = TableSpec(
    name="mixed",
    schema=pa.schema(
        [
            ("name", pa.string()),
            ("count", pa.int64()),
            ("ratio", pa.float64()),
            ("at", UTC_TS),
            ("tags", pa.list_(pa.string())),
            ("attributes", pa.string()),
            ("run_id", pa.string()),
        ]
    ),
    description="One row per test value.",
    json_columns=("attributes",),
)
T = dt.datetime(2026, 11, 5, 14, 25, 0, 123456, tzinfo=dt.UTC)
ROWS = [
    {"name": "b", "count": 2, "ratio": 1 / 3, "at": T, "tags": ["x", "y"],
     "attributes": '{"k": "v", "n": 1}', "run_id": "run-1"},
    {"name": "a", "count": None, "ratio": 0.1 + 0.2, "at": None, "tags": None,
     "attributes": None, "run_id": "run-1"},
]  # fmt: skip


def test_the_fingerprint_is_the_same_on_every_engine(any_warehouse):
    any_warehouse.append(MIXED, MIXED.from_records(ROWS))
    assert table_lines(any_warehouse, "mixed") == [
        '{"at":"2026-11-05T14:25:00.123456Z","attributes":{"k":"v","n":1},"count":2,"name":"b",'
        '"ratio":0.333333333333,"tags":["x","y"]}',
        '{"at":null,"attributes":null,"count":null,"name":"a","ratio":0.3,"tags":[]}',
    ]
    fingerprint = table_fingerprint(any_warehouse, "mixed")
    assert (fingerprint.rows, fingerprint.checksum[:16]) == (2, "d7c813e57e9c460a")
