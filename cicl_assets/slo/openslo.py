"""OpenSLO v1 documents (SLO, SLI, AlertPolicy, AlertCondition) to evaluable SLOs."""

from __future__ import annotations

from typing import Any

from cicl_assets.slo.burn import (
    ALERT_PAGE,
    ALERT_TICKET,
    AlertPolicy,
    AlertRule,
    parse_duration_minutes,
    window_label,
)
from cicl_assets.slo.spec_model import (
    FILTER_KEYS,
    SLI_KINDS,
    SPAN_SOURCE,
    SloSpec,
    SpanFilter,
    SpecError,
    parse_target,
)


def _source_spec(metric: Any, where: str) -> dict[str, Any]:
    source = (metric or {}).get("metricSource") or {}
    kind = source.get("type")
    if kind != SPAN_SOURCE:
        raise SpecError(
            f"{where}: metricSource type {kind!r} cannot be evaluated; cicl reads SLIs only "
            f"from {SPAN_SOURCE} (type: {SPAN_SOURCE})"
        )
    return dict(source.get("spec") or {})


def _sli_from_indicator(indicator: dict[str, Any], objective: dict[str, Any], where: str):
    """(filter, kind, threshold_ms) of an OpenSLO indicator spec."""
    spec = indicator.get("spec") or {}
    if "ratioMetric" in spec:
        ratio = spec["ratioMetric"] or {}
        if "raw" in ratio:
            raise SpecError(f"{where}: ratioMetric.raw is a precomputed ratio, not event counts")
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
        raise SpecError(f"{where}: indicator has neither ratioMetric nor thresholdMetric")
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


def _time_window(spec: dict[str, Any], where: str) -> int:
    windows = spec.get("timeWindow") or [{"duration": "30d", "isRolling": True}]
    if len(windows) != 1:
        raise SpecError(f"{where}: exactly one timeWindow is supported")
    window = windows[0]
    if not window.get("isRolling", True) or "calendar" in window:
        raise SpecError(f"{where}: calendar-aligned windows are not supported, use a rolling one")
    duration = str(window.get("duration", "30d"))
    if duration.endswith("M"):
        raise SpecError(f"{where}: month windows are not a fixed length; use e.g. 30d")
    try:
        return parse_duration_minutes(duration)
    except ValueError as exc:
        raise SpecError(f"{where}: timeWindow {exc}") from None


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


def openslo_slo(doc: dict[str, Any], slis: dict[str, dict], source_file: str) -> SloSpec:
    meta = doc.get("metadata") or {}
    name = meta.get("name")
    if not name:
        raise SpecError("an SLO needs metadata.name")
    where = f"SLO {name}"
    spec = doc.get("spec") or {}
    if spec.get("budgetingMethod", "Occurrences") != "Occurrences":
        raise SpecError(
            f"{where}: budgetingMethod {spec.get('budgetingMethod')!r} is not supported; "
            "burn rates over span counts need Occurrences"
        )
    objectives = spec.get("objectives") or []
    if len(objectives) != 1:
        raise SpecError(f"{where}: exactly one objective is supported, found {len(objectives)}")
    objective = objectives[0]
    if "indicator" in spec:
        indicator = spec["indicator"]
    elif "indicatorRef" in spec:
        indicator = slis.get(spec["indicatorRef"])
        if indicator is None:
            raise SpecError(f"{where}: indicatorRef {spec['indicatorRef']!r} names no SLI")
    else:
        raise SpecError(f"{where}: needs an indicator or an indicatorRef")
    span_filter, kind, threshold = _sli_from_indicator(indicator, objective, where)
    policies = spec.get("alertPolicies") or []
    if len(policies) > 1:
        raise SpecError(f"{where}: at most one alert policy per SLO is supported")
    policy_name = None
    if policies:
        policy_name = policies[0] if isinstance(policies[0], str) else None
        if policy_name is None:
            policy_name = (policies[0].get("metadata") or {}).get("name") or policies[0].get(
                "alertPolicyRef"
            )
    return SloSpec(
        name=str(name),
        service=str(spec.get("service", "")),
        sli_kind=kind,
        target=parse_target(objective.get("target"), where),
        span_filter=span_filter,
        threshold_ms=threshold,
        window_minutes=_time_window(spec, where),
        description=str(spec.get("description", "")).strip(),
        alert_policy_name=policy_name,
        source_format="openslo/v1",
        source_file=source_file,
    )
