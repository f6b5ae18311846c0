"""slo-generator v2 and Sloth prometheus/v1 specs, mapped where they can be.

Their objectives, windows and alerting settings map onto cicl's; their indicators (Cloud
Monitoring filters, PromQL) do not, unless written for otel_spans (docs/slo-specs.md).
"""

from __future__ import annotations

from typing import Any

from cicl_assets.slo.burn import (
    ALERT_PAGE,
    ALERT_TICKET,
    WORKBOOK_RULES,
    AlertPolicy,
    AlertRule,
    parse_duration_minutes,
    window_label,
)
from cicl_assets.slo.spec_model import (
    SLI_KINDS,
    SPAN_SOURCE,
    SloSpec,
    SpanFilter,
    SpecError,
    SpecReject,
    parse_target,
)


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


def slo_generator_slo(
    doc: dict[str, Any], config: dict[str, Any] | None, source_file: str
) -> SloSpec:
    meta = doc.get("metadata") or {}
    name = meta.get("name") or "unnamed"
    where = f"SLO {name}"
    spec = doc.get("spec") or {}
    target = parse_target(spec.get("goal"), where)
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


def _sloth_policy(alerting: dict[str, Any]) -> AlertPolicy:
    disabled = {
        sev
        for sev, key in ((ALERT_PAGE, "page_alert"), (ALERT_TICKET, "ticket_alert"))
        if (alerting.get(key) or {}).get("disable")
    }
    rules = tuple(r for r in WORKBOOK_RULES if r.severity not in disabled)
    return AlertPolicy(name="sloth" + "".join(f"-no-{d}" for d in sorted(disabled)), rules=rules)


def sloth_slos(doc: dict[str, Any], source_file: str) -> tuple[list[SloSpec], list[SpecReject]]:
    service = str(doc.get("service", ""))
    slos, rejects = [], []
    for item in doc.get("slos") or []:
        name = f"{service}-{item.get('name', 'unnamed')}"
        where = f"SLO {name}"
        try:
            target = parse_target(item.get("objective"), where, percent=True)
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
