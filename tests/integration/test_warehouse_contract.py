"""The warehouse contract, run unchanged on every backend (DuckDB file, BigQuery emulator)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from dataclasses import replace

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cicl_assets.ingest.runner import ingest_stream
from cicl_assets.landing import LandingZone
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.tables import JSON, UTC_TS, TableSpec
from tests.unit.sample_stream import SAMPLE_STREAM

UTC = dt.UTC

EVENTS = TableSpec(
    name="contract_events",
    description="One row per contract-test event.",
    schema=pa.schema(
        [
            ("id", pa.string()),
            ("n", pa.int64()),
            ("x", pa.float64()),
            ("ok", pa.bool_()),
            ("happened_at", UTC_TS),
            ("day", pa.date32()),
            ("tags", pa.list_(pa.string())),
            ("doc", JSON),
        ]
    ),
    time_column="happened_at",
    cluster_by=("id", "n"),
    json_columns=("doc",),
    column_docs={"id": "event id"},
)

ROWS = [
    {
        "id": "a",
        "n": 1,
        "x": 0.5,
        "ok": True,
        "happened_at": dt.datetime(2026, 3, 1, 8, 0, 0, 123456, tzinfo=UTC),
        "day": dt.date(2026, 3, 1),
        "tags": ["red", "blue"],
        "doc": json.dumps({"k": [1, 2], "s": "é"}),
    },
    {
        "id": "b",
        "n": 2,
        "x": 2.25,
        "ok": False,
        "happened_at": dt.datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC),
        "day": dt.date(2026, 3, 2),
        "tags": [],
        "doc": json.dumps({"nested": {"deep": True}}),
    },
    {
        "id": "c",
        "n": 3,
        "x": None,
        "ok": None,
        "happened_at": dt.datetime(2026, 3, 3, 0, 0, 0, tzinfo=UTC),
        "day": None,
        "tags": ["red"],
        "doc": None,
    },
]


def canonical(t: pa.DataType) -> pa.DataType:
    """Types as the contract sees them: any UTC zone name is UTC, list field names do not count."""
    if pa.types.is_timestamp(t) and t.tz in ("UTC", "Etc/UTC", "+00:00"):
        return UTC_TS
    if pa.types.is_list(t):
        return pa.list_(canonical(t.value_type))
    return t


def loaded(warehouse: Warehouse, rows: list[dict] = ROWS) -> Warehouse:
    assert warehouse.append(EVENTS, EVENTS.from_records(rows)) == len(rows)
    return warehouse


def read_events(warehouse: Warehouse) -> list[dict]:
    return warehouse.query(f"SELECT * FROM {EVENTS.name} ORDER BY id").to_pylist()


def test_ensure_table_creates_the_spec_schema(any_warehouse):
    assert any_warehouse.table_schema(EVENTS.name) is None
    any_warehouse.ensure_table(EVENTS)
    any_warehouse.ensure_table(EVENTS)  # a second call changes nothing
    schema = any_warehouse.table_schema(EVENTS.name)
    assert schema is not None
    assert [(f.name, canonical(f.type)) for f in schema] == [
        (f.name, f.type) for f in EVENTS.schema
    ]
    assert any_warehouse.row_count(EVENTS.name) == 0


def test_rows_of_every_type_round_trip(any_warehouse):
    got = read_events(loaded(any_warehouse))
    assert got == ROWS
    assert json.loads(got[0]["doc"]) == {"k": [1, 2], "s": "é"}
    assert any_warehouse.row_count(EVENTS.name) == 3


def test_replace_where_in_is_idempotent(any_warehouse):
    loaded(any_warehouse)
    changed = [{**ROWS[0], "n": 10}, {**ROWS[1], "n": 20}]
    for _ in range(2):
        written = any_warehouse.replace_where_in(
            EVENTS, "id", ["a", "b"], EVENTS.from_records(changed)
        )
        assert written == 2
    got = {r["id"]: r["n"] for r in read_events(any_warehouse)}
    assert got == {"a": 10, "b": 20, "c": 3}


def test_append_twice_duplicates_and_replace_table_replaces_everything(any_warehouse):
    loaded(any_warehouse)
    loaded(any_warehouse)
    assert any_warehouse.row_count(EVENTS.name) == 6
    assert any_warehouse.replace_table(EVENTS, EVENTS.from_records([ROWS[2]])) == 1
    assert [r["id"] for r in read_events(any_warehouse)] == ["c"]
    assert any_warehouse.replace_table(EVENTS, EVENTS.empty()) == 0
    assert any_warehouse.row_count(EVENTS.name) == 0


def test_delete_where_in(any_warehouse):
    loaded(any_warehouse)
    any_warehouse.delete_where_in(EVENTS, "id", [])
    assert any_warehouse.row_count(EVENTS.name) == 3
    any_warehouse.delete_where_in(EVENTS, "n", [1, 3])
    assert [r["id"] for r in read_events(any_warehouse)] == ["b"]


# One statement, its parameters and the ids it selects, on every backend.
PARAM_CASES = [
    ("string", "id = @v", "b", ["b"]),
    ("int", "n = @v", 3, ["c"]),
    ("float", "x > @v", 1.0, ["b"]),
    ("bool", "ok = @v", True, ["a"]),
    ("timestamp", "happened_at >= @v", dt.datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC), ["b", "c"]),
    ("naive datetime is UTC", "happened_at < @v", dt.datetime(2026, 3, 2, 0, 0), ["a"]),
    ("date", "day = @v", dt.date(2026, 3, 2), ["b"]),
    ("null", "COALESCE(@v, 'a') = id", None, ["a"]),
    ("string array", "id IN (SELECT v FROM UNNEST(@v) AS v)", ["a", "c", "zz"], ["a", "c"]),
    ("int array", "n IN (SELECT v FROM UNNEST(@v) AS v)", [2, 3], ["b", "c"]),
    ("date array", "day IN (SELECT v FROM UNNEST(@v) AS v)", [dt.date(2026, 3, 1)], ["a"]),
    ("empty array", "id IN (SELECT v FROM UNNEST(@v) AS v)", [], []),
]


@pytest.mark.parametrize(
    ("where", "value", "expected"),
    [case[1:] for case in PARAM_CASES],
    ids=[case[0] for case in PARAM_CASES],
)
def test_query_binds_parameters_of_each_type(any_warehouse, where, value, expected):
    loaded(any_warehouse)
    got = any_warehouse.query(
        f"SELECT id FROM {EVENTS.name} WHERE {where} ORDER BY id", {"v": value}
    )
    assert got.column("id").to_pylist() == expected


def test_query_with_several_parameters_returns_arrow(any_warehouse):
    loaded(any_warehouse)
    got = any_warehouse.query(
        f"SELECT id, n, happened_at FROM {EVENTS.name} "
        "WHERE n >= @low AND happened_at < @before AND id IN (SELECT v FROM UNNEST(@ids) AS v) "
        "ORDER BY n",
        {"low": 2, "before": dt.datetime(2026, 4, 1, tzinfo=UTC), "ids": ["b", "c"]},
    )
    assert isinstance(got, pa.Table)
    assert got.column("n").to_pylist() == [2, 3]
    assert canonical(got.schema.field("happened_at").type) == UTC_TS


def test_day_of_is_the_utc_calendar_day(any_warehouse):
    loaded(any_warehouse)
    day = any_warehouse.day_of("happened_at")
    got = any_warehouse.query(f"SELECT id, {day} AS d FROM {EVENTS.name} ORDER BY id").to_pylist()
    # 23:59:59 stays on its day, midnight starts the next.
    assert got == [
        {"id": "a", "d": dt.date(2026, 3, 1)},
        {"id": "b", "d": dt.date(2026, 3, 2)},
        {"id": "c", "d": dt.date(2026, 3, 3)},
    ]
    grouped = any_warehouse.query(
        f"SELECT {day} AS d, COUNT(*) AS n FROM {EVENTS.name} WHERE happened_at >= @since "
        "GROUP BY 1 ORDER BY 1",
        {"since": dt.datetime(2026, 3, 2, tzinfo=UTC)},
    ).to_pylist()
    assert grouped == [{"d": dt.date(2026, 3, 2), "n": 1}, {"d": dt.date(2026, 3, 3), "n": 1}]


def test_table_schema_is_none_for_a_missing_table(any_warehouse):
    assert any_warehouse.table_schema("no_such_table") is None
    assert not any_warehouse.table_exists("no_such_table")
    assert any_warehouse.row_count("no_such_table") == 0


def test_ensure_table_adds_the_columns_a_spec_gained(any_warehouse):
    loaded(any_warehouse)
    grown = replace(
        EVENTS,
        schema=EVENTS.schema.append(pa.field("note", pa.string())).append(
            pa.field("scores", pa.list_(pa.int64()))
        ),
        column_docs={**EVENTS.column_docs, "note": "free text added later"},
    )
    any_warehouse.ensure_table(grown)
    schema = any_warehouse.table_schema(EVENTS.name)
    assert schema.names == [*EVENTS.schema.names, "note", "scores"]
    assert canonical(schema.field("scores").type) == pa.list_(pa.int64())
    if any_warehouse.dialect == "bigquery":
        table = any_warehouse.client.get_table(
            f"{any_warehouse.project}.{any_warehouse.dataset}.{EVENTS.name}"
        )
        docs = {f.name: f.description for f in table.schema}
        assert (docs["id"], docs["note"], docs["scores"]) == (
            "event id",
            "free text added later",
            None,
        )
    any_warehouse.append(grown, grown.from_records([{"id": "d", "note": "new", "scores": [7]}]))
    got = any_warehouse.query(f"SELECT id, note, scores FROM {EVENTS.name} ORDER BY id")
    # BigQuery has no NULL arrays: a REPEATED column added later reads as [] for older rows.
    unset = [] if any_warehouse.dialect == "bigquery" else None
    assert got.to_pylist() == [
        {"id": "a", "note": None, "scores": unset},
        {"id": "b", "note": None, "scores": unset},
        {"id": "c", "note": None, "scores": unset},
        {"id": "d", "note": "new", "scores": [7]},
    ]


def test_load_parquet_loads_many_spool_files(any_warehouse, tmp_path):
    paths = []
    for i in range(12):
        path = tmp_path / f"spool-{i}.parquet"
        rows = [{**ROWS[i % 3], "id": f"{i}-{j}", "n": i * 100 + j} for j in range(i + 1)]
        pq.write_table(EVENTS.from_records(rows), path)
        paths.append(str(path))
    assert any_warehouse.load_parquet(EVENTS, paths) == sum(range(1, 13))
    got = any_warehouse.query(f"SELECT SUM(n) AS total, COUNT(*) AS k FROM {EVENTS.name}")
    assert got.to_pylist() == [
        {"total": sum(i * 100 + j for i in range(12) for j in range(i + 1)), "k": 78}
    ]


def test_bigquery_tables_are_day_partitioned_clustered_and_described(bigquery_warehouse):
    from google.cloud import bigquery

    loaded(bigquery_warehouse)
    client = bigquery_warehouse.client
    table = client.get_table(
        f"{bigquery_warehouse.project}.{bigquery_warehouse.dataset}.{EVENTS.name}"
    )
    assert table.time_partitioning.type_ == bigquery.TimePartitioningType.DAY
    assert table.time_partitioning.field == "happened_at"
    assert table.clustering_fields == ["id", "n"]
    assert table.description == EVENTS.description
    types = {
        f.name: (bigquery.StandardSqlTypeNames[_std(f.field_type)], f.mode) for f in table.schema
    }
    assert types == {
        "id": (bigquery.StandardSqlTypeNames.STRING, "NULLABLE"),
        "n": (bigquery.StandardSqlTypeNames.INT64, "NULLABLE"),
        "x": (bigquery.StandardSqlTypeNames.FLOAT64, "NULLABLE"),
        "ok": (bigquery.StandardSqlTypeNames.BOOL, "NULLABLE"),
        "happened_at": (bigquery.StandardSqlTypeNames.TIMESTAMP, "NULLABLE"),
        "day": (bigquery.StandardSqlTypeNames.DATE, "NULLABLE"),
        "tags": (bigquery.StandardSqlTypeNames.STRING, "REPEATED"),
        "doc": (bigquery.StandardSqlTypeNames.STRING, "NULLABLE"),
    }
    assert next(f for f in table.schema if f.name == "id").description == "event id"


def _std(legacy: str) -> str:
    return {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL"}.get(legacy, legacy)


def test_bigquery_merges_spool_files_into_one_load_job(bigquery_warehouse, tmp_path):
    paths = []
    for i in range(5):
        path = tmp_path / f"spool-{i}.parquet"
        pq.write_table(EVENTS.from_records([{**ROWS[0], "id": str(i)}]), path)
        paths.append(str(path))
    client = bigquery_warehouse.client

    def load_jobs() -> int:
        return sum(
            1
            for job in client.list_jobs(all_users=True)
            if job.job_type == "load" and job.destination.dataset_id == bigquery_warehouse.dataset
        )

    bigquery_warehouse.ensure_table(EVENTS)
    assert load_jobs() == 0
    assert bigquery_warehouse.load_parquet(EVENTS, paths) == 5
    assert load_jobs() == 1


# The ingest runner's scenario (tests/unit/test_ingest_runner.py) on every backend.


SAMPLE_FILES = {
    "sample/good.json": b'{"a": 1}',
    "sample/good.json.gz": gzip.compress(b'{"a": 2}', mtime=0),
    "sample/bad.json": b'{"a":',
    "sample/empty.json": b"",
    "sample/notes.txt": b"hello",
    "sample/fake.gz": b"\x1f\x8bnot gzip at all",
    "sample/copy.json": b'{"a": 1}',
}


def _sample_landing(root) -> LandingZone:
    for rel, data in SAMPLE_FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return LandingZone(uri=str(root))


def ingest_outcome(warehouse: Warehouse) -> dict[str, list[dict]]:
    """Everything the runner wrote, minus what differs between runs (times, run ids)."""
    return {
        "sample_rows": warehouse.query(
            "SELECT a, source_file FROM sample_rows ORDER BY a, source_file"
        ).to_pylist(),
        "ingest_rejects": warehouse.query(
            "SELECT source_file, detected_format, error, digest, stream, size_bytes "
            "FROM ingest_rejects ORDER BY source_file"
        ).to_pylist(),
        "ingested_files": warehouse.query(
            "SELECT ingest_key, digest, source_file, stream, detected_format, status, "
            "size_bytes, rows_written FROM ingested_files ORDER BY source_file, ingest_key"
        ).to_pylist(),
    }


def ingest_scenario(root, warehouse: Warehouse) -> list[tuple[int, int, int, int]]:
    """The runner's unit scenario: ingest, ingest again, change one file, ingest again."""
    landing = _sample_landing(root)
    counts = []
    for step in range(3):
        if step == 2:
            (root / "sample" / "good.json").write_bytes(b'{"a": 7}')
        report = ingest_stream(SAMPLE_STREAM, landing, warehouse, workers=1)
        counts.append(
            (report.files_seen, report.files_ingested, report.files_rejected, report.files_skipped)
        )
    return counts


