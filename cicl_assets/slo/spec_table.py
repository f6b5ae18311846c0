"""slo_specs: every SLO objective cicl read from config/slos, evaluable or not, and why."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from cicl_assets.slo.burn import AlertPolicy, window_label
from cicl_assets.slo.spec_model import SloSpec, SpecSet
from cicl_assets.warehouse.tables import TableSpec

SLO_SPECS = TableSpec(
    name="slo_specs",
    description=(
        "One row per SLO objective read from the SLO specs (OpenSLO v1/v1alpha, Sloth, "
        "slo-generator): its target, window, budgeting method, alerting, where its events come "
        "from (spans through a span filter, or external counts) and whether cicl evaluates it, "
        "with the reason in words when it does not."
    ),
    schema=pa.schema(
        [
            ("source_file", pa.string()),
            ("format", pa.string()),
            ("service", pa.string()),
            ("slo_name", pa.string()),
            ("objective", pa.string()),
            ("evaluation_name", pa.string()),
            ("target", pa.float64()),
            ("budget_window", pa.string()),
            ("budgeting_method", pa.string()),
            ("time_slice_window", pa.string()),
            ("time_slice_target", pa.float64()),
            ("alerting", pa.string()),
            ("sli_kind", pa.string()),
            ("sli_source", pa.string()),
            ("span_filter", pa.string()),
            ("evaluable", pa.bool_()),
            ("reason", pa.string()),
        ]
    ),
    column_docs={
        "source_file": "the spec file, relative to the config folder (e.g. slos/gateway.yaml)",
        "evaluation_name": "the SLO's name in slo_status: slo_name, or slo_name/objective",
        "budget_window": "rolling (30d) or calendar-aligned (1 month calendar) budget window",
        "alerting": "the burn-rate rules: severity, long/short window, burn rate threshold",
        "sli_source": "spans (a span filter over otel_spans) or external (counts under slo/)",
        "reason": "why the objective is not evaluated; empty when it is",
    },
)


def alerting_text(policy: AlertPolicy) -> str:
    if not policy.rules:
        return "none (alerting disabled)"
    rules = ", ".join(f"{r.severity} {r.label} > {r.burn_rate:g}" for r in policy.rules)
    return f"{policy.name}: {rules}"


def spec_rows(specs: SpecSet, folder: str = "slos") -> list[dict[str, Any]]:
    """slo_specs rows of every objective, in the order the specs were read."""
    return [_row(o, folder) for o in specs.objectives]


def _row(o: SloSpec, folder: str) -> dict[str, Any]:
    return {
        "source_file": f"{folder}/{o.source_file}" if folder else o.source_file,
        "format": o.source_format,
        "service": o.service,
        "slo_name": o.slo_name or o.name,
        "objective": o.objective,
        "evaluation_name": o.name,
        "target": o.target,
        "budget_window": o.window,
        "budgeting_method": o.budgeting_method,
        "time_slice_window": window_label(o.time_slice_minutes) if o.time_slice_minutes else None,
        "time_slice_target": o.time_slice_target,
        "alerting": alerting_text(o.policy),
        "sli_kind": o.sli_kind,
        # An objective whose own indicator cicl cannot query has no source until mapped.
        "sli_source": None if o.indicator_issue else o.sli_source,
        "span_filter": o.span_filter.describe() if o.span_filter else None,
        "evaluable": o.evaluable,
        "reason": o.reason,
    }
