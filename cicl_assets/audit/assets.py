"""Assets of the audit group: audit events ingested into the tamper-evident chain."""

import dagster as dg

from cicl_assets.audit.chain import append_events, chain_tail, read_chain, verify_chain
from cicl_assets.audit.stream import AUDIT_STREAM
from cicl_assets.audit.tables import (
    AUDIT_EVENTS,
    AUDIT_EVENTS_STAGING,
    EVENT_COLUMNS,
    OUTCOMES,
    SOURCES,
)
from cicl_assets.ingest.runner import ingest_stream
from cicl_assets.landing.zone import LandingZone
from cicl_assets.metadata import column_schema, ingest_metadata, markdown_table
from cicl_assets.warehouse.base import Warehouse

ANCHOR_RUNS = 50
_PREVIEW_COLUMNS = ("seq", "event_time", "source", "actor", "action", "resource", "outcome", "hash")


def unchained_staged_events(warehouse: Warehouse) -> list[dict]:
    """Staged events whose (source, event_id) is not in the chain yet."""
    warehouse.ensure_table(AUDIT_EVENTS_STAGING)
    warehouse.ensure_table(AUDIT_EVENTS)
    cols = ", ".join(f"s.{c}" for c in EVENT_COLUMNS)
    return warehouse.query(
        f"SELECT {cols} FROM {AUDIT_EVENTS_STAGING.name} s WHERE NOT EXISTS ("
        f"SELECT 1 FROM {AUDIT_EVENTS.name} a "
        "WHERE a.source = s.source AND a.event_id = s.event_id)"
    ).to_pylist()


def chain_metadata(warehouse: Warehouse) -> dict:
    counts = warehouse.query(
        f"SELECT source, outcome, COUNT(*) AS n FROM {AUDIT_EVENTS.name} GROUP BY source, outcome"
    ).to_pylist()
    by_source = dict.fromkeys(SOURCES, 0)
    by_outcome = dict.fromkeys(OUTCOMES, 0)
    for row in counts:
        by_source[row["source"]] = by_source.get(row["source"], 0) + int(row["n"])
        by_outcome[row["outcome"]] = by_outcome.get(row["outcome"], 0) + int(row["n"])
    length, last_hash = chain_tail(warehouse)
    preview = warehouse.query(
        f"SELECT {', '.join(map(warehouse.quote, _PREVIEW_COLUMNS))} FROM {AUDIT_EVENTS.name} "
        "ORDER BY seq DESC LIMIT 5"
    )
    return {
        "dagster/row_count": warehouse.row_count(AUDIT_EVENTS.name),
        "dagster/column_schema": column_schema(AUDIT_EVENTS),
        "preview": dg.MetadataValue.md(markdown_table(preview)),
        "chain_length": length,
        "last_hash": last_hash,
        **{f"events_by_source/{k}": v for k, v in sorted(by_source.items())},
        **{f"events_by_outcome/{k}": v for k, v in sorted(by_outcome.items())},
    }


@dg.asset(
    name=AUDIT_EVENTS.name,
    group_name="audit",
    kinds={"python", "json"},
    owners=["team:compliance"],
    tags={"cicl/layer": "ingest"},
)
def audit_events(
    context: dg.AssetExecutionContext, warehouse: Warehouse, landing: LandingZone
) -> dg.MaterializeResult:
    """One row per audit event (GCP Cloud Audit Logs, Kubernetes audit, GitHub audit log, CI/CD
    steps, cicl's own actions), secrets redacted, appended to a hash chain in ingestion order.

    New files under audit/ are parsed into ``audit_events_staging`` (rejects go to
    ``ingest_rejects``); staged events not yet chained are then appended in
    (event_time, source_file, event_id) order. Re-running appends nothing twice.
    """
    report = ingest_stream(
        landing.capped(AUDIT_STREAM),
        landing,
        warehouse,
        run_id=context.run.run_id,
        log=context.log.warning,
    )
    appended = append_events(warehouse, unchained_staged_events(warehouse))
    context.log.info(f"appended {len(appended)} audit events to the chain")
    return dg.MaterializeResult(
        metadata={
            **ingest_metadata(report),
            "events_appended": len(appended),
            **chain_metadata(warehouse),
        }
    )


def recorded_anchors(instance: dg.DagsterInstance, limit: int = ANCHOR_RUNS) -> dict[int, str]:
    """(chain_length -> last_hash) of recent materializations: hashes kept outside the
    warehouse, in Dagster's event log."""
    anchors: dict[int, str] = {}
    records = instance.fetch_materializations(dg.AssetKey(AUDIT_EVENTS.name), limit=limit).records
    for record in reversed(records):  # oldest first: the first recording of a seq wins
        mat = record.asset_materialization
        meta = mat.metadata if mat else {}
        length, last = meta.get("chain_length"), meta.get("last_hash")
        if length is not None and last is not None and int(length.value) > 0:
            anchors.setdefault(int(length.value), str(last.value))
    return anchors


@dg.asset_check(
    asset=audit_events,
    name="audit_chain_verified",
    blocking=True,
    description="Re-verifies every hash link of audit_events and names the first broken one.",
)
def audit_chain_verified(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    anchors = recorded_anchors(context.instance)
    result = verify_chain(read_chain(warehouse), anchors)
    metadata: dict = {"events_checked": result.checked, "anchors_checked": len(anchors)}
    if not result.ok:
        metadata |= {
            "first_broken_seq": result.first_broken_seq,
            "first_broken_event_id": result.first_broken_event_id or "",
            "reason": result.reason or "",
        }
    return dg.AssetCheckResult(
        passed=result.ok,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            f"chain intact: {result.checked} events verified" if result.ok else result.reason
        ),
        metadata=metadata,
    )


ASSETS: list = [audit_events]
CHECKS: list = [audit_chain_verified]
