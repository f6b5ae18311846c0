"""Shared fixtures. Emulator-backed warehouses join ``any_warehouse`` when the harness starts them."""

from __future__ import annotations

import pytest

from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse

WAREHOUSE_KINDS = ["duckdb"]


@pytest.fixture
def duckdb_warehouse(tmp_path) -> DuckDBWarehouse:
    return DuckDBWarehouse(path=str(tmp_path / "warehouse.duckdb"))


@pytest.fixture(params=WAREHOUSE_KINDS)
def any_warehouse(request, tmp_path):
    """A fresh, empty warehouse of each kind: the same test runs on every backend."""
    if request.param == "duckdb":
        return DuckDBWarehouse(path=str(tmp_path / "warehouse.duckdb"))
    raise AssertionError(f"unknown warehouse kind {request.param}")
