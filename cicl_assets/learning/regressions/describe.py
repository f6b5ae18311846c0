"""Words for a finding: its kind, severity and the one-line sentence a person reads."""

from __future__ import annotations

from datetime import datetime

KIND_OF_METRIC = {
    "latency_ms": "latency_regression",
    "latency_per_output_token_ms": "latency_regression",
    "duration_ms": "latency_regression",
    "error_rate": "error_regression",
    "tokens_per_call": "cost_regression",
    "negative_feedback_rate": "quality_regression",
}
METRIC_WORDS = {
    "latency_ms": "p50 latency",
    "latency_per_output_token_ms": "p50 latency per output token",
    "duration_ms": "p50 duration",
    "error_rate": "error rate",
    "tokens_per_call": "median tokens per call",
    "negative_feedback_rate": "negative feedback",
}


def kind_of(metric: str) -> str:
    return KIND_OF_METRIC.get(metric, "quality_regression")


def effect(ratio: float | None, worse: str) -> float:
    """How many times worse, >= 1 for a regression (scores: baseline over current)."""
    if ratio is None:
        return float("inf")
    if worse == "lower":
        return 1 / ratio if ratio > 0 else float("inf")
    return ratio


def severity(times_worse: float) -> str:
    if times_worse >= 3:
        return "critical"
    if times_worse >= 2:
        return "high"
    if times_worse >= 1.5:
        return "medium"
    return "low"


def series_label(dims: dict[str, str]) -> str:
    if "operation" in dims:
        return f"{dims['gen_ai_provider']} {dims['gen_ai_model']} {dims['operation']}"
    if "gen_ai_provider" in dims:
        return f"{dims['gen_ai_provider']} {dims['gen_ai_model']}"
    if "span_name" in dims:
        return f"{dims['service_name']} {dims['span_name']}"
    return f"workflow {dims['workflow']}"


def metric_words(metric: str) -> str:
    if metric.startswith("eval_score:"):
        return f"median {metric.split(':', 1)[1]} score"
    return METRIC_WORDS.get(metric, metric)


def value_text(metric: str, value: float) -> str:
    if metric in ("error_rate", "negative_feedback_rate"):
        return f"{value:.1%}"
    if metric in ("latency_ms", "duration_ms"):
        return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms"
    if metric == "latency_per_output_token_ms":
        return f"{value:.1f} ms"
    if metric == "tokens_per_call":
        return f"{value:.0f}"
    return f"{value:.2f}"


def p_text(p: float) -> str:
    return "p < 1e-12" if p < 1e-12 else f"p = {p:.1e}"


def ratio_text(ratio: float | None) -> str:
    return "from zero" if ratio is None else f"{ratio:.1f}×"  # noqa: RUF001 - the sign the sentence reads


def sentence(
    dims: dict[str, str],
    metric: str,
    baseline: float,
    current: float,
    ratio: float | None,
    p: float,
    since: str,
) -> str:
    """'anthropic claude-sonnet-4 chat: p50 latency 2.2 s → 5.5 s (2.5x, p < 1e-12) since ...'."""
    return (
        f"{series_label(dims)}: {metric_words(metric)} {value_text(metric, baseline)} → "
        f"{value_text(metric, current)} ({ratio_text(ratio)}, {p_text(p)}) {since}"
    )


def since_hour(at: datetime, attribution_hours: float) -> str:
    return f"since {at:%Y-%m-%d %H:%M} (no deploy in the {attribution_hours:g} h before)"
