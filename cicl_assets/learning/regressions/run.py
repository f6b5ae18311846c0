"""One day partition of the regression evaluation: read the series of the day and the history
its comparisons need, run the detectors, and shape what they found as `cl_findings` rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from cicl_assets.learning.findings import evidence_json, finding_id, group_key
from cicl_assets.learning.findings import finding_row as cl_findings_row
from cicl_assets.learning.regressions.deploys import Deploy, deploys_between
from cicl_assets.learning.regressions.describe import (
    effect,
    kind_of,
    sentence,
    severity,
    since_hour,
)
from cicl_assets.learning.regressions.detect import HOUR, Result, bursts, drift, per_deploy
from cicl_assets.learning.regressions.series import environments, load_series
from cicl_assets.learning.regressions.thresholds import Thresholds
from cicl_assets.warehouse.base import Warehouse

EVALUATION = "regressions"
EXAMPLE_TRACES = 5


@dataclass
class DayEvaluation:
    day_start: datetime
    day_end: datetime
    results: list[Result] = field(default_factory=list)
    deploys: list[Deploy] = field(default_factory=list)
    series_count: int = 0

    @property
    def findings(self) -> list[Result]:
        return [r for r in self.results if r.passed]


def evaluate_day(
    warehouse: Warehouse, day_start: datetime, t: Thresholds, day_end: datetime | None = None
) -> DayEvaluation:
    """The detectors over [day_start, day_end) (a day unless told), reading back as far as a
    deploy's baseline and the drift window need: never the whole history."""
    day_end = day_end or day_start + timedelta(days=1)
    history_start = day_start - timedelta(hours=t.history_hours)
    out = DayEvaluation(day_start, day_end)
    for env in environments(warehouse, history_start, day_end):
        deploys = deploys_between(warehouse, history_start, day_end, env)
        out.deploys += deploys
        compared = [d for d in deploys if d.at >= day_start - timedelta(hours=t.after_hours)]
        series_map = load_series(warehouse, history_start, day_end, env)
        out.series_count += len(series_map)
        for series in series_map.values():
            by_anchor: dict[str, Result] = {}
            emitting = [d for d in deploys if d.service in series.services]
            for i, deploy in enumerate(emitting):
                if deploy not in compared:
                    continue
                previous = emitting[i - 1].at if i else None
                following = emitting[i + 1].at if i + 1 < len(emitting) else None
                result = per_deploy(series, deploy, day_end, t, previous, following)
                if result is not None:
                    out.results.append(result)
                    if result.passed:
                        by_anchor[result.anchor] = result
            later = drift(series, history_start, day_end, day_start - timedelta(days=1), deploys, t)
            for result in [*later, *bursts(series, day_start, day_end, deploys, t)]:
                if result.anchor not in by_anchor:
                    by_anchor[result.anchor] = result
                    out.results.append(result)
    return out


def finding_row(result: Result, t: Thresholds, detected_at: datetime, day: str) -> dict[str, Any]:
    series, c, deploy = result.series, result.comparison, result.deploy
    dims = dict(series.dims)
    kind = kind_of(series.metric)
    if deploy is not None:
        since = f"since {deploy.label}"
        if result.method != "mann_whitney_u" and result.method != "fisher_exact":
            since += f" ({result.change_at:%H:%M} change point)"
    else:
        since = since_hour(result.change_at, t.drift.attribution_hours)
    if result.resolved_at is not None:
        since += f"; recovered {result.resolved_at:%Y-%m-%d %H:%M}"
    window = (result.change_at.timestamp(), result.data_through.timestamp())
    after, traces = series.between(*window), series.traces_between(*window)
    order = np.argsort(-after if series.worse == "higher" else after, kind="stable")
    examples = sorted({str(traces[i]) for i in order[: EXAMPLE_TRACES * 3] if traces[i]})
    anchor = result.anchor
    return cl_findings_row(
        **{
            "finding_id": finding_id(kind, series.key, series.metric, anchor),
            "group_key": group_key(anchor),
            "kind": kind,
            "status": "resolved" if result.resolved_at else "open",
            "severity": severity(effect(c.ratio, series.worse)),
            "title": sentence(
                dims, series.metric, c.baseline, c.current, c.ratio, c.p_value, since
            ),
            "series_key": series.key,
            "service_name": dims.get("service_name"),
            "span_name": dims.get("span_name"),
            "operation": dims.get("operation"),
            "workflow": dims.get("workflow"),
            "gen_ai_provider": dims.get("gen_ai_provider"),
            "gen_ai_model": dims.get("gen_ai_model"),
            "metric": series.metric,
            "baseline_value": c.baseline,
            "current_value": c.current,
            "effect_ratio": c.ratio,
            "p_value": c.p_value,
            "n_baseline": c.n_baseline,
            "n_current": c.n_current,
            "method": result.method,
            "change_at": result.change_at,
            "deployment_id": deploy.deployment_id if deploy else None,
            "service_version": deploy.version if deploy else None,
            "commit_sha": deploy.commit_sha if deploy else None,
            "deployed_service": deploy.service if deploy else None,
            "first_detectable_at": result.first_detectable_at,
            "data_through": result.data_through,
            "detected_at": detected_at,
            "resolved_at": result.resolved_at,
            "evidence": evidence_json(
                {
                    "example_trace_ids": examples[:EXAMPLE_TRACES],
                    "anchor": anchor,
                    "services": sorted(series.services),
                    "statistic": c.statistic,
                    **result.extra,
                }
            ),
            "source_file": None,
            "partition_day": day,
        }
    )


def detail_row(result: Result, day: str) -> dict[str, Any]:
    c = result.comparison
    return {
        "partition_day": day,
        "series_key": result.series.key,
        "metric": result.series.metric,
        "method": result.method,
        "anchor": result.anchor,
        "change_at": result.change_at,
        "data_through": result.data_through,
        "baseline_value": c.baseline,
        "current_value": c.current,
        "effect_ratio": c.ratio,
        "p_value": c.p_value,
        "statistic": c.statistic,
        "n_baseline": c.n_baseline,
        "n_current": c.n_current,
        "passed": result.passed,
        "deployment_id": result.deploy.deployment_id if result.deploy else None,
    }


def hours_to_detect(result: Result) -> float | None:
    if result.first_detectable_at is None:
        return None
    return (result.first_detectable_at - result.change_at).total_seconds() / HOUR
