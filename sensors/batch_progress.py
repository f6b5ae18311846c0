"""How far `make run` got with the work that follows an ingest, kept in the instance so that a
run killed (or failing) half-way leaves it to the next run instead of losing it.

`make run` ingests (the landing_batch job), then refreshes the days the new data touched (minute
counts, slo_status, routing, regressions), then reviews the breaches the new slo_status days
show. The days are read from what changed since the last run that finished that work, not since
the start of the current one: a run killed after its ingest made those days stale, and the run
that follows has nothing new to ingest. Two records say what is covered:

- ``spans_after``: day-source materializations (otel_spans, slo_reports) up to this storage id
  had their days refreshed; ``status_after``: slo_status materializations up to this one had
  their breaches reviewed. Both advance only once the work they cover succeeded.
- ``pending_runs``: landing_batch runs started since the last refresh. A run killed inside an
  ingest step commits some files with their rows but never records a materialization, so its
  days are read from the warehouse (``ingested_files.partitions`` of the files those runs
  recorded) as well as from the materializations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import dagster as dg

from cicl_assets.slo.reports import SLO_STREAM
from cicl_assets.slo.status import SLO_STATUS
from cicl_assets.telemetry.formats import OTEL_STREAM
from cicl_assets.warehouse.base import IN_ARRAY, Warehouse
from cicl_assets.warehouse.tables import INGESTED_FILES, NULL_PARTITION, utcnow
from sensors.slo_partitions import latest_day_source_id, latest_storage_id

KEY = "cicl/batch_progress"
# Streams whose files' days are the days the derived work refreshes.
DAY_STREAMS = (OTEL_STREAM.name, SLO_STREAM.name)
# ingested_files is read from the first pending run's start on (partition pruning), less this
# much, so that a writer's clock stepping back a little loses no file.
CLOCK_MARGIN = timedelta(hours=1)


@dataclass(frozen=True)
class BatchProgress:
    spans_after: int | None = None
    status_after: int | None = None
    pending_runs: tuple[str, ...] = ()
    pending_since: datetime | None = None

    @classmethod
    def load(cls, instance: dg.DagsterInstance) -> BatchProgress:
        text = instance.run_storage.get_cursor_values({KEY}).get(KEY)
        if not text:
            # An instance older than this record: what it holds was refreshed and reviewed by
            # the runs that made it (the first record is saved before any ingest).
            return cls(
                spans_after=latest_day_source_id(instance),
                status_after=latest_storage_id(instance, SLO_STATUS.name),
            )
        stored = json.loads(text)
        since = stored.get("pending_since")
        return cls(
            spans_after=stored.get("spans_after"),
            status_after=stored.get("status_after"),
            pending_runs=tuple(stored.get("pending_runs") or ()),
            pending_since=datetime.fromisoformat(since) if since else None,
        )

    def save(self, instance: dg.DagsterInstance) -> None:
        instance.run_storage.set_cursor_values(
            {
                KEY: json.dumps(
                    {
                        "spans_after": self.spans_after,
                        "status_after": self.status_after,
                        "pending_runs": list(self.pending_runs),
                        "pending_since": self.pending_since.isoformat()
                        if self.pending_since
                        else None,
                    }
                )
            }
        )

    def started(self, run_id: str) -> BatchProgress:
        """With the landing_batch run ``run_id`` about to start."""
        return replace(
            self,
            pending_runs=(*self.pending_runs, run_id),
            pending_since=self.pending_since or utcnow(),
        )

    def refreshed(self, spans_after: int | None) -> BatchProgress:
        """The days of every pending run and of materializations up to ``spans_after`` are
        refreshed."""
        return replace(
            self,
            spans_after=spans_after if spans_after is not None else self.spans_after,
            pending_runs=(),
            pending_since=None,
        )

    def reviewed(self, status_after: int | None) -> BatchProgress:
        if status_after is None:
            return self
        return replace(self, status_after=status_after)


def pending_days(warehouse: Warehouse, progress: BatchProgress) -> list[date]:
    """Days holding rows of the day streams' files that the pending runs recorded."""
    if not progress.pending_runs or not warehouse.table_exists(INGESTED_FILES.name):
        return []
    since = (progress.pending_since or utcnow()) - CLOCK_MARGIN
    rows = warehouse.query(
        "SELECT partitions FROM ingested_files WHERE ingested_at >= @since "
        f"AND run_id IN {IN_ARRAY.format(param='runs')} "
        f"AND stream IN {IN_ARRAY.format(param='streams')} AND status = 'ingested'",
        {"since": since, "runs": list(progress.pending_runs), "streams": list(DAY_STREAMS)},
    ).to_pylist()
    days = {p for r in rows for p in r["partitions"] or () if p != NULL_PARTITION}
    return sorted(date.fromisoformat(d) for d in days)
