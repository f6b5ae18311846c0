"""What an evaluable SLO is: a span filter over otel_spans, a target, a window, a policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cicl_assets.slo.burn import AlertPolicy, window_label

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


def parse_target(value: Any, where: str, percent: bool = False) -> float:
    try:
        target = float(value)
    except (TypeError, ValueError):
        raise SpecError(f"{where}: target {value!r} is not a number") from None
    if percent:
        target /= 100.0
    if not 0 < target < 1:
        raise SpecError(f"{where}: target {target} must be strictly between 0 and 1")
    return round(target, 10)
