"""Failure occurrences grouped into modes by signature, judged day by day.

A mode is new on a day when none of its failures were seen in the baseline days before; it
jumps when the day's count is at least ``jump_ratio`` times its baseline daily mean (and at
least ``min_count``). Either is a finding, attributed to the latest deploy of the service that
started before the mode's first failure of the day. With merging on, near-identical signatures
(``merge.py``) seen today or in the baseline are one mode, named by the smallest of them.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
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

EXAMPLES = 5


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


def day_modes(
    today: Sequence[Occurrence],
    baseline: Sequence[Occurrence],
    baseline_days: int,
    deploys: Sequence[dict[str, Any]],
    jump_ratio: float,
    min_count: int,
    merge: MergeSettings | None = None,
) -> list[dict[str, Any]]:
    """One row per mode seen ``today``: counts, dimensions, examples, new / jumped, deploy."""
    base_sigs = [signature(o.error_type, o.message) for o in baseline]
    today_sigs = [signature(o.error_type, o.message) for o in today]
    named = merge_signatures([*base_sigs, *today_sigs], merge or MergeSettings())
    before: Counter[str] = Counter(mode_id(named[s]) for s in base_sigs)
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
        first = occ[0]
        mean_before = before[mid] / baseline_days if baseline_days else 0.0
        new = before[mid] == 0
        jumped = not new and len(occ) >= min_count and len(occ) >= jump_ratio * mean_before
        deploy = max(
            (
                d
                for d in deploys
                if d["service"] == first.service
                and d["environment"] == "production"
                and d["started_at"] <= first.at
            ),
            key=lambda d: d["started_at"],
            default=None,
        )
        rows.append(
            {
                "mode_id": mid,
                "signature": sigs[mid],
                "member_signatures": json.dumps(sorted(members[mid])),
                "sources": ",".join(sorted({o.source for o in occ})),
                "count": len(occ),
                "baseline_daily_mean": round(mean_before, 4),
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
        if not (r["new"] or r["jumped"]):
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
                method="new signature" if r["new"] else "daily count over baseline mean",
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
