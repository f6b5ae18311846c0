"""Assets of the audit group: audit events ingested into the tamper-evident chain."""

from typing import Any

import dagster as dg

from cicl_assets.audit.chain import append_events, chain_tail, read_chain
from cicl_assets.audit.judge import judge_chain
from cicl_assets.audit.notary import ChainError
from cicl_assets.audit.stream import AUDIT_STREAM
from cicl_assets.audit.tables import (
    AUDIT_EVENTS,
    AUDIT_EVENTS_STAGING,
    EVENT_COLUMNS,
    OUTCOMES,
    SOURCES,
)
from cicl_assets.metadata import markdown_table
from cicl_assets.resources import CiclConfig
from cicl_assets.stream_assets import AssetView, DeclaredStream, StreamRun, build_stream_asset
from cicl_assets.warehouse.base import Warehouse

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
    # The newest links first, with `hash` quoted: a reserved word in BigQuery.
    preview = warehouse.query(
        f"SELECT {', '.join(map(warehouse.quote, _PREVIEW_COLUMNS))} FROM {AUDIT_EVENTS.name} "
        "ORDER BY seq DESC LIMIT 5"
    )
    return {
        "preview": dg.MetadataValue.md(markdown_table(preview)),
        "chain_length": length,
        "last_hash": last_hash,
        **{f"events_by_source/{k}": v for k, v in sorted(by_source.items())},
        **{f"events_by_outcome/{k}": v for k, v in sorted(by_outcome.items())},
    }


def append_staged_events(warehouse: Warehouse, run: StreamRun) -> dict[str, Any]:
    """Chain the staged events not chained yet, in (event_time, source_file, event_id) order,
    and publish the chain's new head. A chain changed outside cicl gets nothing appended: the
    events stay staged and audit_chain_verified says what is wrong."""
    cicl_config = run.cicl_config
    notary = cicl_config.chain_notary(warehouse) if cicl_config is not None else None
    try:
        appended = append_events(warehouse, unchained_staged_events(warehouse), notary)
    except ChainError as exc:
        return {"events_appended": 0, "chain_refused": str(exc)}
    return {"events_appended": len(appended)}


AUDIT = DeclaredStream(
    spec=AUDIT_STREAM,
    group="audit",
    owners=("team:compliance",),
    kinds=frozenset({"python", "json"}),
    views=(AssetView(AUDIT_EVENTS, figures=(chain_metadata,)),),
    after_ingest=append_staged_events,
    needs_config=True,
    reads="GCP Cloud Audit Log entries, Kubernetes audit events, GitHub audit-log entries and "
    "cicl CI/CD step events, secrets redacted, staged in audit_events_staging and then appended "
    "to the chain; re-running appends nothing twice",
)

audit_events = build_stream_asset(AUDIT)


@dg.asset_check(
    asset=AUDIT_EVENTS.name,
    name="audit_chain_verified",
    blocking=True,
    description="Re-verifies every hash link of audit_events against every head published for "
    "it in the outbox, and names the first broken one.",
)
def audit_chain_verified(warehouse: Warehouse, cicl_config: CiclConfig) -> dg.AssetCheckResult:
    verdict = judge_chain(read_chain(warehouse), cicl_config.chain_notary(warehouse))
    result = verdict.verification
    metadata: dict = {"events_checked": result.checked, **verdict.metadata}
    if not result.ok:
        metadata |= {
            "first_broken_seq": result.first_broken_seq,
            "first_broken_event_id": result.first_broken_event_id or "",
            "reason": result.reason or "",
        }
    return dg.AssetCheckResult(
        passed=verdict.passed,
        severity=dg.AssetCheckSeverity.WARN if verdict.warning else dg.AssetCheckSeverity.ERROR,
        description=verdict.description,
        metadata=metadata,
    )


ASSETS: list = [audit_events]
CHECKS: list = [audit_chain_verified]
