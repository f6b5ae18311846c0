"""The software delivery performance clusters of the 2024 Accelerate State of DevOps report
(DORA), as bands a figure falls into. Sources and the reading of each band: docs/delivery.md."""

from __future__ import annotations

DAY_H = 24.0
WEEK_H = 7 * DAY_H
MONTH_H = 30 * DAY_H
SIX_MONTHS_H = 182 * DAY_H

# 2024 clusters' typical change failure rate: the report gives one value per cluster, not a
# range, and they are not ordered like the clusters (medium 10% < high 20%).
CFR_CLUSTERS = (("elite", 0.05), ("medium", 0.10), ("high", 0.20), ("low", 0.40))


def deployment_frequency_band(deploys_per_day: float | None) -> str | None:
    """elite: on demand (at least daily); high: daily to weekly; medium: weekly to monthly;
    low: less often than monthly."""
    if deploys_per_day is None:
        return None
    if deploys_per_day >= 1:
        return "elite"
    if deploys_per_day >= 1 / 7:
        return "high"
    if deploys_per_day >= 1 / 30:
        return "medium"
    return "low"


def lead_time_band(hours: float | None) -> str | None:
    """elite: under a day; high: a day to a week; medium: a week to a month; low: longer."""
    if hours is None:
        return None
    if hours < DAY_H:
        return "elite"
    if hours < WEEK_H:
        return "high"
    if hours < MONTH_H:
        return "medium"
    return "low"


def change_failure_rate_band(rate: float | None) -> str | None:
    """The cluster whose typical rate is nearest (ties go to the better cluster)."""
    if rate is None:
        return None
    return min(CFR_CLUSTERS, key=lambda c: (abs(c[1] - rate), c[1]))[0]


def recovery_band(hours: float | None) -> str | None:
    """elite: under an hour; high and medium (the report gives both): under a day; low: longer."""
    if hours is None:
        return None
    if hours < 1:
        return "elite"
    if hours < DAY_H:
        return "high"
    return "low"
