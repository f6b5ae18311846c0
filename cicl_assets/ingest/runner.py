"""Ingest the new files of one landing-zone stream into warehouse tables.

Each file is read under a size cap and a time limit, gunzipped under a bomb guard, recognised by
content, parsed and redacted into per-table Parquet spool files (``ingest.file_outcome``,
``ingest.spool``, ``ingest.redact_table``) in a spool folder under the state folder
(``ingest.spool_dirs``), removed when the run ends; nothing of a file reaches the warehouse unless the whole file parsed. Every per-file failure (an
unreadable or oddly named file, a symlink or FIFO, bad content, a parser that crashes or is
killed) ends as one ``ingest_rejects`` row and the run goes on. A file is skipped when the same
path with the same content digest was already ingested; for streams whose rows carry their own
identity (spans), also when the same content was ingested under another path. A path whose
content changed is ingested again, replacing its rows. Spooled files are loaded in groups: delete
the group's ``source_file`` rows (left by an interrupted earlier attempt), append, then record
the files in ``ingested_files``; so re-running never duplicates.

Parsing runs in worker processes (``ingest.workers``) when there are several workers, or when
the stream is ``isolated``: its parsers hand untrusted bytes to native code, so a crash must
cost one file, not the run. Otherwise it runs in this process. Only the parent talks to the
warehouse.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import forkserver
from multiprocessing.context import BaseContext
from typing import Any

from cicl_assets.ingest.content import (
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_INFLATED_BYTES,
    ParseError,
)
from cicl_assets.ingest.file_outcome import (
    FileOutcome,
    FileTask,
    RunSetup,
    deadline_s,
    ingest_key,
    lost_file,
    no_progress,
    process_file,
)
from cicl_assets.ingest.formats import FileFormat
from cicl_assets.ingest.landing_state import LandingState
from cicl_assets.ingest.listing import list_stream
from cicl_assets.ingest.redact import configure as configure_redaction
from cicl_assets.ingest.spool_dirs import make_spool
from cicl_assets.ingest.workers import Lost, run_isolated
from cicl_assets.landing.zone import READ_TIMEOUT_S, LandingZone
from cicl_assets.settings import cloud_clients
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.batch import IngestBatch, Part, Retirement, TableLoad, partitions_of
from cicl_assets.warehouse.lease import writer_lease
from cicl_assets.warehouse.tables import INGEST_REJECTS, INGESTED_FILES, TableSpec, utcnow

# Rows per load. Fewer, bigger loads cost DuckDB less: appending after a partly filled row group
# rewrites it (1M spans, 2 workers: 250k -> 500k rows a load took 91.8k -> 100.2k spans/s and the
# file from 82 to 78 bytes a span). Spools are on disk, so this does not grow memory.
FLUSH_ROWS = 500_000
FLUSH_FILES = 2_000


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
    # True where parsers hand untrusted bytes to native code (pyarrow's JSON reader, upb): files
    # are then parsed in a worker process even with one worker, so a crash costs one file.
    isolated: bool = False

    def table(self, name: str) -> TableSpec:
        for spec in self.tables:
            if spec.name == name:
                return spec
        raise ParseError(f"parser produced rows for unknown table {name!r}")


@dataclass
class IngestReport:
    stream: str
    files_seen: int = 0
    files_ingested: int = 0
    files_skipped: int = 0
    files_skipped_unread: int = 0  # of those, skipped on the listing alone
    files_rejected: int = 0
    rows_by_table: dict[str, int] = field(default_factory=dict)
    rows_by_format: dict[str, int] = field(default_factory=dict)
    rejects: list[FileOutcome] = field(default_factory=list)
    bytes_read: int = 0
    # Days (partitions of the table's time column) the run's new rows fall in, by table.
    days_by_table: dict[str, set[str]] = field(default_factory=dict)

    @property
    def rows_written(self) -> int:
        return sum(self.rows_by_table.values())


def _context(stream: StreamSpec) -> BaseContext:
    context = multiprocessing.get_context("forkserver")
    # Workers fork from the forkserver, which outlives the pool: importing the runner and the
    # parsers there once spares each worker of each later run seconds of imports.
    # pandas too: pyarrow imports it on the first pa.array() of each worker (~1 s of CPU).
    parsers = sorted({f.parse.__module__ for f in stream.formats})
    context.set_forkserver_preload([__name__, *parsers, "pandas"])
    return context


def start_workers(stream: StreamSpec) -> None:
    """Start the server ``stream``'s parser processes fork from, in the background: its imports
    take seconds, which then overlap the work before the stream's first file is handed out."""
    if stream.isolated:
        _context(stream)
        threading.Thread(target=forkserver.ensure_running, daemon=True).start()


