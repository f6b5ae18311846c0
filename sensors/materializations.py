"""Reading an asset's materializations from the instance, page by page, oldest first."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg

PAGE = 1000


def materializations_after(
    instance: dg.DagsterInstance, asset: str, after_storage_id: int | None
) -> Iterator[dg.EventLogRecord]:
    """Every materialization of ``asset`` stored after the storage id, oldest first."""
    newest = after_storage_id
    while True:
        found = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), after_storage_id=newest),
            limit=PAGE,
            ascending=True,
        )
        for record in found.records:
            newest = record.storage_id
            yield record
        if not found.has_more:
            return
