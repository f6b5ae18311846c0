"""Which steps of landing_batch `make run` launches, decided before launching it.

Listing the landing zone is the cheap part of a run; a Dagster step and the warehouse work of an
asset with nothing new are not. So the run lists every stream first (``ingest.listing``, the
rule the ingest steps themselves apply) and selects:

- the streams with files to read, or with a replaced content left to retire;
- assets never materialized, and assets an upstream asset of the job materialized after them
  (a run stopped half-way, or a run of a few assets from the UI or the daemon);
- evidence_retention once a day: expiry moves with the clock, not with new files;
- everything downstream of those in the job (a multi-asset's other assets with it).

The whole job runs, as before, when the configuration it reads changed since the last
landing_batch that finished, or when the last one did not finish (a run killed inside an ingest
step commits files without recording a materialization). Nothing selected: no run is launched.

The daemon needs no such plan: landing_arrivals_sensor requests runs only for the folders whose
files are not in ingested_files, and the day sensors only for the days new rows touched.

The candidates' refresh (``candidates_due``) runs when a finding it rests on was materialized
after it, or when the platform repository's HEAD is not the commit it last read.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg

from cicl_assets.ingest.listing import list_streams
from cicl_assets.landing.zone import LandingZone
from cicl_assets.stream_assets import DeclaredStream
from cicl_assets.streams import DECLARED_STREAMS
from cicl_assets.warehouse.base import Warehouse
from jobs.batch import landing_batch_job

KEY = "cicl/landing_batch_inputs"
RETENTION = dg.AssetKey("evidence_retention")
CANDIDATES = dg.AssetKey("improvement_candidates")


@dataclass(frozen=True)
class StreamFiles:
    listed: int
    to_read: int
    unfinished: bool = False


@dataclass(frozen=True)
class BatchPlan:
    """The assets landing_batch runs this time (none: no run), why, and what the listing of
    each stream found (empty when the whole job runs: its steps report their own)."""

    selection: frozenset[dg.AssetKey]
    full: bool
    reasons: tuple[str, ...]
    fingerprint: str
    streams: dict[str, StreamFiles] = field(default_factory=dict)

    def selected_streams(self) -> list[DeclaredStream]:
        return [s for s in DECLARED_STREAMS if stream_keys(s) & self.selection]

    def unselected_streams(self) -> dict[str, StreamFiles]:
        chosen = {stream_name(s) for s in DECLARED_STREAMS if stream_keys(s) & self.selection}
        return {name: files for name, files in self.streams.items() if name not in chosen}


def stream_name(stream: DeclaredStream) -> str:
    return stream.spec.name


def stream_keys(stream: DeclaredStream) -> frozenset[dg.AssetKey]:
    return frozenset(dg.AssetKey(v.table.name) for v in stream.views)


def inputs_fingerprint(cicl_config: Any) -> str:
    """A digest of what landing_batch reads besides the landing zone: the configuration
    directory's files and the settings that are not secrets (secrets change nothing read)."""
    digest = hashlib.sha256()
    root = Path(cicl_config.config_dir)
    for folder, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder) / name
            digest.update(f"{path.relative_to(root)}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    trust = Path(cicl_config.trust_file) if cicl_config.trust_file else None
    settings = {
        "attestation_public_key": cicl_config.attestation_public_key,
        "outbox_uri": cicl_config.outbox_uri,
        "retention_clock": cicl_config.retention_clock,
        "trust": hashlib.sha256(trust.read_bytes()).hexdigest()
        if trust and trust.is_file()
        else None,
    }
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()[:24]


def _stored(instance: dg.DagsterInstance) -> dict[str, Any]:
    text = instance.run_storage.get_cursor_values({KEY}).get(KEY)
    return json.loads(text) if text else {}


def record_started(instance: dg.DagsterInstance, plan: BatchPlan) -> None:
    instance.run_storage.set_cursor_values(
        {KEY: json.dumps({"fingerprint": plan.fingerprint, "finished": False})}
    )


def record_finished(instance: dg.DagsterInstance, plan: BatchPlan) -> None:
    instance.run_storage.set_cursor_values(
        {KEY: json.dumps({"fingerprint": plan.fingerprint, "finished": True})}
    )


def job_keys(defs: dg.Definitions) -> frozenset[dg.AssetKey]:
    return frozenset(landing_batch_job.selection.resolve(defs.resolve_asset_graph()))


def closure(graph: Any, roots: set[dg.AssetKey], within: frozenset[dg.AssetKey]) -> frozenset:
    """``roots`` and everything downstream of them in ``within``, whole ops at a time (a stream's
    multi-asset cannot run part of itself)."""
    selected: set[dg.AssetKey] = set()
    todo = [k for k in roots if k in within]
    while todo:
        key = todo.pop()
        if key in selected:
            continue
        selected.add(key)
        node = graph.get(key)
        todo += [k for k in (*node.assets_def.keys, *node.child_keys) if k in within]
    return frozenset(selected)


def plan_landing_batch(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    warehouse: Warehouse,
    landing: LandingZone,
    cicl_config: Any,
    now: datetime | None = None,
) -> BatchPlan:
    keys = job_keys(defs)
    fingerprint = inputs_fingerprint(cicl_config)
    stored = _stored(instance)
    if not stored.get("finished"):
        why = "the last landing_batch did not finish" if stored else "no landing_batch yet"
        return BatchPlan(keys, True, (why,), fingerprint)
    if stored.get("fingerprint") != fingerprint:
        return BatchPlan(keys, True, ("the configuration changed",), fingerprint)
    roots: set[dg.AssetKey] = set()
    reasons: list[str] = []
    streams: dict[str, StreamFiles] = {}
    listings = list_streams([s.spec for s in DECLARED_STREAMS], landing, warehouse)
    for stream in DECLARED_STREAMS:
        listing = listings[stream_name(stream)]
        files = StreamFiles(len(listing.listed), len(listing.to_read), listing.unfinished)
        streams[stream_name(stream)] = files
        if listing.has_work:
            roots |= stream_keys(stream)
            reasons.append(f"{stream_name(stream)}: {files.to_read} files to read")
    graph = defs.resolve_asset_graph()
    last = {
        r.asset_entry.asset_key: r.asset_entry.last_materialization_record
        for r in instance.get_asset_records(list(keys))
    }
    for key in sorted(keys):
        record = last.get(key)
        if record is None:
            roots.add(key)
            reasons.append(f"{key.to_user_string()}: never materialized")
            continue
        node = graph.get(key)
        newer = [
            p
            for p in node.parent_keys
            if p in keys
            and p not in node.assets_def.keys  # written by the same step, in its own order
            and (r := last.get(p)) is not None
            and r.storage_id > record.storage_id
        ]
        if newer:
            roots.add(key)
            reasons.append(f"{key.to_user_string()}: {newer[0].to_user_string()} is newer")
    retention = last.get(RETENTION)
    today = (now or datetime.now(UTC)).date()
    if retention is not None and datetime.fromtimestamp(retention.timestamp, UTC).date() < today:
        roots.add(RETENTION)
        reasons.append(f"{RETENTION.to_user_string()}: not run today")
    return BatchPlan(closure(graph, roots, keys), False, tuple(reasons), fingerprint, streams)


def candidates_due(
    defs: dg.Definitions, instance: dg.DagsterInstance, head: Callable[[], str | None]
) -> str | None:
    """Why improvement_candidates must be made again, or None when nothing it reads changed.
    ``head`` gives the platform repository's HEAD commit (None without a repository)."""
    parents = sorted(defs.resolve_asset_graph().get(CANDIDATES).parent_keys)
    last = {
        r.asset_entry.asset_key: r.asset_entry.last_materialization_record
        for r in instance.get_asset_records([CANDIDATES, *parents])
    }
    own = last.get(CANDIDATES)
    if own is None:
        return "never materialized"
    for parent in parents:
        record = last.get(parent)
        if record is not None and record.storage_id > own.storage_id:
            return f"{parent.to_user_string()} was materialized after it"
    base = own.event_log_entry.asset_materialization.metadata.get("base_commit")
    commit = head()
    if commit != (base.value if base is not None else None):
        return f"the platform repository's HEAD is now {str(commit)[:12]}"
    return None
