"""Failure occurrences grouped into modes by signature, judged day by day.

A mode's failures are counted out of its source's exposure (spans, log records, test cases or
applies) today and over the baseline days that had any. A mode is new on a day when none of its
failures were seen in the baseline; it jumps when its rate is at least ``jump_ratio`` times its
baseline rate. Either is a finding only when the mode was seen ``min_count`` times that day and
Fisher's exact test (the regression detectors' test of rates) gives p <= ``max_p``; a jump must
also follow a production deploy of its service within ``attribution`` (a rate that rises with no
deploy is the SLO breach review's to explain). A mode is attributed to that deploy, else to
none. With merging on, near-identical signatures (``merge.py``) seen today or in the baseline
are one mode, named by the smallest of them.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cicl_assets.learning.failure_modes.merge import MergeSettings, merge_signatures
from cicl_assets.learning.failure_modes.signature import mode_id, signature
from cicl_assets.learning.findings import (
    deploy_anchor,
    finding_id,
    finding_row,
    group_key,
    hour_anchor,
)
from cicl_assets.learning.regressions.significance import fisher_rates

EXAMPLES = 5
# What each source's failures are counted out of.
EXPOSURE_OF = {
    "span_status": "spans",
    "span_exception": "spans",
    "log": "logs",
    "test": "test_cases",
    "infra_apply": "applies",
}


@dataclass(frozen=True)
class Judging:
    """How a day's modes are judged (config/policies/delivery.yaml, ``failure_modes``)."""

    jump_ratio: float = 3.0
    min_count: int = 5
    max_p: float = 0.01
    attribution: timedelta = timedelta(hours=24)
    merge: MergeSettings = field(default_factory=MergeSettings)


@dataclass(frozen=True)
class Exposure:
    """Per exposure unit (``EXPOSURE_OF``'s values): how many there were today and over the
    baseline, and on how many baseline days there were any."""

    today: Mapping[str, int]
    before: Mapping[str, int]
    before_days: Mapping[str, int]

    def of(self, units: set[str]) -> tuple[int, int, int]:
        return (
            sum(self.today.get(u, 0) for u in units),
            sum(self.before.get(u, 0) for u in units),
            max((self.before_days.get(u, 0) for u in units), default=0),
        )


@dataclass(frozen=True)
class Occurrence:
    source: str  # span_status, span_exception, log, test, infra_apply
    error_type: str | None
    message: str | None
    at: datetime
    service: str | None = None
    workflow: str | None = None
    provider: str | None = None
    version: str | None = None
    trace_id: str | None = None
    test_name: str | None = None


def _top(values: list, n: int = EXAMPLES) -> list:
    return [v for v, _ in Counter(v for v in values if v).most_common(n)]


def _deploy_before(
    deploys: Sequence[dict[str, Any]], service: str | None, at: datetime, within: timedelta
) -> dict[str, Any] | None:
    return max(
        (
            d
            for d in deploys
            if d["service"] == service
            and d["environment"] == "production"
            and at - within <= d["started_at"] <= at
        ),
        key=lambda d: d["started_at"],
        default=None,
    )