def ingest_stream(
    stream: StreamSpec,
    landing: LandingZone,
    warehouse: Warehouse,
    *,
    run_id: str = "",
    workers: int = 1,
    paths: Sequence[str] | None = None,
    log: Callable[[str], None] | None = None,
    read_timeout_s: float = READ_TIMEOUT_S,
) -> IngestReport:
    """Ingest new files under the stream's prefix (or just ``paths``); see the module doc.
    Holds the warehouse's writer lease throughout (``warehouse.lease``)."""
    # Held open for the run: a DuckDB file opened for each of a run's ~20 calls cost 0.2 s
    # of CPU a run (0.8 us a span of a 262k-span run).
    with warehouse.held(), writer_lease(warehouse, log=log):
        return _ingest(stream, landing, warehouse, run_id, workers, paths, log, read_timeout_s)


def _ingest(
    stream: StreamSpec,
    landing: LandingZone,
    warehouse: Warehouse,
    run_id: str,
    workers: int,
    paths: Sequence[str] | None,
    log: Callable[[str], None] | None,
    read_timeout_s: float,
) -> IngestReport:
    for spec in (*stream.tables, INGESTED_FILES, INGEST_REJECTS):
        warehouse.ensure_table(spec)
    listing = list_stream(stream, landing, warehouse, paths)
    state, versions = listing.state, listing.versions
    report = IngestReport(stream.name, files_seen=len(listing.listed))
    # Unchanged since the listing that read them: not read again (on gs:// not downloaded).
    objects = listing.to_read
    report.files_skipped_unread = len(listing.listed) - len(objects)
    report.files_skipped += report.files_skipped_unread
    # Resolved here, once: workers get the policy and the cloud settings with their setup.
    setup = RunSetup(
        stream,
        landing,
        state.known_keys(),
        read_timeout_s,
        landing.redaction_policy(),
        cloud_clients(),
    )
    configure_redaction(setup.redaction)
    spool_root = make_spool(landing.spool_root(), stream.name)
    tasks = [FileTask(o, os.path.join(spool_root, f"{i:07d}")) for i, o in enumerate(objects)]
    pending: list[FileOutcome] = []
    seen_digests: set[str] = set()
    pending_rows = 0
    # Loads run on one background thread, in order, while the next files are parsed: the
    # warehouse works outside the GIL, so parsing and loading overlap.
    loader = ThreadPoolExecutor(1, thread_name_prefix=f"cicl-load-{stream.name}")
    loading: Future[None] | None = None

    def flush(outcomes: list[FileOutcome], last: bool = False) -> None:
        nonlocal loading
        if loading is not None:
            loading.result()
        loading = loader.submit(
            _flush, stream, warehouse, state, outcomes, report, run_id, log, last
        )

    try:
        for t in tasks:
            os.makedirs(t.spool_dir, exist_ok=True)
        for outcome in _outcomes(setup, tasks, workers):
            outcome.listing_version = versions.get(outcome.source_file)
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
                if outcome.listing_version is None or state.unchanged(
                    outcome.source_file, outcome.listing_version
                ):
                    continue
            if outcome.status == "same_content_as_ingested":
                report.files_skipped += 1
            pending.append(outcome)
            pending_rows += sum(outcome.rows.values())
            if pending_rows >= FLUSH_ROWS or len(pending) >= FLUSH_FILES:
                flush(pending)
                pending, pending_rows = [], 0
        flush(pending, last=True)
        if loading is not None:
            loading.result()
    finally:
        loader.shutdown(wait=True)  # never remove spool files under a running load
        shutil.rmtree(spool_root, ignore_errors=True)
    return report


def _outcomes(setup: RunSetup, tasks: list[FileTask], workers: int) -> Iterable[FileOutcome]:
    """Each task's outcome, in task order."""
    if workers <= 1 and not setup.stream.isolated:
        for task in tasks:
            yield process_file(setup, task, no_progress)
        return
    results = run_isolated(
        process_file,
        setup,
        tasks,
        processes=max(1, workers),
        context=_context(setup.stream),
        deadline_s=deadline_s(setup),
    )
    for task, result in zip(tasks, results, strict=True):
        yield lost_file(setup, task, result) if isinstance(result, Lost) else result


