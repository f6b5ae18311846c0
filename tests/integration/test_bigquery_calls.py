"""What BigQuery requests the warehouse makes, by kind (on the emulator, through the real client).

Every ingest batch ensures its tables and every asset asks whether tables exist: a process that
has created or read a table asks BigQuery about it again only when a spec gained columns. A job
answered finished when inserted is not polled, and a query's rows come with its completion.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchmarks.bigquery_calls import counted_requests
from cicl_assets.warehouse.batch import IngestBatch, Part, TableLoad
from cicl_assets.warehouse.bigquery_warehouse import BigQueryWarehouse
from cicl_assets.warehouse.tables import INGESTED_FILES, UTC_TS, TableSpec
from tests.conftest import EMULATOR_PROJECT

pytestmark = pytest.mark.bigquery

ITEMS = TableSpec(
    name="items",
    description="One row per item.",
    schema=pa.schema([("id", pa.string()), ("at", UTC_TS)]),
    time_column="at",
    identity=("id",),
).with_provenance()
GROWN = TableSpec(
    name="items",
    description="One row per item.",
    schema=pa.schema([("id", pa.string()), ("at", UTC_TS), ("note", pa.string())]),
    time_column="at",
    identity=("id",),
).with_provenance()

# Three staged files (rows, file keys, file records), each one load upload; the transaction; the
# staging tables dropped. The emulator answers each job finished as it accepts it: no poll.
BATCH_WRITES = {"load upload": 3, "insert_job": 1, "delete_table": 3}


def _batch(tmp_path, name: str) -> IngestBatch:
    path = str(tmp_path / f"{name}.parquet")
    at = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
    pq.write_table(ITEMS.from_records([{"id": name, "at": at}]), path)
    files = INGESTED_FILES.from_records([{"ingest_key": name, "source_file": f"zone/{name}"}])
    return IngestBatch(
        stream_tables=(ITEMS,),
        loads=(TableLoad(ITEMS, (Part(path, name, 0),)),),
        files=files,
        file_keys=(name,),
    )


def _fresh(warehouse: BigQueryWarehouse) -> BigQueryWarehouse:
    # Each Dagster run builds its resources anew: what is known must outlive the instance.
    return BigQueryWarehouse(project=EMULATOR_PROJECT, dataset=warehouse.dataset)


@pytest.fixture(scope="module")
def counts(bigquery_emulator, tmp_path_factory) -> dict[str, dict[str, int]]:
    tmp = tmp_path_factory.mktemp("bigquery-calls")
    first = BigQueryWarehouse(project=EMULATOR_PROJECT, dataset=f"calls_{uuid.uuid4().hex[:12]}")
    steps = {
        "first batch": lambda: first.commit_ingest(_batch(tmp, "a")),
        "second batch of the same tables": lambda: _fresh(first).commit_ingest(_batch(tmp, "b")),
        "a query": lambda: _fresh(first).query("SELECT COUNT(*) AS n FROM items"),
        "whether known tables exist": lambda: [
            _fresh(first).table_exists(t) for t in ("items", "ingested_files", "ingest_rejects")
        ],
        "a known table's schema": lambda: _fresh(first).table_schema("items"),
        "a spec that gained a column": lambda: _fresh(first).ensure_table(GROWN),
        "the grown spec again": lambda: _fresh(first).ensure_table(GROWN),
    }
    counted = {}
    try:
        for step, run in steps.items():
            with counted_requests() as seen:
                run()
            counted[step] = dict(seen)
    finally:
        first.drop_dataset()
    return counted


@pytest.mark.parametrize(
    "step, expected",
    [
        (
            "first batch",
            {
                "create_dataset": 1,
                "get_table": 3,
                "create_table": 3,
                **BATCH_WRITES,
            },
        ),
        ("second batch of the same tables", BATCH_WRITES),
        # The rows come with the job's completion.
        ("a query", {"insert_job": 1, "get_query_results (poll)": 1}),
        ("whether known tables exist", {}),
        ("a known table's schema", {}),
        # The column is added by DDL, then listed with its description.
        ("a spec that gained a column", {"get_table": 2, "insert_job": 1, "update_table": 1}),
        ("the grown spec again", {}),
    ],
)
def test_requests_by_kind(counts, step, expected):
    assert counts[step] == expected
