"""One warehouse interface, two real backends (embedded DuckDB, BigQuery)."""

from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.tables import TableSpec

__all__ = ["TableSpec", "Warehouse"]
