"""The data's own clock: which days the files a stream ingested hold rows of, as
``ingested_files`` records them (one row a file), so a reader can find its days without reading
a time-series table that must be read by day."""

from __future__ import annotations

from datetime import date

from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.tables import INGESTED_FILES, NULL_PARTITION


def newest_data_day(warehouse: Warehouse, stream: str, through: date | None = None) -> date | None:
    """The newest day (at or before ``through``, when given) holding rows of any file the stream
    ingested; None when there is none."""
    if not warehouse.table_exists(INGESTED_FILES.name):
        return None
    if warehouse.dialect == "bigquery":
        held = f"{INGESTED_FILES.name}, UNNEST(partitions) AS p"
    else:
        held = f"(SELECT UNNEST(partitions) AS p, stream, status FROM {INGESTED_FILES.name})"
    params = {"stream": stream, "null": NULL_PARTITION}
    bound = ""
    if through is not None:
        # Days are YYYY-MM-DD strings: they order as the dates do.
        bound, params["through"] = " AND p <= @through", through.isoformat()
    newest = warehouse.query(
        f"SELECT MAX(p) AS day FROM {held} WHERE stream = @stream AND status = 'ingested' "
        f"AND p != @null{bound}",
        params,
    ).to_pylist()[0]["day"]
    return None if newest is None else date.fromisoformat(newest)
