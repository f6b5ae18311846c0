"""A small warehouse for the auditor's report, from inputs of our own: the deployments, runs and
audit events of test_compliance_evidence (d1 good in October; d2 outside its window, in
October; d3 under an expired waiver, d4 a rollback to a known-good digest, d5 one to a digest
that was not, in November), a staging deploy whose service and version are hostile markup, and
a few rows of every other table the report reads."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from cicl_assets.compliance.assets import compliance_evidence
from cicl_assets.delivery.tables import DORA_METRICS
from cicl_assets.deployments.tables import DEPLOYMENTS
from cicl_assets.infra.retention import EVIDENCE_RETENTION
from cicl_assets.infra.tables import INFRA_DRIFT_ISSUES
from cicl_assets.resources import CiclConfig
from cicl_assets.signer import Ed25519Signer
from cicl_assets.slo.status import SLO_STATUS
from cicl_assets.warehouse.base import Warehouse
from tests.integration.test_compliance_evidence import seed
from tests.signing_keys import signed_config

HOSTILE_SERVICE = "<script>alert(1)</script>"
HOSTILE_VERSION = '"><img src=x onerror=alert(2)>'


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def slo_row(name: str, when: datetime, budget: float, sli: float, alert: str) -> dict:
    return {
        "slo_name": name,
        "service": "tool-worker",
        "sli_kind": "availability",
        "target": 0.99,
        "evaluation_time": when,
        "budget_window": "30d",
        "sli": sli,
        "error_budget_remaining": budget,
        "alert": alert,
    }


def dora_row(day: int, deployments: int, failed: int) -> dict:
    return {
        "service": "tool-worker",
        "environment": "production",
        "period": "30d",
        "period_start": at(10, day),
        "period_end": at(11, day),
        "as_of": at(11, day),
        "deployments": deployments,
        "deploys_per_day": deployments / 30,
        "deployment_frequency_band": "medium",
        "lead_time_median_h": 30.5,
        "lead_time_band": "high",
        "failed_deployments": failed,
        "change_failure_rate": failed / deployments,
        "change_failure_rate_band": "low",
        "recovery_median_h": 0.5,
        "recovery_band": "elite",
    }


def drift_row(issue: str, opened: datetime, resolved: datetime | None) -> dict:
    return {
        "drift_issue_id": issue,
        "environment": "production",
        "address": f"google_container_node_pool.{issue}",
        "status": "open" if resolved is None else "resolved",
        "opened_at": opened,
        "last_seen_at": resolved or opened,
        "resolved_at": resolved,
        "occurrences": 2,
    }


def build(warehouse: Warehouse, root: Path) -> CiclConfig:
    """Seed ``warehouse``, judge its deployments (bundles and chain in ``root``/outbox)."""
    seed(warehouse)
    hostile = {
        "deployment_id": "s-hostile",
        "environment": "staging",
        "service": HOSTILE_SERVICE,
        "version": HOSTILE_VERSION,
        "image_digest": "sha256:" + "e" * 64,
        "status": "succeeded",
        "started_at": at(11, 4, 12),
        "finished_at": at(11, 4, 12, 5),
        "actor": "release-manager",
    }
    warehouse.append(DEPLOYMENTS, DEPLOYMENTS.from_records([hostile]))
    config = signed_config(root, Ed25519Signer.generate())
    result = dg.materialize(
        [compliance_evidence],
        resources={"warehouse": warehouse, "cicl_config": config},
        raise_on_error=False,
    )
    assert result.get_asset_check_evaluations()  # the gate was judged (and failed: d2, d3, d5)
    warehouse.append(
        SLO_STATUS,
        SLO_STATUS.from_records(
            [
                slo_row("worker-availability", at(11, 2, 12), 0.9, 0.999, "none"),
                slo_row("worker-availability", at(11, 2, 18), 0.8, 0.998, "none"),
                slo_row("worker-availability", at(11, 3, 9, 30), 0.4, 0.994, "page"),
                slo_row("worker-availability", at(11, 3, 10), 0.3, 0.993, "page"),
                slo_row("worker-availability", at(11, 4, 10), 0.35, 0.9935, "ticket"),
                slo_row("worker-latency", at(11, 4, 10), 0.95, 0.9995, "none"),
                # October's: outside a November report
                slo_row("worker-availability", at(10, 31, 23), -0.5, 0.95, "page"),
            ]
        ),
    )
    warehouse.append(
        DORA_METRICS, DORA_METRICS.from_records([dora_row(3, 4, 1), dora_row(4, 5, 2)])
    )
    retention = [
        (at(11, 4, 6), "infra_plans", 30, 4),
        (at(11, 4, 6), "infra_apply_logs", 90, 1),
        (at(12, 1, 6), "infra_plans", 30, 9),  # December's: outside a November report
    ]
    warehouse.append(
        EVIDENCE_RETENTION,
        EVIDENCE_RETENTION.from_records(
            [
                {
                    "run_at": when,
                    "run_id": f"r-{when:%m}",
                    "as_of": when,
                    "as_of_basis": "wall clock",
                    "table_name": table,
                    "keep_days": keep,
                    "rows_deleted": n,
                }
                for when, table, keep, n in retention
            ]
        ),
    )
    warehouse.append(
        INFRA_DRIFT_ISSUES,
        INFRA_DRIFT_ISSUES.from_records(
            [
                drift_row("closed_in_nov", at(10, 20), at(11, 2, 6)),
                drift_row("opened_in_nov", at(11, 3, 6), None),
                drift_row("open_since_sep", at(9, 1), None),
                drift_row("closed_in_sep", at(9, 1), at(9, 5)),
                drift_row("opened_in_dec", at(12, 1, 2), None),
            ]
        ),
    )
    return config
