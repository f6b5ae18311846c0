"""OpenSLO documents (v1: SLO, SLI, AlertPolicy, AlertCondition; v1alpha: SLO) to objectives.

Every objective of an SLO becomes one cicl objective. An indicator that reads a source other
than otel_spans (Prometheus, Datadog, ``Any``) leaves the objective well formed but not
evaluable until an SliMapping (config/slos) points it at spans or at external counts.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cicl_assets.slo.budget_windows import time_window
from cicl_assets.slo.burn import (
    ALERT_PAGE,
    ALERT_TICKET,
    AlertPolicy,
    AlertRule,
    parse_duration_minutes,
    window_label,
)
from cicl_assets.slo.spec_model import (
    BUDGETING_METHODS,
    FILTER_KEYS,
    OCCURRENCES,
    SLI_KINDS,
    SPAN_SOURCE,
    NotEvaluable,
    SloSpec,
    SpanFilter,
    SpecError,
    objective_key,
    parse_target,
)

MAPPING_HINT = "map it to spans or to external counts with an SliMapping in config/slos"


def _source_spec(metric: Any, where: str) -> dict[str, Any]:
    source = (metric or {}).get("metricSource") or {}
    kind = source.get("type")
    if kind != SPAN_SOURCE:
        raise NotEvaluable(
            f"{where}: metricSource type {kind!r} is a query cicl cannot run; {MAPPING_HINT}"
        )
    return dict(source.get("spec") or {})


def _sli_from_indicator(indicator: dict[str, Any], objective: dict[str, Any], where: str):
    """(filter, kind, threshold_ms) of an OpenSLO indicator spec."""
    spec = indicator.get("spec") or {}
    if "ratioMetric" in spec:
        ratio = spec["ratioMetric"] or {}
        if "raw" in ratio:
            raise NotEvaluable(
                f"{where}: ratioMetric.raw is a precomputed ratio, not event counts; {MAPPING_HINT}"
            )
        total = _source_spec(ratio.get("total"), f"{where} ratioMetric.total")
        part_key = "good" if "good" in ratio else "bad" if "bad" in ratio else None
        if part_key is None:
            raise SpecError(f"{where}: ratioMetric needs good or bad beside total")
        part = _source_spec(ratio.get(part_key), f"{where} ratioMetric.{part_key}")
        merged = {**total, **part}
        for key in FILTER_KEYS:
            if key in part and key in total and part[key] != total[key]:
                raise SpecError(
                    f"{where}: ratioMetric.{part_key} filters {key}={part[key]!r} but total "
                    f"has {total[key]!r}; good/bad must count a subset by kind, not by filter"
                )
        kind = merged.get("kind", "availability")
        threshold = merged.get("threshold_ms")
    elif "thresholdMetric" in spec:
        merged = _source_spec(spec["thresholdMetric"], f"{where} thresholdMetric")
        kind = merged.get("kind", "latency")
        if kind != "latency":
            raise SpecError(f"{where}: a thresholdMetric SLI is a latency SLI")
        op = objective.get("op", "lte")
        if op not in ("lt", "lte"):
            raise SpecError(f"{where}: latency objective op {op!r}; only lt/lte map to spans")
        threshold = objective.get("value", merged.get("threshold_ms"))
    else:
        found = ", ".join(sorted(spec)) or "nothing"
        raise NotEvaluable(
            f"{where}: the indicator has neither ratioMetric nor thresholdMetric (found {found}); "
            + MAPPING_HINT
        )
    if kind not in SLI_KINDS:
        raise SpecError(f"{where}: kind {kind!r} is not one of {', '.join(SLI_KINDS)}")
    if kind == "latency":
        try:
            threshold = float(threshold)
        except (TypeError, ValueError):
            raise SpecError(f"{where}: a latency SLI needs threshold_ms (a number)") from None
    else:
        threshold = None
    return SpanFilter.from_spec(merged, where), kind, threshold


def _v1alpha_metric(metric: Any) -> dict[str, Any]:
    """A v1alpha metric ({source, queryType, query}) in v1's metricSource shape."""
    metric = metric or {}
    query = metric.get("query")
    spec = dict(query) if isinstance(query, dict) else {"query": query}
    return {"metricSource": {"type": metric.get("source"), "spec": spec}}


