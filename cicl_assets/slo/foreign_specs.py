"""slo-generator v2 and Sloth (prometheus/v1 and the sloth.slok.dev/v1 CRD) specs.

Their objectives, windows and alerting settings map onto cicl's; their indicators (Cloud
Monitoring filters, PromQL) are queries cicl cannot run: such objectives are listed but not
evaluable until an SliMapping points them at spans or external counts (docs/slo-specs.md).
"""

from __future__ import annotations

from dataclasses import replace
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
    parse_target,
)

MAPPING_HINT = "map it to spans or to external counts with an SliMapping in config/slos"
# slo-generator's documented default error budget policy (its samples/config.yaml), used when
# a spec names `default` and no shared config.yaml is among the specs.
DEFAULT_GENERATOR_POLICY: dict[str, Any] = {
    "steps": [
        {"name": "1 hour", "burn_rate_threshold": 9, "alert": True, "window": 3600},
        {"name": "12 hours", "burn_rate_threshold": 3, "alert": True, "window": 43200},
        {"name": "7 days", "burn_rate_threshold": 1.5, "alert": False, "window": 604800},
        {"name": "28 days", "burn_rate_threshold": 1, "alert": False, "window": 2419200},
    ]
}


def _generator_policies(config: dict[str, Any] | None) -> dict[str, Any]:
    if config is None:
        return {"default": DEFAULT_GENERATOR_POLICY}
    return config.get("error_budget_policies") or {}


def _slo_generator_policy(name: str, config: dict[str, Any] | None, where: str) -> AlertPolicy:
    policies = _generator_policies(config)
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
    steps = _generator_policies(config).get(name, {}).get("steps") or []
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
    labels = meta.get("labels") or {}
    sli = dict(spec.get("service_level_indicator") or {})
    report_key = ""
    if all(labels.get(k) for k in ("service_name", "feature_name", "slo_name")):
        report_key = f"{labels['service_name']}/{labels['feature_name']}/{labels['slo_name']}"
    base = SloSpec(
        name=str(name),
        service=str(labels.get("service_name", sli.get("service", ""))),
        sli_kind="availability",
        target=target,
        span_filter=None,
        window_minutes=_slo_generator_window(policy_name, config),
        description=str(spec.get("description", "")),
        policy=policy,
        source_format="sre.google.com/v2",
        source_file=source_file,
        slo_name=str(name),
        report_key=report_key,
    )
    backend = spec.get("backend")
    if backend != SPAN_SOURCE:
        return replace(
            base,
            indicator_issue=(
                f"{where}: backend {backend!r} (method {spec.get('method')!r}) is a query cicl "
                f"cannot run; {MAPPING_HINT}"
            ),
        )
    kind = sli.get("kind", "availability")
    if kind not in SLI_KINDS:
        raise SpecError(f"{where}: kind {kind!r} is not one of {', '.join(SLI_KINDS)}")
    threshold = sli.get("threshold_ms")
    if kind == "latency" and threshold is None:
        raise SpecError(f"{where}: a latency SLI needs threshold_ms")
    return replace(
        base,
        sli_kind=kind,
        span_filter=SpanFilter.from_spec(sli, where),
        threshold_ms=float(threshold) if kind == "latency" else None,
    )


def _sloth_policy(alerting: dict[str, Any]) -> AlertPolicy:
    disabled = {
        sev
        for sev, keys in (
            (ALERT_PAGE, ("page_alert", "pageAlert")),
            (ALERT_TICKET, ("ticket_alert", "ticketAlert")),
        )
        if any((alerting.get(key) or {}).get("disable") for key in keys)
    }
    rules = tuple(r for r in WORKBOOK_RULES if r.severity not in disabled)
    return AlertPolicy(name="sloth" + "".join(f"-no-{d}" for d in sorted(disabled)), rules=rules)


def _sloth_foreign_sli(sli: dict[str, Any], plugin: dict[str, Any]) -> str:
    if "events" in sli:
        return "Prometheus queries (sli.events)"
    if "raw" in sli:
        return "a raw Prometheus ratio (sli.raw)"
    return f"plugin {plugin.get('id')!r}"


def sloth_slos(doc: dict[str, Any], source_file: str) -> list[SloSpec]:
    """Every SLO of a Sloth spec: ``version: prometheus/v1`` or the Kubernetes CRD
    (``apiVersion: sloth.slok.dev/v1``, ``kind: PrometheusServiceLevel``, fields under spec)."""
    crd = str(doc.get("apiVersion", "")).startswith("sloth.slok.dev/")
    body = (doc.get("spec") or {}) if crd else doc
    service = str(body.get("service", ""))
    items = body.get("slos") or []
    if not service or not isinstance(items, list) or not items:
        raise SpecError(f"{source_file}: a Sloth spec needs service and at least one entry in slos")
    slos = []
    for item in items:
        name = f"{service}-{item.get('name', 'unnamed')}"
        where = f"SLO {name}"
        policy = _sloth_policy(item.get("alerting") or {})
        base = SloSpec(
            name=name,
            service=service,
            sli_kind="availability",
            target=parse_target(item.get("objective"), where, percent=True),
            span_filter=None,
            description=str(item.get("description", "")),
            policy=policy,
            source_format=str(doc.get("apiVersion") or doc.get("version")),
            source_file=source_file,
            slo_name=name,
        )
        sli = item.get("sli") or {}
        plugin = sli.get("plugin") or {}
        if plugin.get("id") != f"cicl/{SPAN_SOURCE}":
            what = _sloth_foreign_sli(sli, plugin)
            slos.append(
                replace(base, indicator_issue=f"{where}: the SLI is {what}; {MAPPING_HINT}")
            )
            continue
        options = dict(plugin.get("options") or {})
        kind = options.get("kind", "availability")
        if kind not in SLI_KINDS:
            raise SpecError(f"{where}: kind {kind!r} is not one of {', '.join(SLI_KINDS)}")
        try:
            threshold = float(options["threshold_ms"]) if kind == "latency" else None
        except (KeyError, TypeError, ValueError):
            raise SpecError(f"{where}: a latency SLI needs threshold_ms (a number)") from None
        slos.append(
            replace(
                base,
                sli_kind=kind,
                span_filter=SpanFilter.from_spec(options, where),
                threshold_ms=threshold,
            )
        )
    return slos
