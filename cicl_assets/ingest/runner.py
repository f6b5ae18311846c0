"""Ingest the new files of one landing-zone stream into warehouse tables.

Each file is read under a size cap, gunzipped under a bomb guard, recognised by content and
parsed into per-table Parquet spool files; nothing of a file reaches the warehouse unless the
whole file parsed. A file is skipped when the same path with the same content digest was already
ingested; for streams whose rows carry their own identity (spans), also when the same content was
ingested under another path. A path whose content changed is ingested again, replacing its rows.
Spooled files
are loaded in groups: delete the group's ``source_file`` rows (left by an interrupted earlier
attempt), append, then record the files in ``ingested_files``; so re-running never duplicates.
Parsing runs in worker processes; only the parent talks to the warehouse.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from cicl_assets.ingest.content import (
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_INFLATED_BYTES,
    ParseError,
    Sniff,
    maybe_gunzip,
)
from cicl_assets.ingest.formats import FileFormat, ParsedRows, detect_format
from cicl_assets.ingest.redact import redact_text
from cicl_assets.landing.zone import FileTooLargeError, LandingObject, LandingZone
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.tables import INGEST_REJECTS, INGESTED_FILES, TableSpec, utcnow

# Rows per load. Fewer, bigger loads cost DuckDB less: appending after a partly filled row group
# rewrites it (1M spans, 2 workers: 250k -> 500k rows a load took 91.8k -> 100.2k spans/s and the
# file from 82 to 78 bytes a span). Spools are on disk, so this does not grow memory.
FLUSH_ROWS = 500_000
FLUSH_FILES = 2_000
PARQUET_ROW_GROUP = 128 * 1024


@dataclass(frozen=True)
class StreamSpec:
    """An ingest stream: a landing prefix, the formats found there, the tables they fill."""

    name: str
    prefix: str
    formats: tuple[FileFormat, ...]
    tables: tuple[TableSpec, ...]
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_inflated_bytes: int = DEFAULT_MAX_INFLATED_BYTES
    # True where the same bytes under another path are the same data (a span batch copied twice);
    # False where the path gives the rows their meaning (one pip-audit.json per pipeline run).
    dedupe_content: bool = False

    def table(self, name: str) -> TableSpec:
        for spec in self.tables:
            if spec.name == name:
                return spec
        raise ParseError(f"parser produced rows for unknown table {name!r}")


@dataclass
class FileOutcome:
    source_file: str
    digest: str | None
    size: int
    status: str  # ingested | rejected | already_ingested | same_content_as_ingested
    detected_format: str | None = None
    error: str | None = None
    rows: dict[str, int] = field(default_factory=dict)
    spools: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class IngestReport:
    stream: str
    files_seen: int = 0
    files_ingested: int = 0
    files_skipped: int = 0
    files_rejected: int = 0
    rows_by_table: dict[str, int] = field(default_factory=dict)
    rows_by_format: dict[str, int] = field(default_factory=dict)
    rejects: list[FileOutcome] = field(default_factory=list)
    bytes_read: int = 0

    @property
    def rows_written(self) -> int:
        return sum(self.rows_by_table.values())


def _records_to_table(spec: TableSpec, rows: ParsedRows, source_file: str) -> pa.Table:
    if isinstance(rows, list):
        table = spec.from_records(rows)
    else:
        table = spec.conform(rows)
    if "source_file" in spec.schema.names:
        idx = spec.schema.get_field_index("source_file")
        table = table.set_column(
            idx, "source_file", pa.array([source_file] * table.num_rows, pa.string())
        )
    return table


def parse_to_spool(
    stream: StreamSpec, data: bytes, source_file: str, spool_dir: str
) -> tuple[str, dict[str, int], dict[str, list[str]]]:
    """Decompress, detect and parse one file into Parquet spool files; returns its format,
    rows per table and spool paths. Raises ParseError (format unknown, or bad content)."""
    fmt_name = "gzip" if data[:2] == b"\x1f\x8b" else "unknown"
    data, _ = maybe_gunzip(data, stream.max_inflated_bytes)
    if not data.strip():
        raise _Reject(fmt_name, "the file is empty (0 bytes of content)")
    fmt = detect_format(stream.formats, Sniff.of(data))
    if fmt is None:
        expected = ", ".join(f.name for f in stream.formats)
        preview = redact_text(data[:60].decode("utf-8", "replace").replace("\n", " "))
        raise _Reject(
            fmt_name, f"unrecognised format (expected one of: {expected}); starts {preview!r}"
        )
    writers: dict[str, pq.ParquetWriter] = {}
    rows: dict[str, int] = {}
    paths: dict[str, list[str]] = {}
    try:
        for table_name, parsed in fmt.parse(data, source_file):
            spec = stream.table(table_name)
            table = _records_to_table(spec, parsed, source_file)
            if table.num_rows == 0:
                continue
            if table_name not in writers:
                path = os.path.join(spool_dir, f"{table_name}.parquet")
                writers[table_name] = pq.ParquetWriter(path, spec.schema, compression="zstd")
                paths[table_name] = [path]
            writers[table_name].write_table(table, row_group_size=PARQUET_ROW_GROUP)
            rows[table_name] = rows.get(table_name, 0) + table.num_rows
    except _Reject:
        raise
    except ParseError as exc:
        raise _Reject(fmt.name, str(exc)) from None
    except RecursionError:
        raise _Reject(fmt.name, "nesting too deep to parse safely") from None
    except Exception as exc:  # a parser bug must not sink the batch: reject the file and go on
        raise _Reject(fmt.name, f"{type(exc).__name__}: {exc}") from None
    finally:
        for writer in writers.values():
            writer.close()
    return fmt.name, rows, paths


class _Reject(Exception):
    def __init__(self, fmt: str, message: str):
        super().__init__(message)
        self.fmt = fmt
        self.message = message


@dataclass(frozen=True)
class _Task:
    stream: StreamSpec
    landing_uri: str
    obj: LandingObject
    known_keys: frozenset[str]
    spool_dir: str


def _process(task: _Task) -> FileOutcome:
    landing = LandingZone(uri=task.landing_uri)
    path = task.obj.path
    try:
        data = landing.read_bytes(path, task.stream.max_file_bytes)
    except (FileTooLargeError, OSError) as exc:
        # Unread files have no content digest; key them by path, size and time so an unchanged
        # file is not rejected again on every run.
        key = f"unread:{path}:{task.obj.size}:{task.obj.updated:.0f}"
        if ingest_key(path, key) in task.known_keys:
            return FileOutcome(path, key, task.obj.size, "already_ingested")
        reason = str(exc) if isinstance(exc, FileTooLargeError) else f"cannot read ({exc})"
        return FileOutcome(path, key, task.obj.size, "rejected", "unknown", f"{path}: {reason}")
    digest = hashlib.sha256(data).hexdigest()
    if ingest_key(path, digest) in task.known_keys:
        return FileOutcome(path, digest, len(data), "already_ingested")
    if task.stream.dedupe_content and digest in task.known_keys:
        return FileOutcome(path, digest, len(data), "same_content_as_ingested")
    try:
        fmt, rows, spools = parse_to_spool(task.stream, data, path, task.spool_dir)
    except ParseError as exc:  # from gunzip
        return FileOutcome(path, digest, len(data), "rejected", "gzip", f"{path}: {exc}")
    except _Reject as exc:
        shutil.rmtree(task.spool_dir, ignore_errors=True)
        return FileOutcome(
            path, digest, len(data), "rejected", exc.fmt, f"{path}: {exc.fmt}: {exc.message}"
        )
    return FileOutcome(path, digest, len(data), "ingested", fmt, None, rows, spools)


def _pool(workers: int, stream: StreamSpec) -> ProcessPoolExecutor | None:
    if workers <= 1:
        return None
    context = multiprocessing.get_context("forkserver")
    # Workers fork from the forkserver, which outlives the pool: importing the runner and the
    # parsers there once spares each worker of each later run seconds of imports.
    # pandas too: pyarrow imports it on the first pa.array() of each worker (~1 s of CPU).
    parsers = sorted({f.parse.__module__ for f in stream.formats})
    context.set_forkserver_preload([__name__, *parsers, "pandas"])
    return ProcessPoolExecutor(workers, mp_context=context)


def ingest_stream(
    stream: StreamSpec,
    landing: LandingZone,
    warehouse: Warehouse,
    *,
    run_id: str = "",
    workers: int = 1,
    paths: Sequence[str] | None = None,
    log: Callable[[str], None] | None = None,
) -> IngestReport:
    """Ingest new files under the stream's prefix (or just ``paths``); see the module doc."""
    for spec in (*stream.tables, INGESTED_FILES, INGEST_REJECTS):
        warehouse.ensure_table(spec)
    ingested = warehouse.query(
        "SELECT ingest_key, digest FROM ingested_files WHERE stream = @stream",
        {"stream": stream.name},
    )
    known = frozenset(ingested.column("ingest_key").to_pylist())
    if stream.dedupe_content:
        known |= frozenset(ingested.column("digest").to_pylist())
    objects = [o for o in landing.list(stream.prefix) if paths is None or o.path in set(paths)]
    report = IngestReport(stream.name, files_seen=len(objects))
    spool_root = tempfile.mkdtemp(prefix=f"cicl-spool-{stream.name}-")
    tasks = [
        _Task(stream, landing.uri, o, known, os.path.join(spool_root, f"{i:07d}"))
        for i, o in enumerate(objects)
    ]
    for t in tasks:
        os.makedirs(t.spool_dir, exist_ok=True)
    pending: list[FileOutcome] = []
    seen_digests: set[str] = set()
    pending_rows = 0
    pool = _pool(workers, stream)
    # Loads run on one background thread, in order, while the next files are parsed: the
    # warehouse works outside the GIL, so parsing and loading overlap.
    loader = ThreadPoolExecutor(1, thread_name_prefix=f"cicl-load-{stream.name}")
    loading: Future[None] | None = None

    def flush(outcomes: list[FileOutcome]) -> None:
        nonlocal loading
        if loading is not None:
            loading.result()
        loading = loader.submit(_flush, stream, warehouse, outcomes, report, run_id, log)

    try:
        results: Iterable[FileOutcome] = (
            pool.map(_process, tasks, chunksize=1) if pool else map(_process, tasks)
        )
        for outcome in results:
            report.bytes_read += outcome.size
            if (
                stream.dedupe_content
                and outcome.status == "ingested"
                and outcome.digest in seen_digests
            ):
                outcome.status = "same_content_as_ingested"
            if outcome.digest:
                seen_digests.add(outcome.digest)
            if outcome.status == "already_ingested":
                report.files_skipped += 1
                continue
            if outcome.status == "same_content_as_ingested":
                report.files_skipped += 1
            pending.append(outcome)
            pending_rows += sum(outcome.rows.values())
            if pending_rows >= FLUSH_ROWS or len(pending) >= FLUSH_FILES:
                flush(pending)
                pending, pending_rows = [], 0
        flush(pending)
        if loading is not None:
            loading.result()
    finally:
        loader.shutdown(wait=True)  # never remove spool files under a running load
        if pool:
            pool.shutdown(cancel_futures=True)
        shutil.rmtree(spool_root, ignore_errors=True)
    return report


