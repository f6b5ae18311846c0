"""Apply the evidence retention policy to the warehouse (see retention_policy for the rules)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

from cicl_assets.infra.retention_policy import (
    EVENT_TIME_COLUMNS,
    RetentionPolicy,
    checked_table,
    choose_as_of,
)
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.tables import UTC_TS, TableSpec

EVIDENCE_RETENTION = TableSpec(
    name="evidence_retention",
    description=(
        "One row per table per retention run: the as_of it measured expiry against, why that "
        "as_of, the days kept and how many expired rows it deleted."
    ),
    schema=pa.schema(
        [
            ("run_at", UTC_TS),
            ("run_id", pa.string()),
            ("as_of", UTC_TS),
            ("as_of_basis", pa.string()),
            ("table_name", pa.string()),
            ("keep_days", pa.int64()),
            ("rows_deleted", pa.int64()),
        ]
    ),
    time_column="run_at",
)


@dataclass
class RetentionOutcome:
    as_of: datetime
    as_of_basis: str
    deleted: dict[str, int] = field(default_factory=dict)


def _scalar(warehouse: Warehouse, sql: str, params: dict | None = None):
    return warehouse.query(sql, params).column(0)[0].as_py()


def newest_event_time(warehouse: Warehouse) -> datetime | None:
    newest = None
    for table, column in EVENT_TIME_COLUMNS.items():
        if not warehouse.table_exists(checked_table(table)):
            continue
        value = _scalar(warehouse, f"SELECT MAX({column}) AS t FROM {table}")
        if value is not None and (newest is None or value > newest):
            newest = value
    return newest


def delete_expired(warehouse: Warehouse, table: str, as_of: datetime) -> int:
    """Delete the rows of an allow-listed table whose expires_at is before as_of."""
    name = checked_table(table)
    if not warehouse.table_exists(name):
        return 0
    params = {"as_of": as_of}
    n = int(
        _scalar(warehouse, f"SELECT COUNT(*) AS n FROM {name} WHERE expires_at < @as_of", params)
    )
    if n:
        warehouse.execute(f"DELETE FROM {name} WHERE expires_at < @as_of", params)
    return n


def apply_retention(
    warehouse: Warehouse, policy: RetentionPolicy, wall_clock: datetime
) -> RetentionOutcome:
    newest = newest_event_time(warehouse) if policy.clock == "data" else None
    as_of, basis = choose_as_of(policy.as_of, newest, wall_clock, policy.clock)
    outcome = RetentionOutcome(as_of, basis)
    for table in policy.keep_days:
        outcome.deleted[table] = delete_expired(warehouse, table, as_of)
    return outcome
