"""The one environment switch: CICL_WAREHOUSE picks the resource set."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from cicl_assets.landing.zone import LandingZone
from cicl_assets.settings import Settings
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse


class CiclConfig(dg.ConfigurableResource):
    """Where the data-not-code configuration lives: SLO specs, price table, reviewers, policies."""

    config_dir: str = Field(default="config")
    outbox_uri: str = Field(default=".cicl/outbox")

    @property
    def path(self) -> Path:
        return Path(self.config_dir)


def build_warehouse(settings: Settings) -> Warehouse:
    if settings.warehouse == "duckdb":
        return DuckDBWarehouse(path=settings.duckdb_path)
    from cicl_assets.warehouse.bigquery_warehouse import BigQueryWarehouse

    # A key is only ever read from the environment at run time, never stored in config.
    credentials = (
        dg.EnvVar("CICL_BQ_CREDENTIALS") if os.environ.get("CICL_BQ_CREDENTIALS") else None
    )
    return BigQueryWarehouse(
        project=settings.bq_project,
        dataset=settings.bq_dataset,
        location=settings.bq_location,
        gcp_credentials=credentials,
    )


def build_resources(settings: Settings | None = None) -> dict[str, Any]:
    settings = settings or Settings.from_env()
    return {
        "warehouse": build_warehouse(settings),
        "landing": LandingZone(uri=settings.landing_uri),
        "cicl_config": CiclConfig(
            config_dir=str(settings.config_dir), outbox_uri=settings.outbox_uri
        ),
    }
