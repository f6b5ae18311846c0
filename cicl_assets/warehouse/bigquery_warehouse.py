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

Each call has one deadline, ``timeout_s`` from its start: jobs carry it as their job timeout,
every API request and the client's retries of it stop at it (a failed job is never re-run), and
a job still running then is cancelled before ``QueryTimeout`` is raised.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import os
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import requests
from google.api_core.exceptions import DeadlineExceeded, NotFound, RetryError
from google.api_core.retry import Retry
from google.cloud import bigquery
from pydantic import Field, PrivateAttr

from cicl_assets.secrets import parse_secret, resolve_secret
from cicl_assets.settings import cloud_clients, service_account_info
from cicl_assets.warehouse import bigquery_catalog, bigquery_writes
from cicl_assets.warehouse.base import QueryTimeout, Warehouse
from cicl_assets.warehouse.batch import IngestBatch
from cicl_assets.warehouse.bigquery_types import (
    arrow_field,
    bigquery_field,
    ddl_type,
    query_parameter,
)
from cicl_assets.warehouse.tables import CARRIED_BY, TableSpec

MAX_CLUSTER_COLUMNS = 4  # BigQuery's limit
CANCEL_TIMEOUT_S = 10.0
# Rows asked for with a query's completion, so the first page needs no request of its own; a
# response also stops at 10 MB (BigQuery's limit), the rest comes page by page.
ROWS_PER_PAGE = 50_000
_TIMED_OUT = (
    concurrent.futures.TimeoutError,
    RetryError,
    DeadlineExceeded,
    requests.exceptions.Timeout,
)