def _flush(
    stream: StreamSpec,
    warehouse: Warehouse,
    state: LandingState,
    outcomes: list[FileOutcome],
    report: IngestReport,
    run_id: str,
    log: Callable[[str], None] | None,
    last: bool,
) -> None:
    """Commit a group of outcomes as one batch; the run's last group also retires the contents
    no landing file holds any more."""
    relisted = [
        row
        for row in (state.relisted(o) for o in outcomes if o.status == "already_ingested")
        if row is not None
    ]
    outcomes = [o for o in outcomes if o.status != "already_ingested"]
    accepted = [o for o in outcomes if o.status == "ingested"]
    rejected = [o for o in outcomes if o.status == "rejected"]
    now = utcnow()
    tables = tuple(spec.with_provenance() for spec in stream.tables)
    loads = []
    partitions: dict[str, set[str]] = {o.source_file: set() for o in accepted}
    for spec in tables:
        parts = []
        for order, o in enumerate(accepted):
            spools = o.spools.get(spec.name, [])
            key = state.content_key(o.source_file, o.digest)
            parts += [Part(path, key, order) for path in spools]
            if spools:
                days = partitions_of(spec, spools)
                partitions[o.source_file] |= days
                report.days_by_table.setdefault(spec.name, set()).update(days)
        if parts:
            loads.append(TableLoad(spec, tuple(parts)))
    records = [
        state.record(o, partitions.get(o.source_file), run_id, now) for o in outcomes if o.digest
    ]
    superseded = [row for row in map(state.supersede, records) if row is not None]
    retired = state.retirement() if last else Retirement()
    # The last group drops every superseded row; earlier ones keep them for that end.
    files = (records if last else records + superseded) + relisted
    file_keys = [r["ingest_key"] for r in records + superseded + relisted]
    if last:
        file_keys += state.drop_superseded()
    reject_rows = [
        {
            "source_file": _text(o.source_file),
            "detected_format": o.detected_format,
            "error": _text(o.error),
            "at": now,
            "digest": o.digest,
            "ingest_key": _text(ingest_key(o.source_file, o.digest)),
            "stream": stream.name,
            "size_bytes": o.size,
            "run_id": run_id,
        }
        for o in rejected
    ]
    if not loads and not files and not reject_rows and not retired.carriers and not file_keys:
        return
    written = warehouse.commit_ingest(
        IngestBatch(
            stream_tables=tables,
            loads=tuple(loads),
            retired=retired,
            files=INGESTED_FILES.from_records(files) if files else None,
            file_keys=tuple(dict.fromkeys(file_keys)),
            rejects=INGEST_REJECTS.from_records(reject_rows) if reject_rows else None,
            reject_keys=tuple(r["ingest_key"] for r in reject_rows),
        )
    )
    for name, rows in written.items():
        report.rows_by_table[name] = report.rows_by_table.get(name, 0) + rows
    for o in accepted:
        fmt = o.detected_format or "?"
        report.rows_by_format[fmt] = report.rows_by_format.get(fmt, 0) + sum(o.rows.values())
    report.rejects.extend(rejected)
    if log:
        for o in rejected:
            log(f"rejected {_text(o.error)}")
    report.files_ingested += len(accepted)
    report.files_rejected += len(rejected)
    for o in accepted:
        for spool_path in (p for paths in o.spools.values() for p in paths):
            os.remove(spool_path)


def _text(value: str | None) -> str | None:
    """Text every warehouse stores: a lone surrogate (an undecodable byte that slipped into a
    message) becomes a visible \\udcXX escape instead of failing the load."""
    return None if value is None else value.encode("utf-8", "backslashreplace").decode("utf-8")


def report_metadata(report: IngestReport) -> dict[str, Any]:
    """Numbers an analyst plots over runs."""
    return {
        "files_seen": report.files_seen,
        "files_ingested": report.files_ingested,
        "files_skipped_already_ingested": report.files_skipped,
        "files_skipped_unread": report.files_skipped_unread,
        "files_rejected": report.files_rejected,
        "rows_written": report.rows_written,
        "bytes_read": report.bytes_read,
    }
