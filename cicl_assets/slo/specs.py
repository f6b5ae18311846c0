"""SLO specifications: OpenSLO v1 (native), slo-generator v2 and Sloth prometheus/v1 (mapped).

Pure: YAML text in, ``SloSpec`` / ``SpecReject`` out. cicl evaluates SLOs over ``otel_spans``
only; a spec whose indicator reads another source (a Prometheus query, a Cloud Monitoring
filter) keeps its objective, window and alerting in the reject's message but is not evaluated.
See docs/slo-specs.md for the metricSource fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from cicl_assets.slo.burn import (
    ALERT_PAGE,
    ALERT_TICKET,
    WORKBOOK_RULES,
    AlertPolicy,
    AlertRule,
    parse_duration_minutes,
    window_label,
)

SPAN_SOURCE = "otel_spans"
SLI_KINDS = ("availability", "latency")
# metricSource.spec keys that select spans, and the otel_spans column each one compares.
FILTER_COLUMNS = {
    "service": "service_name",
    "span_name": "span_name",
    "span_kind": "span_kind",
    "workflow": "workflow_name",
    "provider": "gen_ai_provider",
    "model": "gen_ai_model",
    "environment": "deployment_environment",
}
FILTER_KEYS = (*FILTER_COLUMNS, "span_name_prefix")
SOURCE_KEYS = ("table", "kind", "threshold_ms")


class SpecError(ValueError):
    """A spec that cannot be evaluated; the message says why, for a person to fix."""


@dataclass(frozen=True)
class SpanFilter:
    """Which spans an SLI counts: equality on promoted columns, optionally a span-name prefix."""

    equals: tuple[tuple[str, str], ...] = ()
    span_name_prefix: str | None = None

    @classmethod
    def from_spec(cls, spec: dict[str, Any], where: str) -> SpanFilter:
        unknown = sorted(set(spec) - set(FILTER_KEYS) - set(SOURCE_KEYS))
        if unknown:
            raise SpecError(
                f"{where}: unknown metricSource.spec keys {unknown}; "
                f"known: {', '.join((*FILTER_KEYS, *SOURCE_KEYS))}"
            )
        table = spec.get("table", SPAN_SOURCE)
        if table != SPAN_SOURCE:
            raise SpecError(f"{where}: table {table!r} is not {SPAN_SOURCE}")
        equals = tuple(
            sorted((FILTER_COLUMNS[k], str(spec[k])) for k in FILTER_COLUMNS if spec.get(k))
        )
        prefix = spec.get("span_name_prefix")
        if not equals and not prefix:
            raise SpecError(f"{where}: the span filter selects every span; name a service or span")
        return cls(equals, str(prefix) if prefix else None)

    def describe(self) -> str:
        parts = [f"{c}={v}" for c, v in self.equals]
        if self.span_name_prefix:
            parts.append(f"span_name LIKE '{self.span_name_prefix}%'")
        return " AND ".join(parts)


@dataclass(frozen=True)
class SloSpec:
    """One SLO cicl evaluates: good/total span counts under a filter, a target, a budget window."""

    name: str
    service: str
    sli_kind: str
    target: float
    span_filter: SpanFilter
    threshold_ms: float | None = None
    window_minutes: int = 30 * 1440
    description: str = ""
    alert_policy_name: str | None = None
    policy: AlertPolicy = field(default_factory=AlertPolicy)
    source_format: str = "openslo/v1"
    source_file: str = ""

    @property
    def window(self) -> str:
        return window_label(self.window_minutes)


@dataclass(frozen=True)
class SpecReject:
    source_file: str
    name: str
    reason: str


@dataclass
class SpecSet:
    slos: list[SloSpec] = field(default_factory=list)
    rejects: list[SpecReject] = field(default_factory=list)
    policies: dict[str, AlertPolicy] = field(default_factory=dict)


def _target(value: Any, where: str, percent: bool = False) -> float:
    try:
        target = float(value)
    except (TypeError, ValueError):
        raise SpecError(f"{where}: target {value!r} is not a number") from None
    if percent:
        target /= 100.0
    if not 0 < target < 1:
        raise SpecError(f"{where}: target {target} must be strictly between 0 and 1")
    return round(target, 10)


# ---- OpenSLO v1 ----------------------------------------------------------------------------


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


def _alert_policy(doc: dict[str, Any], conditions: dict[str, dict], where: str) -> AlertPolicy:
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


def _openslo_slo(doc: dict[str, Any], slis: dict[str, dict], source_file: str) -> SloSpec:
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
        target=_target(objective.get("target"), where),
        span_filter=span_filter,
        threshold_ms=threshold,
        window_minutes=_time_window(spec, where),
        description=str(spec.get("description", "")).strip(),
        alert_policy_name=policy_name,
        source_format="openslo/v1",
        source_file=source_file,
    )


# ---- slo-generator v2 ------------------------------------------------------------------------


def _slo_generator_policy(name: str, config: dict[str, Any] | None, where: str) -> AlertPolicy:
    policies = (config or {}).get("error_budget_policies") or {}
    if name not in policies:
        known = ", ".join(sorted(policies)) or "none (no shared config.yaml found)"
        raise SpecError(f"{where}: error_budget_policy {name!r} not in the shared config ({known})")
    rules = []
    for step in policies[name].get("steps") or []:
        if not step.get("alert"):
            continue  # a step without alert only carries a consequence message
        window = window_label(parse_duration_minutes(int(step["window"])))
        rules.append(AlertRule(ALERT_PAGE, window, window, float(step["burn_rate_threshold"])))
    return AlertPolicy(name=f"slo-generator:{name}", rules=tuple(rules) or WORKBOOK_RULES)


def _slo_generator_window(name: str, config: dict[str, Any] | None) -> int:
    steps = ((config or {}).get("error_budget_policies") or {}).get(name, {}).get("steps") or []
    longest = max((int(s["window"]) for s in steps), default=30 * 86400)
    return parse_duration_minutes(longest)


def _slo_generator_slo(
    doc: dict[str, Any], config: dict[str, Any] | None, source_file: str
) -> SloSpec:
    meta = doc.get("metadata") or {}
    name = meta.get("name") or "unnamed"
    where = f"SLO {name}"
    spec = doc.get("spec") or {}
    target = _target(spec.get("goal"), where)
    policy_name = spec.get("error_budget_policy", "default")
    policy = _slo_generator_policy(policy_name, config, where)
    backend = spec.get("backend")
    if backend != SPAN_SOURCE:
        raise SpecError(
            f"{where}: backend {backend!r} (method {spec.get('method')!r}) reads time series cicl "
            f"cannot query; only backend: {SPAN_SOURCE} is evaluated (goal {target}, "
            f"error_budget_policy {policy_name}: {', '.join(r.label for r in policy.rules)})"
        )
    sli = dict(spec.get("service_level_indicator") or {})
    kind = sli.get("kind", "availability")
    if kind not in SLI_KINDS:
        raise SpecError(f"{where}: kind {kind!r} is not one of {', '.join(SLI_KINDS)}")
    threshold = sli.get("threshold_ms")
    if kind == "latency" and threshold is None:
        raise SpecError(f"{where}: a latency SLI needs threshold_ms")
    labels = meta.get("labels") or {}
    return SloSpec(
        name=str(name),
        service=str(labels.get("service_name", sli.get("service", ""))),
        sli_kind=kind,
        target=target,
        span_filter=SpanFilter.from_spec(sli, where),
        threshold_ms=float(threshold) if kind == "latency" else None,
        window_minutes=_slo_generator_window(policy_name, config),
        description=str(spec.get("description", "")),
        policy=policy,
        source_format="sre.google.com/v2",
        source_file=source_file,
    )


# ---- Sloth prometheus/v1 --------------------------------------------------------------------


def _sloth_policy(alerting: dict[str, Any]) -> AlertPolicy:
    disabled = {
        sev
        for sev, key in ((ALERT_PAGE, "page_alert"), (ALERT_TICKET, "ticket_alert"))
        if (alerting.get(key) or {}).get("disable")
    }
    rules = tuple(r for r in WORKBOOK_RULES if r.severity not in disabled)
    return AlertPolicy(name="sloth" + "".join(f"-no-{d}" for d in sorted(disabled)), rules=rules)


def _sloth_slos(doc: dict[str, Any], source_file: str) -> tuple[list[SloSpec], list[SpecReject]]:
    service = str(doc.get("service", ""))
    slos, rejects = [], []
    for item in doc.get("slos") or []:
        name = f"{service}-{item.get('name', 'unnamed')}"
        where = f"SLO {name}"
        try:
            target = _target(item.get("objective"), where, percent=True)
            policy = _sloth_policy(item.get("alerting") or {})
            sli = item.get("sli") or {}
            plugin = sli.get("plugin") or {}
            if plugin.get("id") != f"cicl/{SPAN_SOURCE}":
                what = (
                    "Prometheus queries (sli.events)"
                    if "events" in sli
                    else "a raw Prometheus ratio (sli.raw)"
                    if "raw" in sli
                    else f"plugin {plugin.get('id')!r}"
                )
                rules = ", ".join(r.label for r in policy.rules) or "alerting disabled"
                raise SpecError(
                    f"{where}: the SLI is {what}, which cicl cannot evaluate over {SPAN_SOURCE}; "
                    f"use sli.plugin id cicl/{SPAN_SOURCE} (objective {target}, alerts: {rules})"
                )
            options = dict(plugin.get("options") or {})
            kind = options.get("kind", "availability")
            if kind not in SLI_KINDS:
                raise SpecError(f"{where}: kind {kind!r} is not one of {', '.join(SLI_KINDS)}")
            slos.append(
                SloSpec(
                    name=name,
                    service=service,
                    sli_kind=kind,
                    target=target,
                    span_filter=SpanFilter.from_spec(options, where),
                    threshold_ms=float(options["threshold_ms"]) if kind == "latency" else None,
                    description=str(item.get("description", "")),
                    policy=policy,
                    source_format="prometheus/v1",
                    source_file=source_file,
                )
            )
        except (SpecError, KeyError, ValueError) as exc:
            rejects.append(SpecReject(source_file, name, str(exc)))
    return slos, rejects


# ---- documents and folders ------------------------------------------------------------------


def detect_document(doc: Any) -> str:
    """openslo | slo-generator | slo-generator-config | sloth | sloth-generated | unknown."""
    if not isinstance(doc, dict):
        return "unknown"
    api = str(doc.get("apiVersion", ""))
    if api.startswith("openslo/"):
        return "openslo"
    if api.startswith("sre.google.com/") and doc.get("kind") == "ServiceLevelObjective":
        return "slo-generator"
    if "error_budget_policies" in doc or ("backends" in doc and "exporters" in doc):
        return "slo-generator-config"
    if str(doc.get("version", "")).startswith("prometheus/"):
        return "sloth"
    if "groups" in doc and isinstance(doc["groups"], list):
        return "sloth-generated"
    return "unknown"


def load_documents(text: str, source_file: str) -> list[Any]:
    try:
        return [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise SpecError(f"{source_file}: not valid YAML ({exc})") from None


def parse_specs(files: dict[str, str]) -> SpecSet:
    """Parse every SLO document of ``files`` (name -> YAML text) into evaluable SLOs and rejects.

    OpenSLO SLI, AlertPolicy and AlertCondition documents may live in any file of the set;
    a slo-generator shared config (config.yaml with error_budget_policies) serves every
    slo-generator SLO of the set.
    """
    result = SpecSet()
    docs: list[tuple[str, str, dict]] = []
    for source_file, text in sorted(files.items()):
        try:
            loaded = load_documents(text, source_file)
        except SpecError as exc:
            result.rejects.append(SpecReject(source_file, "", str(exc)))
            continue
        for doc in loaded:
            docs.append((source_file, detect_document(doc), doc))

    slis: dict[str, dict] = {}
    conditions: dict[str, dict] = {}
    generator_config: dict[str, Any] | None = None
    for _source_file, kind, doc in docs:
        if kind == "openslo" and doc.get("kind") == "SLI":
            slis[(doc.get("metadata") or {}).get("name", "")] = doc
        elif kind == "openslo" and doc.get("kind") == "AlertCondition":
            conditions[(doc.get("metadata") or {}).get("name", "")] = doc
        elif kind == "slo-generator-config":
            generator_config = doc
    for source_file, kind, doc in docs:
        if kind == "openslo" and doc.get("kind") == "AlertPolicy":
            name = (doc.get("metadata") or {}).get("name", "")
            try:
                result.policies[name] = _alert_policy(doc, conditions, f"AlertPolicy {name}")
            except SpecError as exc:
                result.rejects.append(SpecReject(source_file, name, str(exc)))

    for source_file, kind, doc in docs:
        name = str(((doc.get("metadata") or {}) if isinstance(doc, dict) else {}).get("name", ""))
        try:
            if kind == "openslo" and doc.get("kind") == "SLO":
                slo = _openslo_slo(doc, slis, source_file)
                if slo.alert_policy_name:
                    if slo.alert_policy_name not in result.policies:
                        raise SpecError(
                            f"SLO {slo.name}: alert policy {slo.alert_policy_name!r} is not "
                            "defined (or was rejected)"
                        )
                    slo = replace(slo, policy=result.policies[slo.alert_policy_name])
                result.slos.append(slo)
            elif kind == "slo-generator":
                result.slos.append(_slo_generator_slo(doc, generator_config, source_file))
            elif kind == "sloth":
                slos, rejects = _sloth_slos(doc, source_file)
                result.slos.extend(slos)
                result.rejects.extend(rejects)
            elif kind == "sloth-generated":
                raise SpecError(
                    f"{source_file}: a Prometheus rules file generated by Sloth, not an SLO spec; "
                    "give the Sloth spec it was generated from"
                )
            elif kind == "unknown":
                raise SpecError(
                    f"{source_file}: not an SLO spec (expected apiVersion openslo/v1, "
                    "sre.google.com/v2 or version prometheus/v1)"
                )
        except (SpecError, KeyError, TypeError, ValueError) as exc:
            result.rejects.append(SpecReject(source_file, name, str(exc)))

    seen: dict[str, str] = {}
    unique = []
    for slo in result.slos:
        if slo.name in seen:
            result.rejects.append(
                SpecReject(
                    slo.source_file, slo.name, f"duplicate SLO name (first in {seen[slo.name]})"
                )
            )
            continue
        seen[slo.name] = slo.source_file
        unique.append(slo)
    result.slos = unique
    return result


def load_spec_dir(path: Path | str) -> SpecSet:
    """Every *.yaml / *.yml file under ``path`` (file names relative to it)."""
    root = Path(path)
    files = {
        str(p.relative_to(root)): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix in (".yaml", ".yml")
    }
    return parse_specs(files)
