"""BigQuery warehouse: the production backend, one dataset holding every cicl table.

Why not dagster-gcp's ``BigQueryResource``: its ``get_client()`` hands out a fresh client per
call and, when given a key, writes it to a temporary file and points the process-wide
``GOOGLE_APPLICATION_CREDENTIALS`` at it for the duration, which races between threads; and it
has no notion of the emulator's anonymous credentials. This resource keeps the same
configuration shape (``project``, ``location``, a base64 service-account key in
``gcp_credentials`` set through ``dagster.EnvVar``) but builds one client itself:

- ``BIGQUERY_EMULATOR_HOST`` set: anonymous credentials (the client reads the host itself);
- ``gcp_credentials`` set: that service-account key, held in memory only; a ``gcp-sm://``
  reference is read from Secret Manager when the client is built;
- neither: Application Default Credentials (workload identity on GKE).

Writes go through Parquet load jobs (never streaming inserts, whose rows DML cannot touch for
a while); many small spool files are merged into one file first so a batch costs one job.
Query results come back as Arrow over the REST API, without the Storage Read API.
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
import tempfile
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from google.api_core.exceptions import NotFound
from google.cloud import bigquery
from pydantic import Field, PrivateAttr

from cicl_assets.secrets import parse_secret, resolve_secret
from cicl_assets.settings import cloud_clients, service_account_info
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.tables import UTC_TS, TableSpec

MAX_CLUSTER_COLUMNS = 4  # BigQuery's limit


def bigquery_field(f: pa.Field, description: str | None = None) -> bigquery.SchemaField:
    """The BigQuery column for an Arrow field: lists become REPEATED columns."""
    t = f.type
    mode = "NULLABLE"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        mode = "REPEATED"
        t = t.value_type
    return bigquery.SchemaField(f.name, _scalar_type(t, f.name), mode=mode, description=description)


def _scalar_type(t: pa.DataType, name: str) -> str:
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "STRING"
    if pa.types.is_integer(t):
        return "INT64"
    if pa.types.is_floating(t):
        return "FLOAT64"
    if pa.types.is_boolean(t):
        return "BOOL"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP" if t.tz else "DATETIME"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "BYTES"
    if pa.types.is_decimal(t):
        return "NUMERIC"
    raise TypeError(f"column {name!r}: no BigQuery type for Arrow type {t}")


def _ddl_type(f: bigquery.SchemaField) -> str:
    return f"ARRAY<{f.field_type}>" if f.mode == "REPEATED" else f.field_type


_ARROW_OF = {
    "STRING": pa.string(),
    "JSON": pa.string(),
    "INT64": pa.int64(),
    "INTEGER": pa.int64(),
    "FLOAT64": pa.float64(),
    "FLOAT": pa.float64(),
    "BOOL": pa.bool_(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP": UTC_TS,
    "DATETIME": pa.timestamp("us"),
    "DATE": pa.date32(),
    "BYTES": pa.binary(),
    "NUMERIC": pa.decimal128(38, 9),
}


def arrow_field(f: bigquery.SchemaField) -> pa.Field:
    if f.field_type not in _ARROW_OF:
        raise TypeError(f"column {f.name!r}: BigQuery type {f.field_type} has no Arrow mapping")
    t = _ARROW_OF[f.field_type]
    return pa.field(f.name, pa.list_(t) if f.mode == "REPEATED" else t)


def _param_type(value: Any) -> str:
    # bool before int: True is an int to Python, a BOOL to BigQuery.
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, dt.datetime):
        return "TIMESTAMP"
    if isinstance(value, dt.date):
        return "DATE"
    if isinstance(value, bytes):
        return "BYTES"
    if isinstance(value, decimal.Decimal):
        return "NUMERIC"
    raise TypeError(f"no BigQuery parameter type for {type(value).__name__} value {value!r}")


def _as_utc(value: Any) -> Any:
    # Naive datetimes mean UTC here, as they do on the DuckDB side (its session time zone is UTC).
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def query_parameter(name: str, value: Any) -> bigquery.ScalarQueryParameter:
    """A typed ``@name`` parameter; lists become ARRAY parameters typed by their elements."""
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_as_utc(v) for v in value]
        types = {_param_type(v) for v in items if v is not None}
        if types == {"INT64", "FLOAT64"}:
            types = {"FLOAT64"}
        if len(types) > 1:
            raise TypeError(f"parameter @{name} mixes element types {sorted(types)}")
        # An empty list has no element to type it by; STRING is the usual case (ids, paths).
        return bigquery.ArrayQueryParameter(name, types.pop() if types else "STRING", items)
    if value is None:
        return bigquery.ScalarQueryParameter(name, "STRING", None)
    return bigquery.ScalarQueryParameter(name, _param_type(value), _as_utc(value))


class BigQueryWarehouse(Warehouse):
    """Tables live in one BigQuery dataset; SQL names them unqualified."""

    project: str = Field(description="GCP project that owns the dataset and runs the jobs")
    dataset: str = Field(default="cicl", description="dataset holding the tables")
    location: str = Field(default="US", description="dataset and job location")
    gcp_credentials: str | None = Field(
        default=None,
        description=(
            "base64-encoded service-account key or a gcp-sm:// reference to one, set only "
            "through dagster.EnvVar; when unset, Application Default Credentials are used "
            "(workload identity on GKE)"
        ),
    )

    _client: bigquery.Client | None = PrivateAttr(default=None)
    _dataset_ready: bool = PrivateAttr(default=False)

    @property
    def dialect(self) -> str:
        return "bigquery"

    @property
    def client(self) -> bigquery.Client:
        if self._client is None:
            self._client = bigquery.Client(
                project=self.project, location=self.location, credentials=self._credentials()
            )
        return self._client

    def _credentials(self) -> Any:
        if cloud_clients().bigquery_emulator_host:
            from google.auth.credentials import AnonymousCredentials

            return AnonymousCredentials()
        if self.gcp_credentials:
            from google.oauth2 import service_account

            key = parse_secret("BigQueryWarehouse.gcp_credentials", self.gcp_credentials)
            info = service_account_info(resolve_secret(key))
            return service_account.Credentials.from_service_account_info(info)
        return None

    def _table_id(self, name: str) -> str:
        return f"{self.project}.{self.dataset}.{name}"

    def _ensure_dataset(self) -> None:
        if self._dataset_ready:
            return
        ds = bigquery.Dataset(f"{self.project}.{self.dataset}")
        ds.location = self.location
        self.client.create_dataset(ds, exists_ok=True)
        self._dataset_ready = True

    def ensure_table(self, spec: TableSpec) -> None:
        self._ensure_dataset()
        try:
            table = self.client.get_table(self._table_id(spec.name))
        except NotFound:
            self.client.create_table(self._new_table(spec), exists_ok=True)
            return
        existing = {f.name for f in table.schema}
        missing = [bigquery_field(f) for f in spec.schema if f.name not in existing]
        if not missing:
            return
        # DDL, one column a statement, is what the emulator applies to its storage; BigQuery
        # accepts it too. Adding columns is rare (a spec grew), so the extra jobs cost little.
        for f in missing:
            self.client.query(
                f"ALTER TABLE `{self._table_id(spec.name)}` "
                f"ADD COLUMN IF NOT EXISTS {f.name} {_ddl_type(f)}"
            ).result()
        # A schema patch then adds the new columns' descriptions (DDL here carries none) and
        # makes the emulator's catalog list them; BigQuery lists them after the DDL already.
        table = self.client.get_table(self._table_id(spec.name))
        listed = {f.name for f in table.schema}
        if any(f.name not in listed or spec.column_docs.get(f.name) for f in missing):
            wanted = {
                f.name: bigquery_field(spec.schema.field(f.name), spec.column_docs.get(f.name))
                for f in missing
            }
            table.schema = [wanted.pop(f.name, f) for f in table.schema] + list(wanted.values())
            self.client.update_table(table, ["schema"])

    def _new_table(self, spec: TableSpec) -> bigquery.Table:
        table = bigquery.Table(
            self._table_id(spec.name),
            schema=[bigquery_field(f, spec.column_docs.get(f.name)) for f in spec.schema],
        )
        table.description = spec.description
        if spec.time_column:
            table.time_partitioning = bigquery.TimePartitioning(
                type_=bigquery.TimePartitioningType.DAY, field=spec.time_column
            )
        if spec.cluster_by:
            table.clustering_fields = list(spec.cluster_by[:MAX_CLUSTER_COLUMNS])
        return table

    def load_parquet(self, spec: TableSpec, paths: Sequence[str]) -> int:
        self.ensure_table(spec)
        if not paths:
            return 0
        with tempfile.TemporaryDirectory(prefix="cicl-bq-load-") as tmp:
            merged = os.path.join(tmp, "load.parquet")
            rows = _merge_parquet(spec, paths, merged)
            if rows == 0:
                return 0
            config = bigquery.LoadJobConfig(
                source_format=bigquery.SourceFormat.PARQUET,
                write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
            )
            # Parquet LIST columns load as REPEATED fields, not as records of a `list` field.
            config.parquet_options = bigquery.ParquetOptions()
            config.parquet_options.enable_list_inference = True
            # With the size known, files under 5 MiB go up in one multipart request; larger
            # ones in a resumable upload.
            with open(merged, "rb") as fh:
                job = self.client.load_table_from_file(
                    fh,
                    self._table_id(spec.name),
                    size=os.path.getsize(merged),
                    job_config=config,
                )
            job.result()  # a Parquet load is all or nothing: success means every row landed
            return rows

    def _job_config(self, params: dict[str, Any] | None) -> bigquery.QueryJobConfig:
        self._ensure_dataset()
        return bigquery.QueryJobConfig(
            default_dataset=f"{self.project}.{self.dataset}",
            query_parameters=[query_parameter(k, v) for k, v in (params or {}).items()],
        )

    def query(self, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
        job = self.client.query(sql, job_config=self._job_config(params))
        return job.result().to_arrow(create_bqstorage_client=False)

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        self.client.query(sql, job_config=self._job_config(params)).result()

    def table_schema(self, name: str) -> pa.Schema | None:
        try:
            table = self.client.get_table(self._table_id(name))
        except NotFound:
            return None
        return pa.schema([arrow_field(f) for f in table.schema])


def _merge_parquet(spec: TableSpec, paths: Sequence[str], out: str) -> int:
    """Stream every spool file's row groups into one Parquet file with the spec's schema."""
    rows = 0
    with pq.ParquetWriter(out, spec.schema, compression="zstd") as writer:
        for path in paths:
            source = pq.ParquetFile(path)
            for i in range(source.num_row_groups):
                table = spec.conform(source.read_row_group(i))
                if table.num_rows:
                    writer.write_table(table)
                    rows += table.num_rows
    return rows
