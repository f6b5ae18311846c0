"""An asset's table metadata: the exact row count and a five-row preview, from one query."""

import pyarrow as pa
import pytest

from cicl_assets.metadata import table_metadata
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from cicl_assets.warehouse.tables import TableSpec

SPEC = TableSpec(
    name="things",
    schema=pa.schema([("name", pa.string()), ("size", pa.int64())]),
    description="one row per thing",
)


class CountingWarehouse(DuckDBWarehouse):
    """DuckDB, remembering the SQL of every query it answers."""

    def query(self, sql, params=None):
        self.__dict__.setdefault("asked", []).append(sql)
        return super().query(sql, params)


@pytest.mark.parametrize(
    ("rows", "columns", "header", "shown"),
    [
        (0, None, None, 0),
        (3, None, "| name | size |", 3),
        (7, None, "| name | size |", 5),
        (7, ["size"], "| size |", 5),
    ],
)
def test_the_count_is_the_tables_and_the_preview_five_rows_of_it(
    tmp_path, rows, columns, header, shown
):
    warehouse = CountingWarehouse(path=str(tmp_path / "w.duckdb"))
    warehouse.append(SPEC, pa.table({"name": [f"t{i}" for i in range(rows)], "size": range(rows)}))
    warehouse.__dict__["asked"] = []
    meta = table_metadata(SPEC, warehouse, columns)
    preview = meta["preview"].value
    lines = preview.splitlines()
    assert {
        "row count": meta["dagster/row_count"],
        "header": lines[0] if rows else None,
        "preview rows": len(lines) - 2 if rows else 0,
        "empty says so": preview == "_no rows_" if not rows else None,
        "queries": len(warehouse.asked),
    } == {
        "row count": rows,
        "header": header,
        "preview rows": shown,
        "empty says so": True if not rows else None,
        "queries": 1,
    }
