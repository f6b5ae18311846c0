"""Rows shaped like the cl_findings contract (DESIGN.md), built by the delivery evaluations."""

import hashlib
import json
from datetime import datetime
from typing import Any

CL_FINDINGS_COLUMNS = (
    "finding_id", "group_key", "kind", "status", "severity", "title", "service_name",
    "operation", "workflow", "gen_ai_provider", "gen_ai_model", "metric", "baseline_value",
    "current_value", "effect_ratio", "p_value", "n_baseline", "n_current", "method", "change_at",
    "deployment_id", "service_version", "commit_sha", "first_detectable_at", "detected_at",
    "resolved_at", "evidence", "source_file",
)  # fmt: skip


def finding_id(kind: str, series: str, metric: str, anchor: str) -> str:
    """Stable: the same kind, series, metric and deploy (or change hour) give the same id."""
    text = "\x1f".join((kind, series, metric, anchor))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def change_hour(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H")


def finding_row(**values: Any) -> dict[str, Any]:
    """Every cl_findings column present, unknown ones None; evidence as JSON text."""
    unknown = set(values) - set(CL_FINDINGS_COLUMNS)
    if unknown:
        raise KeyError(f"not cl_findings columns: {sorted(unknown)}")
    row = {**dict.fromkeys(CL_FINDINGS_COLUMNS), **values}
    if isinstance(row["evidence"], dict | list):
        row["evidence"] = json.dumps(row["evidence"], sort_keys=True)
    return row
