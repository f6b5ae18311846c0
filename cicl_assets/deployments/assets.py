"""Assets of the deployments group: deployment status events and deployments."""

from collections import Counter

import dagster as dg
import pyarrow as pa

from cicl_assets.delivery.tables import COMMIT_PUSHES
from cicl_assets.deployments.stream import DEPLOYMENTS_STREAM
from cicl_assets.deployments.summary import (
    approval_findings,
    deployment_figures,
    match_subjects,
    merge_deployments,
)
from cicl_assets.deployments.tables import DEPLOYMENT_EVENTS, DEPLOYMENTS
from cicl_assets.metadata import counts_by, markdown_table, table_metadata
from cicl_assets.stream_assets import AssetView, DeclaredStream, build_stream_asset
from cicl_assets.warehouse.base import Warehouse

OWNERS = ["team:platform"]
_PREVIEW = ["deployment_id", "environment", "service", "status", "provider", "image_digest"]


def events_by_provider(warehouse: Warehouse) -> dict[str, int]:
    rows = counts_by(warehouse, DEPLOYMENT_EVENTS.name, "provider")
    return {f"events/{provider}": n for provider, n in sorted(rows.items(), key=str)}


DEPLOYMENT_EVENTS_STREAM = DeclaredStream(
    spec=DEPLOYMENTS_STREAM,
    group="deployments",
    owners=tuple(OWNERS),
    kinds=frozenset({"python", "json"}),
    views=(
        AssetView(DEPLOYMENT_EVENTS, (*_PREVIEW, "event_at"), (events_by_provider,)),
        AssetView(COMMIT_PUSHES, ("sha", "repo", "branch", "author", "committed_at", "message")),
    ),
    op_name="deployments_landing",
    reads="cicl.deployment/v1 records, GitHub deployment, deployment_status and push webhooks, "
    "GitLab deployment and push hooks and Cloud Build messages, recognised by content",
)

deployment_events = build_stream_asset(DEPLOYMENT_EVENTS_STREAM)


ATTESTATIONS_TABLE = "ci_attestations"


def _attestations(warehouse: Warehouse) -> list[dict]:
    """Attested image digests and whether they verified; none before any CI run landed."""
    if not warehouse.table_exists(ATTESTATIONS_TABLE):
        return []
    return warehouse.query(
        f"SELECT subject_digest, verification, predicate_type FROM {ATTESTATIONS_TABLE}"
    ).to_pylist()


@dg.asset(
    name=DEPLOYMENTS.name,
    group_name="deployments",
    kinds={"python", "sql"},
    owners=OWNERS,
    deps=[DEPLOYMENT_EVENTS.name, ATTESTATIONS_TABLE],
    description=DEPLOYMENTS.description,
    check_specs=[
        dg.AssetCheckSpec(
            "production_deploys_approved",
            asset=DEPLOYMENTS.name,
            blocking=False,
            description=(
                "Every production deployment that ran has an approver, an approved_at before it "
                "started, and started inside its change window."
            ),
        )
    ],
)
def deployments(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """One row per deployment with its latest status, merged from its status events.

    Figures: deployments by environment and status, production deploys without approval
    (should be 0), rollbacks, and the production change failure rate (failed, errored or rolled
    back, or undone by a later rollback, over finished production deployments), and deployments
    by environment and attestation status of their image digest (from ci_attestations).
    """
    warehouse.ensure_table(DEPLOYMENT_EVENTS)
    events = warehouse.read_table(DEPLOYMENT_EVENTS.name).to_pylist()
    rows = merge_deployments(events)
    for row, match in zip(rows, match_subjects(_attestations(warehouse), rows), strict=True):
        row["attestation_status"] = match["status"]
    warehouse.replace_table(DEPLOYMENTS, DEPLOYMENTS.from_records(rows))
    findings = [(d, approval_findings(d)) for d in rows]
    failing = [(d, problems) for d, problems in findings if problems]
    yield dg.MaterializeResult(
        metadata={
            **table_metadata(DEPLOYMENTS, warehouse, _PREVIEW),
            **deployment_figures(rows),
            **{
                f"attestations/{env}/{status}": n
                for (env, status), n in sorted(
                    Counter(
                        (d["environment"] or "unknown", d["attestation_status"]) for d in rows
                    ).items()
                )
            },
            "deployments_by_provider": dg.MetadataValue.json(
                dict(Counter(d["provider"] or "unknown" for d in rows))
            ),
        }
    )
    # A breach of the approval gate is an ERROR (a control failed), but not blocking: stopping
    # here would also stop the deployment evidence that must show the breach to auditors. The
    # gate that prevents an unapproved deploy belongs to the CD pipeline, before it happens.
    yield dg.AssetCheckResult(
        asset_key=DEPLOYMENTS.name,
        check_name="production_deploys_approved",
        passed=not failing,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "production_deploys_failing": len(failing),
            "failing": dg.MetadataValue.md(
                markdown_table(
                    pa.Table.from_pylist(
                        [
                            {
                                "deployment_id": d["deployment_id"],
                                "service": d["service"],
                                "started_at": d["started_at"],
                                "problems": "; ".join(problems),
                            }
                            for d, problems in failing
                        ]
                    ),
                    max_rows=25,
                )
                if failing
                else "_every production deployment was approved and inside its window_"
            ),
        },
    )


ASSETS: list = [deployment_events, deployments]
CHECKS: list = []