def _v1alpha_indicator(spec: dict[str, Any], objective: dict[str, Any]) -> dict[str, Any] | None:
    """v1alpha keeps ratioMetrics inside each objective and thresholdMetric in spec.indicator."""
    ratio = objective.get("ratioMetrics")
    if ratio:
        shaped = {k: _v1alpha_metric(v) for k, v in ratio.items() if k in ("good", "bad", "total")}
        return {"spec": {"ratioMetric": shaped}}
    threshold = ((spec.get("indicator") or {}).get("thresholdMetric")) or None
    if threshold:
        return {"spec": {"thresholdMetric": _v1alpha_metric(threshold)}}
    return None


def alert_policy(doc: dict[str, Any], conditions: dict[str, dict], where: str) -> AlertPolicy:
    meta = doc.get("metadata") or {}
    spec = doc.get("spec") or {}
    annotations = meta.get("annotations") or {}
    rules = []
    for item in spec.get("conditions") or []:
        if "conditionRef" in item:
            cond = conditions.get(item["conditionRef"])
            if cond is None:
                raise SpecError(f"{where}: unknown AlertCondition {item['conditionRef']!r}")
        else:
            cond = item
        cspec = cond.get("spec") or {}
        condition = cspec.get("condition") or {}
        cname = (cond.get("metadata") or {}).get("name", "?")
        if condition.get("kind") != "burnrate":
            raise SpecError(f"{where}: condition {cname}: only burnrate conditions are evaluated")
        if condition.get("op", "gt") != "gt":
            raise SpecError(f"{where}: condition {cname}: op must be gt (strictly greater)")
        severity = str(cspec.get("severity", "")).lower()
        if severity not in (ALERT_PAGE, ALERT_TICKET):
            raise SpecError(f"{where}: condition {cname}: severity must be page or ticket")
        try:
            long_w = window_label(parse_duration_minutes(condition["lookbackWindow"]))
            short_w = window_label(
                parse_duration_minutes(condition.get("alertAfter", condition["lookbackWindow"]))
            )
            rules.append(AlertRule(severity, long_w, short_w, float(condition["threshold"])))
        except (KeyError, ValueError) as exc:
            raise SpecError(f"{where}: condition {cname}: {exc}") from None
    if not rules:
        raise SpecError(f"{where}: an AlertPolicy needs at least one condition")
    by_window = {
        key.removeprefix("cicl.io/min-events/"): int(value)
        for key, value in annotations.items()
        if key.startswith("cicl.io/min-events/")
    }
    return AlertPolicy(
        name=meta.get("name", "unnamed"),
        rules=tuple(rules),
        min_events=int(annotations.get("cicl.io/min-events", AlertPolicy().min_events)),
        min_events_by_window=by_window,
    )


def _indicator(spec: dict[str, Any], slis: dict[str, dict], where: str) -> dict | None:
    if "indicator" in spec:
        return spec["indicator"]
    if "indicatorRef" in spec:
        indicator = slis.get(spec["indicatorRef"])
        if indicator is None:
            raise SpecError(f"{where}: indicatorRef {spec['indicatorRef']!r} names no SLI")
        return indicator
    return None


def _policy_name(spec: dict[str, Any], where: str) -> str | None:
    policies = spec.get("alertPolicies") or []
    if len(policies) > 1:
        raise SpecError(f"{where}: at most one alert policy per SLO is supported")
    if not policies:
        return None
    if isinstance(policies[0], str):
        return policies[0]
    return (policies[0].get("metadata") or {}).get("name") or policies[0].get("alertPolicyRef")


