"""The `cl_findings` table every evaluation writes and every later stage reads, and the rules
that keep one row per finding: a stable id, updates from newer data, resolution."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
import pyarrow as pa

from cicl_assets.warehouse.base import IN_ARRAY, Warehouse
from cicl_assets.warehouse.tables import JSON, UTC_TS, TableSpec

SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}

CL_FINDINGS = TableSpec(
    name="cl_findings",
    description=(
        "One row per finding of a continuous-learning evaluation (a latency, error, quality or "
        "cost regression, ...): what changed, by how much, how sure, since when, and the deploy "
        "it is attributed to; open until the data shows it recovered."
    ),
    schema=pa.schema(
        [
            ("finding_id", pa.string()),
            ("group_key", pa.string()),
            ("kind", pa.string()),
            ("status", pa.string()),
            ("severity", pa.string()),
            ("title", pa.string()),
            ("series_key", pa.string()),
            ("service_name", pa.string()),
            ("span_name", pa.string()),
            ("operation", pa.string()),
            ("workflow", pa.string()),
            ("gen_ai_provider", pa.string()),
            ("gen_ai_model", pa.string()),
            ("metric", pa.string()),
            ("baseline_value", pa.float64()),
            ("current_value", pa.float64()),
            ("effect_ratio", pa.float64()),
            ("p_value", pa.float64()),
            ("n_baseline", pa.int64()),
            ("n_current", pa.int64()),
            ("method", pa.string()),
            ("change_at", UTC_TS),
            ("deployment_id", pa.string()),
            ("service_version", pa.string()),
            ("commit_sha", pa.string()),
            ("deployed_service", pa.string()),
            ("first_detectable_at", UTC_TS),
            ("data_through", UTC_TS),
            ("detected_at", UTC_TS),
            ("resolved_at", UTC_TS),
            ("evidence", JSON),
            ("source_file", pa.string()),
            ("evaluation", pa.string()),
            ("partition_day", pa.string()),
        ]
    ),
    time_column="change_at",
    cluster_by=("kind", "status"),
    json_columns=("evidence",),
    column_docs={
        "finding_id": "SHA-256 (32 hex) of kind, series, metric and the attributed deploy (or "
        "the change's first hour): the same data gives the same id",
        "group_key": "findings explained by the same deploy (or starting in the same hour "
        "without one) share it",
        "status": "open, resolved or stale",
        "severity": "critical, high, medium or low, from the size of the effect",
        "series_key": "the series as dimension=value pairs",
        "metric": "latency_ms, latency_per_output_token_ms, duration_ms, error_rate, "
        "tokens_per_call, negative_feedback_rate, eval_score:<name>",
        "baseline_value": "median (latencies, scores) or rate before the change",
        "current_value": "the same after the change",
        "change_at": "when the change began: the deploy, or the change point's hour",
        "deployed_service": "the service of the attributed deploy",
        "first_detectable_at": "the data time at which the finding first passed the thresholds",
        "data_through": "the end of the data the finding was last computed from",
        "detected_at": "wall clock of the first run that found it",
        "resolved_at": "when the metric returned to its baseline; null while open",
        "evidence": "JSON: example trace ids, the series' hourly values, the test's detail",
        "evaluation": "the evaluation that wrote the finding (regressions, ...)",
        "partition_day": "the day partition whose run last wrote the row",
    },
)


def finding_id(kind: str, series_key: str, metric: str, anchor: str) -> str:
    """The stable identity: ``anchor`` is the attributed deploy or the change's first hour."""
    text = "\x1f".join((kind, series_key, metric, anchor))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def deploy_anchor(deployment_id: str) -> str:
    """The anchor of findings attributed to a deployment record, whichever evaluation found
    them: a latency regression and a failure mode after the same deploy share a group."""
    return f"deploy:{deployment_id}"


def hour_anchor(at: datetime) -> str:
    """The anchor of a change no deploy explains: the hour it began."""
    return f"hour:{at:%Y-%m-%dT%H}"


def group_key(anchor: str) -> str:
    return hashlib.sha256(f"group\x1f{anchor}".encode()).hexdigest()[:16]


def finding_row(**values: Any) -> dict[str, Any]:
    """A cl_findings row: every column present, those not given None, evidence as JSON text.
    A name that is not a column is refused, so a typo cannot silently drop a value."""
    unknown = set(values) - set(CL_FINDINGS.schema.names)
    if unknown:
        raise KeyError(f"not cl_findings columns: {sorted(unknown)}")
    row = {**dict.fromkeys(CL_FINDINGS.schema.names), **values}
    if isinstance(row["evidence"], dict):
        row["evidence"] = evidence_json(row["evidence"])
    return row


def evidence_json(evidence: dict[str, Any]) -> str:
    return orjson.dumps(evidence, option=orjson.OPT_SORT_KEYS).decode()


def merge_findings(
    warehouse: Warehouse, evaluation: str, rows: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Write ``rows`` into cl_findings, the one merge every evaluation goes through: a finding
    already there keeps its ``detected_at`` and the earliest ``first_detectable_at``; a row
    computed from older data than the stored one (an older partition re-run) leaves the stored
    row as it is. ``evaluation`` names the writer (regressions, failure_modes, flaky_tests).
    Returns the rows written."""
    warehouse.ensure_table(CL_FINDINGS)
    ids = [r["finding_id"] for r in rows]
    if not ids:
        return []
    stored = {
        r["finding_id"]: r
        for r in warehouse.query(
            "SELECT finding_id, detected_at, first_detectable_at, data_through FROM cl_findings "
            f"WHERE evaluation = @evaluation AND finding_id IN {IN_ARRAY.format(param='ids')}",
            {"evaluation": evaluation, "ids": ids},
        ).to_pylist()
    }
    written = []
    for row in rows:
        old = stored.get(row["finding_id"])
        if old is not None:
            if old["data_through"] and old["data_through"] > row["data_through"]:
                continue
            row = {**row, "detected_at": old["detected_at"] or row["detected_at"]}
            if old["first_detectable_at"] and (
                row["first_detectable_at"] is None
                or old["first_detectable_at"] < row["first_detectable_at"]
            ):
                row["first_detectable_at"] = old["first_detectable_at"]
        written.append({**row, "evaluation": evaluation})
    warehouse.replace_where_in(
        CL_FINDINGS,
        "finding_id",
        [r["finding_id"] for r in written],
        CL_FINDINGS.from_records(written),
    )
    return written


def open_findings_markdown(rows: Sequence[dict[str, Any]], limit: int = 20) -> str:
    """The open findings, worst first (severity, then effect), one line each."""
    open_rows = sorted(
        (r for r in rows if r["status"] == "open"),
        key=lambda r: (SEVERITY_RANK.get(r["severity"], 9), -_effect_size(r), r["finding_id"]),
    )
    if not open_rows:
        return "_no open findings_"
    lines = [f"- **{r['severity']}** {r['title']}" for r in open_rows[:limit]]
    if len(open_rows) > limit:
        lines.append(f"- … and {len(open_rows) - limit} more open in `cl_findings`")
    return "\n".join(lines)


def _effect_size(row: dict[str, Any]) -> float:
    ratio = row.get("effect_ratio")
    if not ratio or ratio <= 0:
        return 0.0
    return ratio if ratio >= 1 else 1 / ratio
