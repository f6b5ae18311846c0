"""What the simulated platform does hour by hour: which workflow runs start when, and which fail.

The plan is pure data drawn from seeded generators, so the same seed always gives the same runs.
Span-level detail (latencies, tokens, retries) is drawn later, per hour, by the emitter.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from demo import story


@dataclass(frozen=True)
class Step:
    """One step of a workflow template: an LLM call or a tool call."""

    name: str
    kind: str  # "llm" | "tool"
    providers: tuple[tuple[str, float], ...] = ()
    tool: str = ""
    input_tokens: int = 0  # median prompt size
    output_tokens: int = 0  # median completion size
    tool_latency_ms: float = 0.0


WORKFLOW_STEPS: dict[str, tuple[Step, ...]] = {
    "invoice-triage": (
        Step("extract-fields", "llm", (("gcp.gemini", 1.0),), input_tokens=2400, output_tokens=350),
        Step("lookup-vendor", "tool", tool="erp.vendor_lookup", tool_latency_ms=120),
        Step("classify", "llm", (("gcp.gemini", 0.6), ("openai", 0.4)), 900, 60),
        Step("route", "tool", tool="ticket.route", tool_latency_ms=45),
    ),
    "support-reply": (
        Step("retrieve-context", "tool", tool="kb.search", tool_latency_ms=180),
        Step("draft-reply", "llm", (("anthropic", 0.7), ("openai", 0.3)), 3200, 450),
        Step("check-tone", "llm", (("openai", 1.0),), 700, 40),
    ),
    "code-review": (
        Step("fetch-diff", "tool", tool="git.diff", tool_latency_ms=260),
        Step("review", "llm", (("anthropic", 1.0),), 6500, 900),
        Step("summarize", "llm", (("gcp.gemini", 0.5), ("openai", 0.5)), 1500, 200),
    ),
    "contract-summary": (
        Step("ocr", "tool", tool="doc.ocr", tool_latency_ms=900),
        Step("extract-clauses", "llm", (("gcp.gemini", 1.0),), 8000, 700),
        Step("summarize", "llm", (("anthropic", 1.0),), 4000, 500),
    ),
}
WORKFLOW_MIX: dict[str, float] = {
    "invoice-triage": 0.30,
    "support-reply": 0.35,
    "code-review": 0.20,
    "contract-summary": 0.15,
}
# Share of runs failing outside the breach hour (kept well under the 1% an SLO of 99% allows).
BASE_RUN_FAILURE_RATE: dict[str, float] = {
    "invoice-triage": 0.0030,
    "support-reply": 0.0025,
    "code-review": 0.0035,
    "contract-summary": 0.0030,
}

DEFAULT_SPANS = 200_000


def spans_per_run(workflow: str) -> int:
    """Spans of a run that succeeds at the first attempt of every call."""
    steps = WORKFLOW_STEPS[workflow]
    return 2 + len(steps) + len(steps)  # gateway, run, one span per step, one call per step


@dataclass(frozen=True)
class PlannedRun:
    """One workflow run: when it starts and whether (and why) it fails."""

    index: int  # position within the hour
    workflow: str
    start_ns: int
    failure: str  # "" (succeeds) | "rate_limit" | "timeout" | "tool_error"


@dataclass(frozen=True)
class Running:
    """What the platform runs from some commit on, where it differs from the story's clock:
    LLM steps' provider mixes by (workflow, step), and the workflows whose prompt template is the
    one that drops citations (lower quality, an ERROR log line)."""

    mixes: tuple[tuple[tuple[str, str], tuple[tuple[str, float], ...]], ...] = ()
    degraded: frozenset[str] = frozenset()

    def providers(self, workflow: str, step: Step) -> tuple[tuple[str, float], ...]:
        return dict(self.mixes).get((workflow, step.name), step.providers)


@dataclass(frozen=True)
class HourPlan:
    hour_index: int
    start: datetime
    seed: int
    runs: tuple[PlannedRun, ...]
    # None: the story's own timeline (the template change and its effects from TEMPLATE_CHANGE_AT)
    running: Running | None = None


def hour_weight(hour_of_day: int) -> float:
    """Relative traffic of an hour of the day (UTC): a night floor and a day bump peaking at 14:00."""
    bump = math.sin(math.pi * (hour_of_day - 6) / 16) if 6 <= hour_of_day <= 22 else 0.0
    return 0.3 + 0.7 * max(bump, 0.0)


def in_breach(start: datetime) -> bool:
    return story.BREACH_START <= start < story.BREACH_END


def _hours() -> list[datetime]:
    hours = []
    at = story.TRAFFIC_START
    while at < story.TRAFFIC_END:
        hours.append(at)
        at += timedelta(hours=1)
    return hours


def plan_traffic(seed: int = story.SEED, spans: int = DEFAULT_SPANS) -> list[HourPlan]:
    """Every hour of the traffic window with its runs; roughly ``spans`` spans in total."""
    hours = _hours()
    weights = [hour_weight(h.hour) for h in hours]
    mean_spans = sum(WORKFLOW_MIX[w] * spans_per_run(w) for w in WORKFLOW_MIX) * 1.03
    total_runs = max(len(hours), round(spans / mean_spans))
    workflows = list(WORKFLOW_MIX)
    mix = [WORKFLOW_MIX[w] for w in workflows]
    failure_debt = dict.fromkeys(workflows, 0.5)
    carry = 0.0
    plans = []
    for index, hour in enumerate(hours):
        rng = random.Random(f"{seed}:plan:{index}")
        exact = total_runs * weights[index] / sum(weights) + carry
        count = int(exact)
        carry = exact - count
        hour_ns = int(hour.timestamp()) * 1_000_000_000
        offsets = sorted(rng.randrange(3_600_000_000) * 1000 for _ in range(count))
        chosen = rng.choices(workflows, weights=mix, k=count)
        failures = [""] * count
        for workflow in workflows:
            members = [i for i, w in enumerate(chosen) if w == workflow]
            if workflow == story.BREACH_WORKFLOW and in_breach(hour):
                for i in rng.sample(members, round(len(members) * story.BREACH_ERROR_RATE)):
                    failures[i] = "rate_limit"
                continue
            # A running debt spreads the base failures evenly: at most one per workflow and hour.
            failure_debt[workflow] += len(members) * BASE_RUN_FAILURE_RATE[workflow]
            if failure_debt[workflow] >= 1.0 and members:
                failure_debt[workflow] -= 1.0
                failures[rng.choice(members)] = rng.choice(("timeout", "tool_error"))
        runs = tuple(
            PlannedRun(i, chosen[i], hour_ns + offsets[i], failures[i]) for i in range(count)
        )
        plans.append(HourPlan(index, hour, seed, runs))
    return plans
