"""infra_apply_evidence: for every infrastructure apply, the post-apply verification of each
target the gates file names (the GKE cluster, the Cloud SQL instance, the Redis instance),
present and passing, failed, or named as missing.

A verification is a `cicl.audit_step/v1` line with step ``post-apply-verify`` whose details name
the apply log it verifies (``apply_log``, the log's landing path) and its ``target``
(docs/native-formats.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
import pyarrow as pa

from cicl_assets.compliance.policy import load_gates
from cicl_assets.metadata import table_metadata
from cicl_assets.resources import CiclConfig
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.tables import JSON, UTC_TS, TableSpec

VERIFY_STEP = "post-apply-verify"
CHECK = "infra_applies_verified"

INFRA_APPLY_EVIDENCE = TableSpec(
    name="infra_apply_evidence",
    description=(
        "One row per infrastructure apply (an apply log): its outcome, the post-apply "
        "verification of each target config/policies/gates.yaml names (passed, failed or "
        "missing), and a verdict pass | fail with every reason."
    ),
    schema=pa.schema(
        [
            ("apply_id", pa.string()),
            ("environment", pa.string()),
            ("applied_at", UTC_TS),
            ("source_file", pa.string()),
            ("apply_outcome", pa.string()),
            ("verifications", JSON),
            ("verdict", pa.string()),
            ("reasons", pa.string()),
        ]
    ),
    time_column="applied_at",
    cluster_by=("environment",),
    json_columns=("verifications",),
    column_docs={
        "apply_outcome": "summary (the apply completed), failed or incomplete",
        "verifications": "JSON object: target -> passed | failed | missing",
    },
)


def _details(event: Mapping[str, Any]) -> dict[str, Any]:
    raw = event.get("details")
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else raw or {}
    except ValueError:
        return {}
    inner = parsed.get("details") if isinstance(parsed, Mapping) else None
    return dict(inner) if isinstance(inner, Mapping) else dict(parsed or {})


def _names(source_file: str, apply_log: Any) -> bool:
    log = str(apply_log or "")
    return bool(log) and (source_file == log or source_file.endswith("/" + log.lstrip("/")))


def judge_apply(
    apply: Mapping[str, Any], events: Sequence[Mapping[str, Any]], targets: Sequence[str]
) -> dict[str, Any]:
    """The evidence row of one apply from the verification events of its environment."""
    source = str(apply.get("source_file") or "")
    mine = [
        (d, e)
        for e in events
        if e.get("environment") == apply.get("environment")
        for d in [_details(e)]
        if _names(source, d.get("apply_log"))
    ]
    verifications, reasons = {}, []
    for target in targets:
        found = [e for d, e in mine if d.get("target") == target]
        if not found:
            verifications[target] = "missing"
            reasons.append(f"post-apply verification of {target} is missing")
        elif any(e.get("outcome") == "success" for e in found):
            verifications[target] = "passed"
        else:
            verifications[target] = "failed"
            reasons.append(f"post-apply verification of {target} failed")
    if apply.get("outcome") != "summary":
        reasons.insert(0, f"the apply did not complete ({apply.get('outcome')})")
    return {
        "apply_id": apply.get("apply_id"),
        "environment": apply.get("environment"),
        "applied_at": apply.get("applied_at"),
        "source_file": source,
        "apply_outcome": apply.get("outcome"),
        "verifications": json.dumps(verifications, sort_keys=True),
        "verdict": "fail" if reasons else "pass",
        "reasons": "; ".join(reasons),
    }


def read_applies(warehouse: Warehouse) -> list[dict[str, Any]]:
    """One row per apply log: its summary, failed or incomplete row."""
    if not warehouse.table_exists("infra_apply_logs"):
        return []
    return warehouse.query(
        "SELECT apply_id, environment, applied_at, source_file, outcome FROM infra_apply_logs "
        "WHERE address IS NULL AND outcome IN ('summary', 'failed', 'incomplete') "
        "ORDER BY applied_at, apply_id"
    ).to_pylist()


def read_verifications(warehouse: Warehouse) -> list[dict[str, Any]]:
    if not warehouse.table_exists("audit_events"):
        return []
    return warehouse.query(
        "SELECT environment, outcome, details FROM audit_events "
        "WHERE source = 'cicl_ci' AND action = @step",
        {"step": VERIFY_STEP},
    ).to_pylist()


@dg.asset(
    name=INFRA_APPLY_EVIDENCE.name,
    group_name="compliance",
    kinds={"python", "sql"},
    owners=["team:compliance"],
    deps=["infra_apply_logs", "audit_events"],
    description=INFRA_APPLY_EVIDENCE.description,
    check_specs=[
        dg.AssetCheckSpec(
            CHECK,
            asset=INFRA_APPLY_EVIDENCE.name,
            description="Every infrastructure apply completed and was verified afterwards "
            "(each target of config/policies/gates.yaml); names each one that was not.",
        )
    ],
)
def infra_apply_evidence(warehouse: Warehouse, cicl_config: CiclConfig):
    """Each infrastructure apply's post-apply verifications: present, failed or missing."""
    targets = load_gates(cicl_config.path).post_apply_targets
    events = read_verifications(warehouse)
    rows = [judge_apply(a, events, targets) for a in read_applies(warehouse)]
    warehouse.replace_table(INFRA_APPLY_EVIDENCE, INFRA_APPLY_EVIDENCE.from_records(rows))
    failing = [r for r in rows if r["verdict"] == "fail"]
    yield dg.MaterializeResult(
        metadata={
            **table_metadata(
                INFRA_APPLY_EVIDENCE, warehouse, ["source_file", "verifications", "verdict"]
            ),
            "applies_failing": len(failing),
        }
    )
    yield dg.AssetCheckResult(
        check_name=CHECK,
        passed=not failing,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(f"{r['source_file']}: {r['reasons']}" for r in failing)
        or "every apply completed and was verified",
        metadata={"applies": dg.MetadataValue.json([r["source_file"] for r in failing])},
    )
