"""Streams are declared, not hand-written: one factory turns a declaration into its asset.

A declaration names what a landing folder feeds (the runner's ``StreamSpec``: folder, formats,
tables), how the catalog shows it (group, owners, kinds, one view per asset with its preview
columns and figures), its checks, and any work that follows ingestion (the audit chain, linking
plan texts). The factory builds the asset (one table) or multi-asset (several), ingests with
the shared runner, and reports the same metadata for every stream: row count, column schema,
preview, ingest figures, rejects, and the stream's own figures.
"""

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from cicl_assets.ingest.runner import IngestReport, StreamSpec, ingest_stream
from cicl_assets.landing.zone import LandingZone
from cicl_assets.metadata import ingest_metadata, table_metadata
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.tables import TableSpec


@dataclass(frozen=True)
class StreamRun:
    """What one materialization of a stream did, for the figures that describe it."""

    run_id: str
    report: IngestReport
    workers: int = 1
    # The cicl_config resource, for streams that declare they need it; else None.
    cicl_config: Any = None
    # Metadata the after-ingest step reported (chain length, plans linked, ...).
    extra: dict[str, Any] = field(default_factory=dict)


# Figures over the whole table; figures of one run come from the after-ingest step.
Figures = Callable[[Warehouse], dict[str, Any]]


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StreamCheck:
    """An inline check of one of the stream's assets, evaluated after every ingest."""

    name: str
    table: str
    description: str
    evaluate: Callable[[Warehouse, StreamRun], CheckOutcome]
    blocking: bool = False
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.WARN


@dataclass(frozen=True)
class AssetView:
    """One asset of the stream: its table (whose description states the grain), the columns
    its preview shows, and the figures an analyst plots over runs."""

    table: TableSpec
    preview_columns: tuple[str, ...] = ()
    figures: tuple[Figures, ...] = ()


@dataclass(frozen=True)
class DeclaredStream:
    spec: StreamSpec
    group: str
    owners: tuple[str, ...]
    kinds: frozenset[str]
    views: tuple[AssetView, ...]
    # The op's name when the stream feeds several assets; a single asset is named by its table.
    op_name: str = ""
    checks: tuple[StreamCheck, ...] = ()
    # Work that follows ingestion (chaining, linking, figures of this run's rows): returns
    # metadata for the first view.
    after_ingest: Callable[[Warehouse, StreamRun], dict[str, Any]] | None = None
    # Parsing in several processes pays off for big streams (spans); others parse in process.
    parallel: bool = False
    # Everything the stream reads, said once in every asset's description after the grain.
    reads: str = ""
    # Binds formats that depend on the configuration (which key attestations must be signed
    # with) to the cicl_config resource at run time.
    configure: Callable[[Any], StreamSpec] | None = None
    # The after-ingest step needs the cicl_config resource (the audit chain's notary).
    needs_config: bool = False

    def description(self, view: AssetView) -> str:
        formats = ", ".join(f.name for f in self.spec.formats)
        return (
            f"{view.table.description}\n\n"
            f"Fed by the landing zone's {self.spec.prefix}/ folder ({self.reads or formats}). "
            "Each file version is read once; a file that cannot be read lands in "
            "ingest_rejects with the reason and the rest of the batch still lands."
        )


# Run config of a parallel stream: ops: {otel_spans: {config: {workers: N}}}.
PARALLEL_CONFIG = {
    "workers": dg.Field(
        int,
        default_value=0,
        description="parser processes working on files in parallel; 0 = one per core",
    )
}


def _check_result(check: StreamCheck, outcome: CheckOutcome) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=check.table,
        check_name=check.name,
        passed=outcome.passed,
        severity=check.severity,
        description=outcome.description,
        metadata=outcome.metadata,
    )