def day_modes(
    today: Sequence[Occurrence],
    baseline: Sequence[Occurrence],
    exposure: Exposure,
    deploys: Sequence[dict[str, Any]],
    judging: Judging | None = None,
) -> list[dict[str, Any]]:
    """One row per mode seen ``today``: counts, dimensions, examples, new / jumped, the test,
    whether it is a finding, and the deploy it follows."""
    judging = judging or Judging()
    base_sigs = [signature(o.error_type, o.message) for o in baseline]
    today_sigs = [signature(o.error_type, o.message) for o in today]
    named = merge_signatures([*base_sigs, *today_sigs], judging.merge)
    before: Counter[str] = Counter(mode_id(named[s]) for s in base_sigs)
    units_before: dict[str, set[str]] = defaultdict(set)
    for o, sig in zip(baseline, base_sigs, strict=True):
        units_before[mode_id(named[sig])].add(EXPOSURE_OF[o.source])
    groups: dict[str, list[Occurrence]] = defaultdict(list)
    sigs: dict[str, str] = {}
    members: dict[str, set[str]] = defaultdict(set)
    for o, sig in zip(today, today_sigs, strict=True):
        mid = mode_id(named[sig])
        groups[mid].append(o)
        sigs[mid] = named[sig]
        members[mid].add(sig)
    rows = []
    for mid in sorted(groups):
        occ = sorted(groups[mid], key=lambda o: o.at)
        first, count = occ[0], len(occ)
        units = {EXPOSURE_OF[o.source] for o in occ} | units_before[mid]
        out_of, out_of_before, days = exposure.of(units)
        mean_before = before[mid] / days if days else 0.0
        new = before[mid] == 0
        # A judgement needs a baseline with data: on the first day of data every mode is new.
        judged = days > 0 and out_of_before > 0 and out_of > 0
        p_value = ratio = None
        if judged:
            test = fisher_rates(
                before[mid], max(out_of_before, before[mid]), count, max(out_of, count)
            )
            p_value, ratio = test.p_value, test.ratio
        jumped = not new and ratio is not None and ratio >= judging.jump_ratio
        deploy = _deploy_before(deploys, first.service, first.at, judging.attribution)
        finding = (
            judged
            and count >= judging.min_count
            and p_value is not None
            and p_value <= judging.max_p
            and (new or (jumped and deploy is not None))
        )
        rows.append(
            {
                "mode_id": mid,
                "signature": sigs[mid],
                "member_signatures": json.dumps(sorted(members[mid])),
                "sources": ",".join(sorted({o.source for o in occ})),
                "count": count,
                "baseline_daily_mean": round(mean_before, 4),
                "baseline_days": days,
                "exposure": out_of,
                "baseline_exposure": out_of_before,
                "p_value": p_value,
                "first_seen_at": first.at,
                "last_seen_at": occ[-1].at,
                "services": json.dumps(_top([o.service for o in occ])),
                "workflows": json.dumps(_top([o.workflow for o in occ])),
                "providers": json.dumps(_top([o.provider for o in occ])),
                "versions": json.dumps(_top([o.version for o in occ])),
                "example_trace_ids": json.dumps(
                    sorted({o.trace_id for o in occ if o.trace_id})[:EXAMPLES]
                ),
                "example_tests": json.dumps(
                    sorted({o.test_name for o in occ if o.test_name})[:EXAMPLES]
                ),
                "new": new,
                "jumped": jumped,
                "finding": finding,
                "deployment_id": deploy["deployment_id"] if deploy else None,
                "service_version": deploy.get("version") if deploy else None,
                "commit_sha": deploy.get("commit_sha") if deploy else None,
                "service_name": first.service,
            }
        )
    return rows


def findings_rows(
    rows: Sequence[dict[str, Any]], detected_at: datetime, data_through: datetime, day: str
) -> list[dict[str, Any]]:
    """cl_findings rows of kind failure_mode: modes that are new, or jumped, on their day,
    anchored like every other finding (the deploy they follow, else their first hour), so a
    mode that starts with a deploy shares its group with that deploy's regressions."""
    out = []
    for r in rows:
        if not r["finding"]:
            continue
        if r["deployment_id"]:
            anchor = deploy_anchor(r["deployment_id"])
        else:
            anchor = hour_anchor(r["first_seen_at"])
        what = "new failure mode" if r["new"] else "failure mode jumped"
        series_key = f"signature={r['signature']}"
        out.append(
            finding_row(
                finding_id=finding_id("failure_mode", series_key, "count", anchor),
                group_key=group_key(anchor),
                series_key=series_key,
                kind="failure_mode",
                status="open",
                severity="high" if r["count"] >= 10 else "medium",
                title=f"{what} in {r['service_name'] or 'an unknown service'}: {r['signature']}"[
                    :200
                ],
                service_name=r["service_name"],
                metric="count",
                baseline_value=r["baseline_daily_mean"],
                current_value=float(r["count"]),
                effect_ratio=(
                    round(r["count"] / r["baseline_daily_mean"], 4)
                    if r["baseline_daily_mean"]
                    else None
                ),
                n_current=r["count"],
                method="new signature (fisher_exact)"
                if r["new"]
                else "rate over baseline rate (fisher_exact)",
                p_value=r["p_value"],
                change_at=r["first_seen_at"],
                deployment_id=r["deployment_id"],
                service_version=r["service_version"],
                commit_sha=r["commit_sha"],
                first_detectable_at=r["first_seen_at"],
                data_through=data_through,
                detected_at=detected_at,
                partition_day=day,
                evidence={
                    "anchor": anchor,
                    "signature": r["signature"],
                    "trace_ids": json.loads(r["example_trace_ids"]),
                    "test_names": json.loads(r["example_tests"]),
                },
            )
        )
    return out