def _slices(objective: dict[str, Any], method: str, where: str) -> tuple[int | None, float | None]:
    if method == OCCURRENCES:
        return None, None
    if "timeSliceWindow" not in objective:
        raise SpecError(f"{where}: budgetingMethod {method} needs timeSliceWindow per objective")
    try:
        minutes = parse_duration_minutes(str(objective["timeSliceWindow"]))
    except ValueError as exc:
        raise SpecError(f"{where}: timeSliceWindow {exc}") from None
    if method == "RatioTimeslices":
        return minutes, None
    if "timeSliceTarget" not in objective:
        raise SpecError(f"{where}: budgetingMethod Timeslices needs timeSliceTarget")
    return minutes, parse_target(objective["timeSliceTarget"], f"{where} timeSliceTarget")


def _objective_target(objective: dict[str, Any], where: str) -> float:
    if "target" not in objective and "targetPercent" in objective:
        return parse_target(objective["targetPercent"], where, percent=True)
    return parse_target(objective.get("target"), where)


def openslo_objectives(
    doc: dict[str, Any], slis: dict[str, dict], source_file: str
) -> list[SloSpec]:
    """Every objective of one OpenSLO v1 or v1alpha SLO document."""
    meta = doc.get("metadata") or {}
    name = meta.get("name")
    if not name:
        raise SpecError("an SLO needs metadata.name")
    where = f"SLO {name}"
    spec = doc.get("spec") or {}
    alpha = str(doc.get("apiVersion")) == "openslo/v1alpha"
    method = str(spec.get("budgetingMethod", OCCURRENCES))
    if method not in BUDGETING_METHODS:
        raise SpecError(
            f"{where}: budgetingMethod {method!r} is not one of {', '.join(BUDGETING_METHODS)}"
        )
    # OpenSLO's own RatioTimeslices example spells the list `objective`.
    objectives = spec.get("objectives") or spec.get("objective") or []
    if not isinstance(objectives, list) or not objectives:
        raise SpecError(f"{where}: needs at least one objective (spec.objectives)")
    windows = spec.get("timeWindows" if alpha else "timeWindow") or spec.get("timeWindow")
    windows = windows or [{"duration": "30d", "isRolling": True}]
    if len(windows) != 1:
        raise SpecError(f"{where}: an SLO has exactly one time window, found {len(windows)}")
    window_minutes, calendar, window_issue = 30 * 1440, None, ""
    try:
        window_minutes, calendar = time_window(windows[0], where)
    except NotEvaluable as exc:
        window_issue = str(exc)
    shared = None if alpha else _indicator(spec, slis, where)
    if shared is None and not alpha and not any("indicator" in o for o in objectives):
        raise SpecError(f"{where}: needs an indicator or an indicatorRef")
    several = len(objectives) > 1
    out = []
    for i, objective in enumerate(objectives):
        label = str(objective.get("name") or objective.get("displayName") or "")
        label = label or (f"objective-{i + 1}" if several else "")
        at = f"{where} objective {label}" if several else where
        slice_minutes, slice_target = _slices(objective, method, at)
        base = SloSpec(
            name=objective_key(str(name), label, several),
            service=str(spec.get("service", "")),
            sli_kind="availability",
            target=_objective_target(objective, at),
            span_filter=None,
            window_minutes=window_minutes,
            calendar=calendar,
            description=str(spec.get("description", "")).strip(),
            alert_policy_name=_policy_name(spec, where),
            source_format=str(doc.get("apiVersion")),
            source_file=source_file,
            slo_name=str(name),
            objective=label,
            budgeting_method=method,
            time_slice_minutes=slice_minutes,
            time_slice_target=slice_target,
            window_issue=window_issue,
        )
        if alpha:
            indicator = _v1alpha_indicator(spec, objective)
        else:
            indicator = _indicator(objective, slis, at) or shared
        try:
            if indicator is None:
                raise NotEvaluable(
                    f"{at}: no ratioMetrics and no thresholdMetric indicator; {MAPPING_HINT}"
                )
            span_filter, kind, threshold = _sli_from_indicator(indicator, objective, at)
        except NotEvaluable as exc:
            out.append(replace(base, indicator_issue=str(exc)))
            continue
        out.append(replace(base, span_filter=span_filter, sli_kind=kind, threshold_ms=threshold))
    return out