def view_metadata(
    stream: DeclaredStream, view: AssetView, warehouse: Warehouse, run: StreamRun, first: bool
) -> dict[str, Any]:
    # A stream's table holds its rows' provenance too: describe the table as the warehouse has it.
    table = view.table.with_provenance()
    meta = table_metadata(
        table,
        warehouse,
        list(view.preview_columns) or None,
        run.report.days_by_table.get(view.table.name),
    )
    meta["rows_written_this_run"] = run.report.rows_by_table.get(view.table.name, 0)
    # Every asset of a stream comes from the same pass over its files: each shows that pass.
    meta.update(ingest_metadata(run.report))
    if first:
        meta.update(run.extra)
        if stream.parallel:
            meta["workers"] = run.workers
    for figures in view.figures:
        meta.update(figures(warehouse))
    return meta


def materialize_stream(
    stream: DeclaredStream,
    spec: StreamSpec,
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    landing: LandingZone,
    workers: int = 1,
    cicl_config: Any = None,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Ingest the stream's new files (``spec``: the declared one, bound to the configuration
    where its formats need it) under the landing zone's size caps, run the after-ingest step,
    report every view and check."""
    run_id = context.run.run_id
    report = ingest_stream(
        landing.capped(spec),
        landing,
        warehouse,
        run_id=run_id,
        workers=workers,
        log=context.log.warning,
    )
    context.log.info(
        f"{stream.spec.name}: {report.files_ingested} files ingested, "
        f"{report.files_skipped} already ingested, {report.files_rejected} rejected; "
        f"rows {report.rows_by_table}"
    )
    run = StreamRun(run_id, report, workers, cicl_config)
    if stream.after_ingest is not None:
        run = StreamRun(run_id, report, workers, cicl_config, stream.after_ingest(warehouse, run))
    for i, view in enumerate(stream.views):
        yield dg.MaterializeResult(
            asset_key=view.table.name,
            metadata=view_metadata(stream, view, warehouse, run, first=i == 0),
        )
    for check in stream.checks:
        yield _check_result(check, check.evaluate(warehouse, run))


def build_stream_asset(stream: DeclaredStream) -> dg.AssetsDefinition:
    """The asset (one view) or multi-asset (several) a declaration describes."""
    specs = [
        dg.AssetSpec(
            key=view.table.name,
            group_name=stream.group,
            description=stream.description(view),
            kinds=set(stream.kinds),
            owners=list(stream.owners),
            tags={"cicl/layer": "ingest", "cicl/stream": stream.spec.name},
        )
        for view in stream.views
    ]
    check_specs = [
        dg.AssetCheckSpec(c.name, asset=c.table, blocking=c.blocking, description=c.description)
        for c in stream.checks
    ]
    name = stream.op_name or stream.views[0].table.name
    op_description = (
        specs[0].description
        if len(specs) == 1
        else f"One pass over the landing zone's {stream.spec.prefix}/ folder feeding "
        + ", ".join(v.table.name for v in stream.views)
        + "; each table's grain is in its description."
    )

    # Resources by key rather than typed parameters: only a stream whose formats or after-ingest
    # step depend on the configuration needs cicl_config.
    uses_config = stream.configure is not None or stream.needs_config
    resource_keys = {"warehouse", "landing"} | ({"cicl_config"} if uses_config else set())

    @dg.multi_asset(
        name=name,
        specs=specs,
        check_specs=check_specs,
        can_subset=False,
        description=op_description,
        required_resource_keys=resource_keys,
        config_schema=PARALLEL_CONFIG if stream.parallel else None,
    )
    def _stream_asset(context: dg.AssetExecutionContext):
        workers = 1
        if stream.parallel:
            workers = context.op_execution_context.op_config["workers"] or os.cpu_count() or 1
        resources = context.resources
        cicl_config = resources.cicl_config if uses_config else None
        spec = stream.configure(cicl_config) if stream.configure else stream.spec
        yield from materialize_stream(
            stream, spec, context, resources.warehouse, resources.landing, workers, cicl_config
        )

    return _stream_asset
