"""The resource set the settings pick: CICL_WAREHOUSE chooses the warehouse, the rest are fields.

Resource fields are shown in the Dagster UI, so none holds a secret: the BigQuery key, the
signing key and the redaction key are ``dagster.EnvVar``s (the UI shows their names), whose
values, literal or ``gcp-sm://`` reference, are resolved where they are used. Writes outside
ingestion (audit events, reports) redact with the same key: ``build_resources`` makes it the
process's default redaction policy.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from cicl_assets.audit.notary import ChainNotary, warehouse_location
from cicl_assets.ci.attestations.signing import AttestationTrust, attestation_trust
from cicl_assets.ingest.redact import configure_default as configure_default_redaction
from cicl_assets.ingest.redaction_key import RedactionPolicy, load_redaction_key
from cicl_assets.landing.zone import LandingZone
from cicl_assets.outbox import open_outbox
from cicl_assets.platform_repo import PlatformRepo, open_platform_repo
from cicl_assets.secrets import parse_secret, resolve_secret
from cicl_assets.settings import (
    DEFAULT_SLO_BREACH_COOLDOWN_MINUTES,
    DEFAULT_TRUST_FILE,
    Settings,
)
from cicl_assets.signer import Ed25519Signer, Trust, load_signer, load_trust
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from cicl_assets.warehouse.tables import utcnow

# The branch of a git outbox that holds the audit chain's records (one commit per record).
CHAIN_BRANCH = "cicl-audit-chain"


class CiclConfig(dg.ConfigurableResource):
    """The configuration beyond storage: the data-not-code config directory (SLO specs, price
    table, reviewers, policies), the outbox, the attestation key, cicl's signing key and the keys
    it trusts, and the SLO breach cooldown."""

    config_dir: str = Field(default="config")
    outbox_uri: str = Field(default=".cicl/outbox")
    attestation_public_key: str | None = Field(
        default=None,
        description="PEM public key attestations must be signed with (CICL_ATTESTATION_PUBLIC_KEY); "
        "when unset, the key policies/attestation.yaml names",
    )
    signing_key: str | None = Field(
        default=None,
        description="ed25519 private key cicl signs with, or a gcp-sm:// reference to one; set "
        "only through dagster.EnvVar (CICL_SIGNING_KEY); when unset, chain heads are unsigned",
    )
    trust_file: str | None = Field(
        default=None,
        description="keys whose signatures are accepted (CICL_TRUST_FILE); when unset, "
        "trust/keys.yaml in the config directory",
    )
    slo_breach_cooldown_minutes: int = Field(
        default=DEFAULT_SLO_BREACH_COOLDOWN_MINUTES,
        ge=0,
        description="minutes an ongoing SLO alert waits before it triggers another review",
    )

    platform_repo_uri: str | None = Field(
        default=None,
        description="the platform repository candidates change (CICL_PLATFORM_REPO): a path, "
        "file:// or any git URL; when unset, no candidates are generated",
    )
    platform_repo_token: str | None = Field(
        default=None,
        description="HTTPS token for a remote platform repository, or a gcp-sm:// reference; "
        "set only through dagster.EnvVar (CICL_PLATFORM_REPO_TOKEN)",
    )
    state_dir: str = Field(
        default=".cicl", description="local state (a remote platform repository's mirror)"
    )
    retention_clock: str | None = Field(
        default=None,
        description="wall or data (CICL_RETENTION_CLOCK): overrides the retention policy's clock",
    )
    release_clock: str | None = Field(
        default=None,
        description="wall or data (CICL_RELEASE_CLOCK): what a release is dated by; data, the "
        "newest span no later than now (a replay of old traffic, as the demo's)",
    )
    identity_tag: str | None = Field(
        default=None,
        description="run tag holding the reviewer identity a login proxy vouched for "
        "(CICL_IDENTITY_TAG); Dagster+'s dagster/user is always read",
    )
    require_identity: bool = Field(
        default=False,
        description="refuse a review whose run carries no identity tag (CICL_REQUIRE_IDENTITY)",
    )

    @property
    def path(self) -> Path:
        return Path(self.config_dir)

    def platform_repo(self) -> PlatformRepo | None:
        """The platform repository, read at its HEAD (a remote one fetched first); None when
        none is configured."""
        if not self.platform_repo_uri:
            return None
        token = None
        if self.platform_repo_token:
            secret = parse_secret("CICL_PLATFORM_REPO_TOKEN", self.platform_repo_token)
            token = resolve_secret(secret).reveal()
        return open_platform_repo(
            self.platform_repo_uri, Path(self.state_dir) / "platform-repo.git", token
        )

    @property
    def slo_breach_cooldown(self) -> timedelta:
        return timedelta(minutes=self.slo_breach_cooldown_minutes)

    def attestation_trust(self) -> AttestationTrust:
        """The key attestation parsers verify against, read and checked once per call."""
        return attestation_trust(self.attestation_public_key, self.path)

    def signer(self) -> Ed25519Signer | None:
        """cicl's signing key, resolved from Secret Manager when it is a reference."""
        if not self.signing_key:
            return None
        return load_signer(parse_secret("CICL_SIGNING_KEY", self.signing_key))

    def trust(self) -> Trust:
        return load_trust(
            Path(self.trust_file) if self.trust_file else self.path / DEFAULT_TRUST_FILE
        )

    def chain_notary(self, warehouse: Warehouse) -> ChainNotary:
        """Where ``warehouse``'s audit chain heads are published and how they are signed;
        ValueError when the signing key is not one the trust file accepts now."""
        signer, trust = self.signer(), self.trust()
        if signer is not None:
            trusted = trust.find(signer.key_id)
            if trusted is None or not trusted.covers(utcnow()):
                raise ValueError(
                    f"CICL_SIGNING_KEY: key {signer.key_id} is not trusted now by {trust.origin}: "
                    "every head it signed would be refused"
                )
        return ChainNotary(
            store=open_outbox(self.outbox_uri, git_branch=CHAIN_BRANCH),
            location=warehouse_location(warehouse),
            signer=signer,
            trust=trust,
        )


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
    configure_default_redaction(
        lambda: RedactionPolicy(
            load_redaction_key(settings.redaction_key, settings.state_dir),
            settings.extra_secret_key_patterns,
        )
    )
    return {
        "warehouse": build_warehouse(settings),
        "landing": LandingZone(
            uri=settings.landing_uri,
            max_file_bytes=settings.max_file_bytes,
            max_inflated_bytes=settings.max_inflated_bytes,
            state_dir=settings.state_dir,
            redaction_key=dg.EnvVar("CICL_REDACTION_KEY")
            if settings.redaction_key is not None
            else None,
            extra_secret_key_patterns=list(settings.extra_secret_key_patterns),
        ),
        "cicl_config": CiclConfig(
            config_dir=str(settings.config_dir),
            outbox_uri=settings.outbox_uri,
            attestation_public_key=settings.attestation_public_key,
            signing_key=dg.EnvVar("CICL_SIGNING_KEY") if settings.signing_key is not None else None,
            trust_file=str(settings.trust_file) if settings.trust_file else None,
            slo_breach_cooldown_minutes=settings.slo_breach_cooldown_minutes,
            platform_repo_uri=settings.platform_repo,
            platform_repo_token=dg.EnvVar("CICL_PLATFORM_REPO_TOKEN")
            if settings.platform_repo_token is not None
            else None,
            state_dir=settings.state_dir,
            retention_clock=settings.retention_clock,
            release_clock=settings.release_clock,
            identity_tag=settings.identity_tag,
            require_identity=settings.require_identity,
        ),
    }
