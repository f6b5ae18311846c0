"""slo-generator reports for the Workbench UI, as its BigQuery exporter's rows (landing slo/).

The Workbench UI is measured by slo-generator from Cloud Monitoring, not from traces, so its SLO
reports arrive ready-made: one row per SLO, error-budget-policy step and hourly run, exported as
JSON lines. The UI's availability dips with the breach hour (its workflow calls fail too).
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path

from demo import story
from demo.landing_writer import WrittenFile, write_file

SERVICE = "workbench-ui"
# (slo name, description, target, good events per hour around midday)
SLOS = (
    ("page-availability", "99.9% of Workbench page loads succeed", 0.999, 4000),
    ("page-latency", "95% of Workbench page loads under 1.5 s", 0.95, 4000),
)
# slo-generator's default error budget policy: step name, window, burn-rate threshold.
POLICY_STEPS = (
    ("1 hour", 3600, 9.0),
    ("12 hours", 43200, 3.0),
    ("7 days", 604800, 1.5),
    ("28 days", 2419200, 1.0),
)
BAD_SHARE = {"page-availability": 0.0004, "page-latency": 0.02}
BREACH_BAD_SHARE = {"page-availability": 0.02, "page-latency": 0.06}


def _hourly_counts(rng: random.Random, slo: str, base: int, hour: datetime) -> tuple[int, int]:
    load = 0.4 + 0.6 * max(0.0, 1 - abs(hour.hour - 13) / 10)
    total = max(1, int(base * load * rng.uniform(0.9, 1.1)))
    in_breach = story.BREACH_START <= hour < story.BREACH_END
    share = BREACH_BAD_SHARE[slo] if in_breach else BAD_SHARE[slo]
    bad = min(total, round(total * share * rng.uniform(0.5, 1.5)))
    return total - bad, bad


def _report(
    slo: str,
    description: str,
    target: float,
    step: tuple[str, int, float],
    at: datetime,
    good: int,
    bad: int,
) -> dict:
    name, window, threshold = step
    total = good + bad
    sli = good / total if total else 1.0
    budget_target = 1 - target
    budget_used = (1 - sli) / budget_target if budget_target else 0.0
    budget_minutes = window / 60 * budget_target
    error_minutes = window / 60 * (1 - sli)
    alert = budget_used > threshold
    return {
        "service_name": SERVICE,
        "feature_name": "workbench",
        "slo_name": slo,
        "slo_target": target,
        "slo_description": description,
        "error_budget_policy_step_name": name,
        "error_budget_remaining_minutes": round(budget_minutes - error_minutes, 4),
        "consequence_message": (
            "Page the SRE on call." if alert else "No action required; SLO within budget."
        ),
        "error_budget_minutes": round(budget_minutes, 4),
        "error_minutes": round(error_minutes, 4),
        "error_budget_target": round(budget_target, 6),
        "timestamp_human": at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "timestamp": at.timestamp(),
        "cadence": "hourly",
        "window": window,
        "bad_events_count": bad,
        "good_events_count": good,
        "sli_measurement": round(sli, 6),
        "gap": round(sli - target, 6),
        "error_budget_measurement": round(1 - sli, 6),
        "error_budget_burn_rate": round(budget_used, 4),
        "alerting_burn_rate_threshold": threshold,
        "alert": alert,
        "metadata": [{"key": "env", "value": story.ENVIRONMENT}, {"key": "team", "value": "ui"}],
    }


def write_slo_reports(root: Path, seed: int) -> list[WrittenFile]:
    """One JSON-lines file per day, each line a report row of one hourly run."""
    rng = random.Random(f"{seed}:slo-reports")
    hours = int((story.TRAFFIC_END - story.TRAFFIC_START) / timedelta(hours=1))
    history: dict[str, list[tuple[int, int]]] = {slo: [] for slo, *_ in SLOS}
    lines_by_day: dict[str, list[str]] = {}
    for i in range(hours):
        hour = story.TRAFFIC_START + timedelta(hours=i)
        at = hour + timedelta(hours=1)
        for slo, description, target, base in SLOS:
            history[slo].append(_hourly_counts(rng, slo, base, hour))
            for step in POLICY_STEPS:
                covered = history[slo][-max(1, step[1] // 3600) :]
                good = sum(g for g, _ in covered)
                bad = sum(b for _, b in covered)
                row = _report(slo, description, target, step, at, good, bad)
                lines_by_day.setdefault(f"{hour:%Y-%m-%d}", []).append(
                    json.dumps(row, sort_keys=True)
                )
    return [
        write_file(root, f"slo/{SERVICE}/{day}.jsonl", ("\n".join(lines) + "\n").encode())
        for day, lines in sorted(lines_by_day.items())
    ]
