"""Assets of the compliance group: each deployment's evidence and verdict, rollback targets."""

from __future__ import annotations

from collections import Counter
from typing import Any

import dagster as dg
import pyarrow as pa

from cicl_assets.audit.chain import record_action
from cicl_assets.audit.notary import ChainError
from cicl_assets.compliance.apply_evidence import infra_apply_evidence
from cicl_assets.compliance.bundle_assets import (
    BUNDLES_DESCRIPTION,
    EVIDENCE_BUNDLES,
    cut_bundles,
)
from cicl_assets.compliance.evidence import evidence_row, gather, read_deployments
from cicl_assets.compliance.policy import load_gates, load_windows
from cicl_assets.compliance.report_assets import compliance_report
from cicl_assets.compliance.rollback import check_rollbacks
from cicl_assets.compliance.rollback import rollback_targets as targets_of
from cicl_assets.compliance.tables import DEPLOYMENT_EVIDENCE, ROLLBACK_CHECKS, ROLLBACK_TARGETS
from cicl_assets.deployments.summary import EXECUTED
from cicl_assets.metadata import markdown_table, table_metadata
from cicl_assets.resources import CiclConfig
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.tables import utcnow

OWNERS = ["team:compliance"]
GATE_CHECK = "production_deploys_passed_gate"
ROLLBACK_CHECK = "rollbacks_went_to_known_good"
_DEPS = [
    "deployments",
    "ci_runs",
    "ci_findings",
    "ci_test_cases",
    "ci_sbom_components",
    "ci_attestations",
    "audit_events",
]


