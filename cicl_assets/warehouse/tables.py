"""Table specifications: the analysts' data model, declared once for both warehouses."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

UTC_TS = pa.timestamp("us", tz="UTC")
JSON = pa.string()  # JSON documents are stored as text so both warehouses hold them the same way
CARRIED_BY = "carried_by"
CARRIED_BY_FIELD = pa.field(CARRIED_BY, pa.list_(pa.string()))
CARRIED_BY_DOC = (
    "keys of the current landing contents that carry this row (the content's SHA-256 where the "
    "stream's rows carry their own identity, else path#SHA-256); the row goes when none is left"
)
# Partition name of rows whose time column is NULL (BigQuery's own name for that partition).
NULL_PARTITION = "__NULL__"


@dataclass(frozen=True)
class TableSpec:
    """A warehouse table: name, Arrow schema, description stating the grain, physical layout.

    ``time_column`` day-partitions the table in BigQuery; ``cluster_by`` clusters it.
    ``require_partition_filter`` makes BigQuery refuse a query of the table without a predicate
    on ``time_column``. ``json_columns`` hold JSON text. ``verbatim_columns`` (identifiers, digests) are stored as
    parsed; every other string column is redacted before it is spooled (``ingest.redact_table``).

    Tables an ingest stream fills declare a row ``identity``: the table holds each identity once
    per partition (day of ``time_column``); when two contents carry it, the newer content's
    version wins unless only the older one has the ``prefer_present`` columns set (a span with
    its end time beats one without). Without an identity, rows belong to the content that
    carried them and are never merged across contents. See docs/ingestion.md.
    """

    name: str
    schema: pa.Schema
    description: str
    time_column: str | None = None
    cluster_by: tuple[str, ...] = ()
    require_partition_filter: bool = False
    json_columns: tuple[str, ...] = ()
    # Columns whose values usually repeat from row to row (a resource's attributes on each of its
    # spans): a hint for the backend's compression.
    repeating_columns: tuple[str, ...] = ()
    verbatim_columns: tuple[str, ...] = ()
    column_docs: dict[str, str] = field(default_factory=dict)
    identity: tuple[str, ...] = ()
    prefer_present: tuple[str, ...] = ()
    # BigQuery drops a partition this many days after its day of ``time_column`` (retained
    # evidence only; the other backends leave deletion to the evidence_retention asset).
    partition_expiration_days: int | None = None

    def with_provenance(self) -> TableSpec:
        """This spec with ``carried_by``: the keys of the landing contents that carry each row,
        kept sorted so the same contents give the same list whatever order they came in."""
        if CARRIED_BY in self.schema.names:
            return self
        docs = {**self.column_docs, CARRIED_BY: CARRIED_BY_DOC}
        return replace(self, schema=self.schema.append(CARRIED_BY_FIELD), column_docs=docs)

    def empty(self) -> pa.Table:
        return self.schema.empty_table()

    def from_records(self, records: list[dict[str, Any]]) -> pa.Table:
        """Build an Arrow table of this spec from dict rows; missing keys become nulls."""
        columns = {
            f.name: pa.array([r.get(f.name) for r in records], type=f.type) for f in self.schema
        }
        return pa.table(columns, schema=self.schema)

    def conform(self, data: pa.Table | pa.RecordBatch) -> pa.Table:
        """Reorder/cast columns to this spec, adding missing ones as nulls; extra ones are an error."""
        table = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
        extra = set(table.column_names) - set(self.schema.names)
        if extra:
            raise ValueError(f"{self.name}: columns not in the table spec: {sorted(extra)}")
        arrays = []
        for f in self.schema:
            if f.name in table.column_names:
                col = table.column(f.name)
                arrays.append(col if col.type == f.type else col.cast(f.type))
            else:
                arrays.append(pa.nulls(table.num_rows, type=f.type))
        return pa.Table.from_arrays(arrays, schema=self.schema)


INGESTED_FILES = TableSpec(
    name="ingested_files",
    description=(
        "One row per landing-zone file's current content as an ingestion stream read it "
        "(ingested, rejected, or skipped as the same content as a file already ingested), keyed "
        "by `ingest_key`: the file's path and the SHA-256 digest of its content; plus, until "
        "the end of the stream's next run, the contents a changed file held before (status "
        "`superseded`)."
    ),
    schema=pa.schema(
        [
            ("ingest_key", pa.string()),
            ("digest", pa.string()),
            ("source_file", pa.string()),
            ("stream", pa.string()),
            ("detected_format", pa.string()),
            ("status", pa.string()),
            ("size_bytes", pa.int64()),
            ("rows_written", pa.int64()),
            ("ingested_at", UTC_TS),
            ("run_id", pa.string()),
            ("content_key", pa.string()),
            ("partitions", pa.list_(pa.string())),
            ("listing_version", pa.string()),
        ]
    ),
    time_column="ingested_at",
    cluster_by=("stream",),
    column_docs={
        "content_key": "what the rows of this content carry in `carried_by`",
        "listing_version": "what the landing listing said of the content read (local: size, "
        "mtime, inode; gs://: generation and hash): an unchanged path is skipped unread",
        "partitions": "days (YYYY-MM-DD, or __NULL__) holding rows of this content",
    },
)

INGEST_REJECTS = TableSpec(
    name="ingest_rejects",
    description=(
        "One row per landing-zone file that could not be ingested, with the format that was "
        "tried and a message a person can act on."
    ),
    schema=pa.schema(
        [
            ("source_file", pa.string()),
            ("detected_format", pa.string()),
            ("error", pa.string()),
            ("at", UTC_TS),
            ("digest", pa.string()),
            ("ingest_key", pa.string()),
            ("stream", pa.string()),
            ("size_bytes", pa.int64()),
            ("run_id", pa.string()),
        ]
    ),
    time_column="at",
    cluster_by=("stream",),
)


def utcnow() -> datetime:
    return datetime.now(UTC)