def test_ingest_runner_gives_the_same_tables_on_every_backend(any_warehouse, tmp_path):
    counts = ingest_scenario(tmp_path / "landing", any_warehouse)
    assert counts == [(7, 3, 4, 0), (7, 0, 0, 7), (7, 1, 0, 6)]

    outcome = ingest_outcome(any_warehouse)
    assert outcome["sample_rows"] == [
        {"a": 1, "source_file": "sample/copy.json"},
        {"a": 2, "source_file": "sample/good.json.gz"},
        {"a": 7, "source_file": "sample/good.json"},  # its earlier row was replaced
    ]
    errors = {r["source_file"]: r["error"] for r in outcome["ingest_rejects"]}
    assert errors["sample/bad.json"].startswith("sample/bad.json: sample-json: invalid JSON")
    assert errors["sample/notes.txt"] == (
        "sample/notes.txt: unknown: unrecognised format (expected one of: sample-json); "
        "starts 'hello'"
    )
    assert errors["sample/fake.gz"].startswith(
        "sample/fake.gz: gzip: the file starts like gzip but cannot be inflated ("
    )
    assert errors["sample/empty.json"] == (
        "sample/empty.json: unknown: the file is empty (0 bytes of content)"
    )

    from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse

    reference = DuckDBWarehouse(path=str(tmp_path / "reference.duckdb"))
    assert ingest_scenario(tmp_path / "reference-landing", reference) == counts
    assert outcome == ingest_outcome(reference)


