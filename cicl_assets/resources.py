"""The resource set the settings pick: CICL_WAREHOUSE chooses the warehouse, the rest are fields.

Resource fields are shown in the Dagster UI, so none holds a secret: the BigQuery key is a
``dagster.EnvVar`` (the UI shows its name), whose value, literal or ``gcp-sm://`` reference, the
warehouse resolves when it builds its client.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from cicl_assets.ci.attestations.signing import AttestationTrust, attestation_trust
from cicl_assets.landing.zone import LandingZone
from cicl_assets.settings import DEFAULT_SLO_BREACH_COOLDOWN_MINUTES, Settings
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse


class CiclConfig(dg.ConfigurableResource):
    """The configuration beyond storage: the data-not-code config directory (SLO specs, price
    table, reviewers, policies), the outbox, the attestation key and the SLO breach cooldown."""

    config_dir: str = Field(default="config")
    outbox_uri: str = Field(default=".cicl/outbox")
    attestation_public_key: str | None = Field(
        default=None,
        description="PEM public key attestations must be signed with (CICL_ATTESTATION_PUBLIC_KEY); "
        "when unset, the key policies/attestation.yaml names",
    )
    slo_breach_cooldown_minutes: int = Field(
        default=DEFAULT_SLO_BREACH_COOLDOWN_MINUTES,
        ge=0,
        description="minutes an ongoing SLO alert waits before it triggers another review",
    )

    @property
    def path(self) -> Path:
        return Path(self.config_dir)

    @property
    def slo_breach_cooldown(self) -> timedelta:
        return timedelta(minutes=self.slo_breach_cooldown_minutes)

    def attestation_trust(self) -> AttestationTrust:
        """The key attestation parsers verify against, read and checked once per call."""
        return attestation_trust(self.attestation_public_key, self.path)


def build_warehouse(settings: Settings) -> Warehouse:
    timeout_s = float(settings.query_timeout_seconds)
    if settings.warehouse == "duckdb":
        return DuckDBWarehouse(path=settings.duckdb_path, timeout_s=timeout_s)
    from cicl_assets.warehouse.bigquery_warehouse import BigQueryWarehouse

    return BigQueryWarehouse(
        timeout_s=timeout_s,
        project=settings.bq_project,
        dataset=settings.bq_dataset,
        location=settings.bq_location,
        gcp_credentials=dg.EnvVar("CICL_BQ_CREDENTIALS")
        if settings.bq_credentials is not None
        else None,
    )


def build_resources(settings: Settings | None = None) -> dict[str, Any]:
    settings = settings or Settings.from_env()
    return {
        "warehouse": build_warehouse(settings),
        "landing": LandingZone(
            uri=settings.landing_uri,
            max_file_bytes=settings.max_file_bytes,
            max_inflated_bytes=settings.max_inflated_bytes,
        ),
        "cicl_config": CiclConfig(
            config_dir=str(settings.config_dir),
            outbox_uri=settings.outbox_uri,
            attestation_public_key=settings.attestation_public_key,
            slo_breach_cooldown_minutes=settings.slo_breach_cooldown_minutes,
        ),
    }