def _flush(
    stream: StreamSpec,
    warehouse: Warehouse,
    outcomes: list[FileOutcome],
    report: IngestReport,
    run_id: str,
    log: Callable[[str], None] | None,
) -> None:
    if not outcomes:
        return
    accepted = [o for o in outcomes if o.status == "ingested"]
    rejected = [o for o in outcomes if o.status == "rejected"]
    files = [o.source_file for o in accepted]
    for spec in stream.tables:
        if "source_file" in spec.schema.names and files:
            warehouse.delete_where_in(spec, "source_file", files)
        spools = [p for o in accepted for p in o.spools.get(spec.name, [])]
        if spools:
            written = warehouse.load_parquet(spec, spools)
            report.rows_by_table[spec.name] = report.rows_by_table.get(spec.name, 0) + written
    now = utcnow()
    for o in accepted:
        report.rows_by_format[o.detected_format or "?"] = report.rows_by_format.get(
            o.detected_format or "?", 0
        ) + sum(o.rows.values())
    if rejected:
        warehouse.delete_where_in(
            INGEST_REJECTS, "ingest_key", [ingest_key(o.source_file, o.digest) for o in rejected]
        )
        warehouse.append(
            INGEST_REJECTS,
            INGEST_REJECTS.from_records(
                [
                    {
                        "source_file": o.source_file,
                        "detected_format": o.detected_format,
                        "error": o.error,
                        "at": now,
                        "digest": o.digest,
                        "ingest_key": ingest_key(o.source_file, o.digest),
                        "stream": stream.name,
                        "size_bytes": o.size,
                        "run_id": run_id,
                    }
                    for o in rejected
                ]
            ),
        )
        report.rejects.extend(rejected)
        if log:
            for o in rejected:
                log(f"rejected {o.error}")
    recorded = [o for o in outcomes if o.digest]
    if recorded:
        warehouse.replace_where_in(
            INGESTED_FILES,
            "ingest_key",
            [ingest_key(o.source_file, o.digest) for o in recorded],
            INGESTED_FILES.from_records(
                [
                    {
                        "ingest_key": ingest_key(o.source_file, o.digest),
                        "digest": o.digest,
                        "source_file": o.source_file,
                        "stream": stream.name,
                        "detected_format": o.detected_format,
                        "status": o.status,
                        "size_bytes": o.size,
                        "rows_written": sum(o.rows.values()),
                        "ingested_at": now,
                        "run_id": run_id,
                    }
                    for o in recorded
                ]
            ),
        )
    report.files_ingested += len(accepted)
    report.files_rejected += len(rejected)
    for o in accepted:
        for spool_path in (p for paths in o.spools.values() for p in paths):
            os.remove(spool_path)


def ingest_key(source_file: str, digest: str | None) -> str:
    """What makes a landing file 'already ingested': its path and its content."""
    return f"{source_file}#{digest}"


def report_metadata(report: IngestReport) -> dict[str, Any]:
    """Numbers an analyst plots over runs."""
    return {
        "files_seen": report.files_seen,
        "files_ingested": report.files_ingested,
        "files_skipped_already_ingested": report.files_skipped,
        "files_rejected": report.files_rejected,
        "rows_written": report.rows_written,
        "bytes_read": report.bytes_read,
    }