def test_bigquery_loads_a_batch_over_the_multipart_limit(bigquery_warehouse, tmp_path):
    """Over 5 MiB the client switches to a resumable upload; the rows must all arrive."""
    import os

    n = 90_000
    noise = os.urandom(64 * n).hex()  # incompressible, so the Parquet file stays large
    ids = [noise[i * 128 : (i + 1) * 128] for i in range(n)]
    path = tmp_path / "big.parquet"
    pq.write_table(EVENTS.from_records([{"id": i, "n": k} for k, i in enumerate(ids)]), path)
    assert path.stat().st_size > 5 * 1024 * 1024
    assert bigquery_warehouse.load_parquet(EVENTS, [str(path)]) == n
    got = bigquery_warehouse.query(
        f"SELECT COUNT(*) AS k, SUM(n) AS total, MAX(id) AS top FROM {EVENTS.name}"
    ).to_pylist()
    assert got == [{"k": n, "total": n * (n - 1) // 2, "top": max(ids)}]


def test_an_asset_writes_through_the_warehouse_resource(any_warehouse):
    @dg.asset(name=EVENTS.name)
    def contract_events(warehouse: Warehouse) -> dg.MaterializeResult:
        written = warehouse.replace_table(EVENTS, EVENTS.from_records(ROWS))
        return dg.MaterializeResult(metadata={"dagster/row_count": written})

    for _ in range(2):  # a second run replaces, it does not add
        result = dg.materialize([contract_events], resources={"warehouse": any_warehouse})
        assert result.success
    [event] = result.get_asset_materialization_events()
    assert event.materialization.metadata["dagster/row_count"].value == 3
    assert any_warehouse.row_count(EVENTS.name) == 3


def test_bigquery_credentials_come_from_a_base64_key_in_the_environment(monkeypatch):
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from cicl_assets.warehouse.bigquery_warehouse import BigQueryWarehouse

    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    key = {
        "type": "service_account",
        "project_id": "cicl-prod",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": "cicl@cicl-prod.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    monkeypatch.delenv("BIGQUERY_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("BQ_KEY_UNDER_TEST", base64.b64encode(json.dumps(key).encode()).decode())

    @dg.asset
    def credentials_probe(warehouse: Warehouse) -> str:
        return warehouse.client._credentials.service_account_email

    warehouse = BigQueryWarehouse(
        project="cicl-prod", gcp_credentials=dg.EnvVar("BQ_KEY_UNDER_TEST")
    )
    result = dg.materialize([credentials_probe], resources={"warehouse": warehouse})
    assert result.output_for_node("credentials_probe") == key["client_email"]