class Deadline:
    """The time left to one warehouse call, handed to each request and retry it makes."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return max(self.end - time.monotonic(), 0.01)

    def retry(self) -> Retry:
        return bigquery.DEFAULT_RETRY.with_timeout(self.left())

    def options(self) -> dict[str, Any]:
        return {"retry": self.retry(), "timeout": self.left()}


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
    _endpoint: str | None = PrivateAttr(default=None)

    @property
    def dialect(self) -> str:
        return "bigquery"

    @property
    def target(self) -> str:
        return f"{self.project}.{self.dataset}"

    def day_of(self, column: str) -> str:
        return f"DATE({column})"

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

    @property
    def endpoint(self) -> str:
        """Which BigQuery the client talks to: the emulator's URL, else the service. Read once,
        with the client: the catalog is keyed by it on every table lookup."""
        if self._endpoint is None:
            self._endpoint = cloud_clients().bigquery_emulator_host or "bigquery.googleapis.com"
        return self._endpoint

    def known_columns(self, name: str) -> frozenset[str] | None:
        """The columns of a table this process created or read, else None."""
        fields = bigquery_catalog.table_fields(self.endpoint, self._table_id(name))
        return None if fields is None else frozenset(f.name for f in fields)

    def _remember(self, name: str, fields: Iterable[bigquery.SchemaField]) -> None:
        bigquery_catalog.remember_table(self.endpoint, self._table_id(name), fields)

    def _forget(self, name: str) -> None:
        bigquery_catalog.forget_table(self.endpoint, self._table_id(name))

    def drop_dataset(self) -> None:
        """Delete the dataset and every table in it (tests and throwaway targets)."""
        with self._bounded(f"deleting {self.target}") as deadline:
            self.client.delete_dataset(
                self.target, delete_contents=True, not_found_ok=True, **deadline.options()
            )
        bigquery_catalog.forget_dataset(self.endpoint, self.target)

    @contextlib.contextmanager
    def _bounded(self, what: str) -> Iterator[Deadline]:
        """One call's deadline; running past it is a QueryTimeout naming ``what``."""
        deadline = Deadline(self.timeout_s)
        try:
            yield deadline
        except _TIMED_OUT as exc:
            # A retried request that kept failing (a 500, a refused connection) says why.
            cause = exc.cause if isinstance(exc, RetryError) else None
            last = f"{type(cause).__name__}: {cause}" if cause is not None else None
            raise QueryTimeout("bigquery", self.timeout_s, what, last) from exc

    def _job_result(self, job: Any, deadline: Deadline, rows: bool = False) -> Any:
        """Wait for a job within the deadline; a job still running past it is cancelled. With
        ``rows``, a query's rows come with its completion: one request when they fit a page."""
        if not rows and job.state == "DONE" and job.error_result is None:
            # Its insert answered it finished and succeeded (the emulator runs a job as it
            # accepts it): no poll.
            return None
        # A query job that failed is not run again (the client re-runs some by default).
        rerun = {"job_retry": None} if isinstance(job, bigquery.QueryJob) else {}
        if rows:
            rerun["page_size"] = ROWS_PER_PAGE
        try:
            return job.result(retry=deadline.retry(), timeout=deadline.left(), **rerun)
        except _TIMED_OUT:
            with contextlib.suppress(Exception):
                self.client.cancel_job(
                    job.job_id, location=job.location, retry=None, timeout=CANCEL_TIMEOUT_S
                )
            raise

    def _run_query(
        self, sql: str, params: dict[str, Any] | None, deadline: Deadline, rows: bool = False
    ) -> Any:
        # A query job (jobs.insert), not jobs.query: the emulator's jobs.query leaves unqualified
        # table names unresolved (it ignores defaultDataset) and answers a failed query as a
        # success, so the path every test runs would not be the one production takes.
        config = self._job_config(params, deadline)
        job = self.client.query(sql, job_config=config, job_retry=None, **deadline.options())
        return self._job_result(job, deadline, rows)

    def _ensure_dataset(self, deadline: Deadline) -> None:
        if bigquery_catalog.dataset_known(self.endpoint, self.target):
            return
        ds = bigquery.Dataset(self.target)
        ds.location = self.location
        self.client.create_dataset(ds, exists_ok=True, **deadline.options())
        bigquery_catalog.remember_dataset(self.endpoint, self.target)

    def ensure_table(self, spec: TableSpec) -> None:
        with self._bounded(f"creating or extending {self.target}.{spec.name}") as deadline:
            self._ensure_table(spec, deadline)

    def _ensure_table(self, spec: TableSpec, deadline: Deadline) -> None:
        known = self.known_columns(spec.name)
        if known is not None and known.issuperset(spec.schema.names):
            return
        self._ensure_dataset(deadline)
        table_id = self._table_id(spec.name)
        try:
            table = self.client.get_table(table_id, **deadline.options())
        except NotFound:
            created = self.client.create_table(
                self._new_table(spec), exists_ok=True, **deadline.options()
            )
            # exists_ok: a table another process created meanwhile is returned as it is.
            self._remember(spec.name, created.schema)
            if not set(spec.schema.names) <= {f.name for f in created.schema}:
                self._forget(spec.name)
                self._ensure_table(spec, deadline)
            return
        existing = {f.name for f in table.schema}
        missing = [bigquery_field(f) for f in spec.schema if f.name not in existing]
        if not missing:
            self._remember(spec.name, table.schema)
            return
        # DDL, one column a statement, is what the emulator applies to its storage; BigQuery
        # accepts it too. Adding columns is rare (a spec grew), so the extra jobs cost little.
        for f in missing:
            self._run_query(
                f"ALTER TABLE `{table_id}` ADD COLUMN IF NOT EXISTS {f.name} {ddl_type(f)}",
                None,
                deadline,
            )
        # A schema patch then adds the new columns' descriptions (DDL here carries none) and
        # makes the emulator's catalog list them; BigQuery lists them after the DDL already.
        table = self.client.get_table(table_id, **deadline.options())
        listed = {f.name for f in table.schema}
        if any(f.name not in listed or spec.column_docs.get(f.name) for f in missing):
            wanted = {
                f.name: bigquery_field(spec.schema.field(f.name), spec.column_docs.get(f.name))
                for f in missing
            }
            table.schema = [wanted.pop(f.name, f) for f in table.schema] + list(wanted.values())
            table = self.client.update_table(table, ["schema"], **deadline.options())
        self._remember(spec.name, table.schema)

    def _new_table(self, spec: TableSpec) -> bigquery.Table:
        table = bigquery.Table(
            self._table_id(spec.name),
            schema=[bigquery_field(f, spec.column_docs.get(f.name)) for f in spec.schema],
        )
        table.description = spec.description
        if spec.time_column:
            table.time_partitioning = bigquery.TimePartitioning(
                type_=bigquery.TimePartitioningType.DAY,
                field=spec.time_column,
                expiration_ms=(
                    spec.partition_expiration_days * 86_400_000
                    if spec.partition_expiration_days
                    else None
                ),
            )
            table.require_partition_filter = spec.require_partition_filter
        if spec.cluster_by:
            table.clustering_fields = list(spec.cluster_by[:MAX_CLUSTER_COLUMNS])
        return table

    def load_parquet(self, spec: TableSpec, paths: Sequence[str]) -> int:
        what = f"loading {len(paths)} Parquet files into {self.target}.{spec.name}"
        with self._bounded(what) as deadline:
            return self._load_parquet(spec, paths, deadline)

    def _load_parquet(self, spec: TableSpec, paths: Sequence[str], deadline: Deadline) -> int:
        self._ensure_table(spec, deadline)
        if not paths:
            return 0
        # Rows appended to a stream table outside an ingest commit carry no content: the file
        # still names the table's provenance column, as a load job wants every column.
        if CARRIED_BY not in spec.schema.names and CARRIED_BY in (
            self.known_columns(spec.name) or ()
        ):
            spec = spec.with_provenance()
        with tempfile.TemporaryDirectory(prefix="cicl-bq-load-") as tmp:
            merged = os.path.join(tmp, "load.parquet")
            rows = _merge_parquet(spec, paths, merged)
            if rows == 0:
                return 0
            config = bigquery.LoadJobConfig(
                source_format=bigquery.SourceFormat.PARQUET,
                write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
                job_timeout_ms=int(self.timeout_s * 1000),
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
                    timeout=deadline.left(),
                )
            # A Parquet load is all or nothing: success means every row landed.
            self._job_result(job, deadline)
            return rows

    # Writes that must be atomic live in bigquery_writes; these delegate to it.

    def commit_ingest(self, batch: IngestBatch) -> dict[str, int]:
        return bigquery_writes.commit_ingest(self, batch)

    def replace_where_in(
        self, spec: TableSpec, column: str, values: Sequence[Any], data: Any
    ) -> int:
        return bigquery_writes.replace(self, spec, data, column, values)

    def replace_table(self, spec: TableSpec, data: Any) -> int:
        return bigquery_writes.replace(self, spec, data, None, ())

    def replace_range(
        self,
        spec: TableSpec,
        start: dt.datetime,
        end: dt.datetime,
        data: Any,
        column: str | None = None,
        values: Sequence[Any] = (),
    ) -> int:
        return bigquery_writes.replace(self, spec, data, column, values, (start, end))

    def upsert(self, spec: TableSpec, data: Any) -> int:
        return bigquery_writes.upsert(self, spec, data)

    def _job_config(
        self, params: dict[str, Any] | None, deadline: Deadline
    ) -> bigquery.QueryJobConfig:
        self._ensure_dataset(deadline)
        return bigquery.QueryJobConfig(
            default_dataset=self.target,
            query_parameters=[query_parameter(k, v) for k, v in (params or {}).items()],
            job_timeout_ms=int(self.timeout_s * 1000),
        )

    def query(self, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
        with self._bounded(sql) as deadline:
            rows = self._run_query(sql, params, deadline, rows=True)
            return rows.to_arrow(create_bqstorage_client=False)

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        with self._bounded(sql) as deadline:
            self._run_query(sql, params, deadline)

    def table_schema(self, name: str) -> pa.Schema | None:
        fields = bigquery_catalog.table_fields(self.endpoint, self._table_id(name))
        if fields is None:
            with self._bounded(f"reading the schema of {self.target}.{name}") as deadline:
                try:
                    table = self.client.get_table(self._table_id(name), **deadline.options())
                except NotFound:
                    return None
            fields = tuple(table.schema)
            self._remember(name, fields)
        return pa.schema([arrow_field(f) for f in fields])

    def stored_rows(self, name: str) -> int:
        # The table resource's numRows: no query, no bytes billed, and allowed on a table that
        # requires a partition filter (a COUNT(*) of it is refused).
        with self._bounded(f"reading the statistics of {self.target}.{name}") as deadline:
            try:
                table = self.client.get_table(self._table_id(name), **deadline.options())
            except NotFound:
                return 0
        return int(table.num_rows or 0)

    def table_row_counts(self) -> dict[str, int]:
        # COUNT(*) of a whole table is answered from BigQuery's metadata (0 bytes billed) and,
        # unlike a table resource's numRows, is exact after multi-statement transactions on
        # every BigQuery (the emulator leaves numRows as the last load job set it).
        with self._bounded(f"listing the tables of {self.target}") as deadline:
            try:
                listed = list(self.client.list_tables(self.target, **deadline.options()))
            except NotFound:
                return {}
        names = sorted(t.table_id for t in listed if t.table_type == "TABLE")
        if not names:
            return {}
        counts = " UNION ALL ".join(
            f"SELECT '{name}' AS name, COUNT(*) AS n FROM `{self._table_id(name)}`"
            for name in names
        )
        found = {r["name"]: int(r["n"]) for r in self.query(counts).to_pylist()}
        return {name: found[name] for name in names}


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