def failing_production(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Production deployments that went out (ran) with a failing verdict."""
    return [
        r
        for r in rows
        if r["environment"] == "production" and r["status"] in EXECUTED and r["verdict"] == "fail"
    ]


def chain_rollbacks(
    warehouse: Warehouse, cicl_config: CiclConfig, checks: list[dict[str, Any]]
) -> str | None:
    """Append each rollback, with its from and to digests, to the audit chain (once each);
    returns why it could not be, or None."""
    try:
        notary = cicl_config.chain_notary(warehouse)
        for c in checks:
            record_action(
                warehouse,
                action="rollback",
                actor="cicl",
                resource=f"deployment/{c['deployment_id']}",
                outcome="success" if c["ok"] else "failure",
                environment=c["environment"],
                image_digest=c["to_digest"],
                details={
                    "rollback_of": c["rollback_of"],
                    "service": c["service"],
                    "from_digest": c["from_digest"],
                    "to_digest": c["to_digest"],
                    "known_good_digest": c["known_good_digest"],
                    "finding": c["finding"],
                },
                event_id=f"rollback:{c['deployment_id']}",
                event_time=c["started_at"],
                notary=notary,
            )
    except (ChainError, ValueError) as exc:
        return str(exc)
    return None


def _spec(table, deps: list[str]) -> dg.AssetSpec:
    return dg.AssetSpec(
        table.name,
        group_name="compliance",
        kinds={"python", "sql"},
        owners=OWNERS,
        deps=deps,
        description=table.description,
    )


@dg.multi_asset(
    name="compliance_evidence",
    specs=[
        _spec(DEPLOYMENT_EVIDENCE, _DEPS),
        _spec(ROLLBACK_TARGETS, [DEPLOYMENT_EVIDENCE.name]),
        _spec(ROLLBACK_CHECKS, [DEPLOYMENT_EVIDENCE.name]),
        dg.AssetSpec(
            EVIDENCE_BUNDLES,
            group_name="compliance",
            kinds={"python"},
            owners=OWNERS,
            deps=[DEPLOYMENT_EVIDENCE.name],
            description=BUNDLES_DESCRIPTION,
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            ROLLBACK_CHECK,
            asset=ROLLBACK_TARGETS.name,
            description="Every rollback went to a digest that was known good at its start, and "
            "is in the audit chain with its from and to digests.",
        ),
        # Evaluated last, after every table is written: a failing gate must not stop the
        # evidence that shows the failure to auditors, only what a run does after it.
        dg.AssetCheckSpec(
            GATE_CHECK,
            asset=DEPLOYMENT_EVIDENCE.name,
            blocking=True,
            description="No production deployment went out with a failing verdict; names each "
            "one that did, with its reasons.",
        ),
    ],
    can_subset=False,
)
def compliance_evidence(warehouse: Warehouse, cicl_config: CiclConfig):
    """Each deployment's evidence and verdict; from them, the rollback targets, the check of
    every rollback (each appended to the audit chain) and the production evidence bundles."""
    policy, windows = load_gates(cicl_config.path), load_windows(cicl_config.path)
    now = utcnow()
    facts = gather(warehouse, read_deployments(warehouse))
    rows = [evidence_row(f, policy, windows, now) for f in facts]
    warehouse.replace_table(DEPLOYMENT_EVIDENCE, DEPLOYMENT_EVIDENCE.from_records(rows))
    failing = failing_production(rows)
    verdicts = Counter((r["environment"] or "unknown", r["verdict"]) for r in rows)
    yield dg.MaterializeResult(
        asset_key=DEPLOYMENT_EVIDENCE.name,
        metadata={
            **table_metadata(
                DEPLOYMENT_EVIDENCE,
                warehouse,
                ["deployment_id", "environment", "service", "verdict", "reasons"],
            ),
            **{f"verdicts/{env}/{v}": n for (env, v), n in sorted(verdicts.items())},
            "production_deploys_failing_gate": len(failing),
        },
    )
    warehouse.replace_table(ROLLBACK_TARGETS, ROLLBACK_TARGETS.from_records(targets_of(rows, now)))
    checks = check_rollbacks(rows)
    warehouse.replace_table(ROLLBACK_CHECKS, ROLLBACK_CHECKS.from_records(checks))
    refused = chain_rollbacks(warehouse, cicl_config, checks)
    bad = [c for c in checks if not c["ok"]]
    yield dg.MaterializeResult(
        asset_key=ROLLBACK_TARGETS.name,
        metadata={
            **table_metadata(ROLLBACK_TARGETS, warehouse, ["service", "environment", "version"]),
            **({"rollbacks_not_chained": refused} if refused else {}),
        },
    )
    yield dg.MaterializeResult(
        asset_key=ROLLBACK_CHECKS.name,
        metadata={
            **table_metadata(ROLLBACK_CHECKS, warehouse, ["deployment_id", "ok", "finding"]),
            "rollbacks": len(checks),
            "rollbacks_not_to_known_good": len(bad),
        },
    )
    yield cut_bundles(warehouse, cicl_config)
    yield dg.AssetCheckResult(
        asset_key=ROLLBACK_TARGETS.name,
        check_name=ROLLBACK_CHECK,
        passed=not bad and refused is None,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join([c["finding"] for c in bad] + ([refused] if refused else []))
        or "every rollback went to a known-good digest",
        metadata={"deployments": dg.MetadataValue.json([c["deployment_id"] for c in bad])},
    )
    yield gate_result(failing)


def gate_result(failing: list[dict[str, Any]]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=DEPLOYMENT_EVIDENCE.name,
        check_name=GATE_CHECK,
        passed=not failing,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            "every production deployment passed its gate"
            if not failing
            else "production deployments that went out failing: "
            + ", ".join(r["deployment_id"] for r in failing)
        ),
        metadata={
            "failing": len(failing),
            "deployments": dg.MetadataValue.json([r["deployment_id"] for r in failing]),
            "reasons": dg.MetadataValue.md(
                markdown_table(
                    pa.Table.from_pylist(
                        [
                            {"deployment_id": r["deployment_id"], "reasons": r["reasons"]}
                            for r in failing
                        ]
                    ),
                    max_rows=50,
                )
                if failing
                else "_none_"
            ),
        },
    )


ASSETS: list = [compliance_evidence, infra_apply_evidence, compliance_report]
CHECKS: list = []
