"""What an SLO objective is: an indicator (a span filter over otel_spans, or counts landed from
elsewhere), a target, a budget window and budgeting method, an alerting policy."""

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
SLI_SPANS = "spans"
SLI_EXTERNAL = "external"
OCCURRENCES = "Occurrences"
TIMESLICES = "Timeslices"
RATIO_TIMESLICES = "RatioTimeslices"
BUDGETING_METHODS = (OCCURRENCES, TIMESLICES, RATIO_TIMESLICES)


class SpecError(ValueError):
    """A malformed spec: it is refused; the message says why, for a person to fix."""


class NotEvaluable(SpecError):
    """A well-formed objective cicl cannot evaluate as written (a Prometheus query, a rolling
    month): it is listed in slo_specs with this reason and left out of slo_status."""


@dataclass(frozen=True)
class CalendarWindow:
    """A calendar-aligned budget window: ``count`` ``unit``s from ``anchor`` in ``time_zone``."""

    count: int
    unit: str  # minute | hour | day | week | month | quarter | year
    anchor: str = "1970-01-01T00:00:00"
    time_zone: str = "UTC"

    def label(self) -> str:
        return f"{self.count} {self.unit}{'s' if self.count != 1 else ''} calendar"


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
    """One SLO objective: good/total counts (spans under a filter, or external counts), a target,
    a budget window (rolling, or calendar-aligned), a budgeting method and an alert policy.

    ``name`` is the key slo_status and the minute counts use: the SLO's name, or
    ``<slo>/<objective>`` when the SLO has several objectives. ``reason`` is set when the
    objective is well formed but cannot be evaluated."""

    name: str
    service: str
    sli_kind: str
    target: float
    span_filter: SpanFilter | None
    threshold_ms: float | None = None
    window_minutes: int = 30 * 1440
    description: str = ""
    alert_policy_name: str | None = None
    policy: AlertPolicy = field(default_factory=AlertPolicy)
    source_format: str = "openslo/v1"
    source_file: str = ""
    slo_name: str = ""
    objective: str = ""
    budgeting_method: str = OCCURRENCES
    time_slice_minutes: int | None = None
    time_slice_target: float | None = None
    calendar: CalendarWindow | None = None
    sli_source: str = SLI_SPANS
    # slo-generator reports (landing slo/) that count this objective: service/feature/slo.
    report_key: str = ""
    # Why the objective is not evaluated: its indicator (cured by an SliMapping), its window.
    indicator_issue: str = ""
    window_issue: str = ""

    @property
    def window(self) -> str:
        if self.calendar is not None:
            return self.calendar.label()
        return window_label(self.window_minutes)

    @property
    def reason(self) -> str:
        return "; ".join(r for r in (self.window_issue, self.indicator_issue) if r)

    @property
    def evaluable(self) -> bool:
        return not self.reason

    @property
    def timesliced(self) -> bool:
        return self.budgeting_method != OCCURRENCES

    def describe_sli(self) -> str:
        if self.sli_source == SLI_EXTERNAL:
            return "external counts (landing slo/)"
        return self.span_filter.describe() if self.span_filter else ""


@dataclass(frozen=True)
class SpecReject:
    source_file: str
    name: str
    reason: str


@dataclass
class SpecSet:
    """``objectives``: every objective of every spec read; ``slos``: the evaluable ones;
    ``rejects``: files (or documents) that are not SLO specs or are malformed."""

    objectives: list[SloSpec] = field(default_factory=list)
    rejects: list[SpecReject] = field(default_factory=list)
    policies: dict[str, AlertPolicy] = field(default_factory=dict)

    @property
    def slos(self) -> list[SloSpec]:
        return [o for o in self.objectives if o.evaluable]


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


def objective_key(slo_name: str, objective: str, several: bool) -> str:
    """The evaluation key of one objective: the SLO's name, qualified when it has several."""
    return f"{slo_name}/{objective}" if several else slo_name
