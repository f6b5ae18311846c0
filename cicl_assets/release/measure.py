"""Every release deployed to production, measured candidate by candidate; a worse outcome
opens an ``outcome_worse`` finding, from which candidate generation proposes the revert."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cicl_assets.candidates.lifecycle import refresh_candidates
from cicl_assets.candidates.reverts import OUTCOME_WORSE
from cicl_assets.candidates.table import read_candidates
from cicl_assets.learning.findings import finding_id, finding_row, group_key, merge_findings
from cicl_assets.learning.regressions.series import load_series
from cicl_assets.learning.regressions.thresholds import load_thresholds
from cicl_assets.platform_repo import PlatformRepo
from cicl_assets.release.deployed import Deployed, deployed_to
from cicl_assets.release.outcomes import Measured, measure, outcome_png, target_of, window
from cicl_assets.release.tables import CANDIDATE_OUTCOMES, IMPROVEMENT_RELEASES, NOT_MEASURED, WORSE
from cicl_assets.warehouse.base import IN_ARRAY, Warehouse

PRODUCTION = "production"


@dataclass
class Measurements:
    rows: list[dict[str, Any]] = field(default_factory=list)
    pictures: dict[str, bytes] = field(default_factory=dict)
    waiting: list[str] = field(default_factory=list)


def _by_id(warehouse: Warehouse, table: str, column: str, ids: list[str]) -> dict[str, dict]:
    if not ids or not warehouse.table_exists(table):
        return {}
    return {
        r[column]: r
        for r in warehouse.query(
            f"SELECT * FROM {table} WHERE {column} IN {IN_ARRAY.format(param='ids')}",
            {"ids": sorted(set(ids))},
        ).to_pylist()
    }


def outcome_id(rid: str, cid: str) -> str:
    return hashlib.sha256(f"{rid}\x1f{cid}".encode()).hexdigest()[:32]


def _worse_finding(
    release: dict, c: dict, target: Any, m: Measured, dep: Deployed, end: datetime, now: datetime
) -> dict[str, Any]:
    anchor = f"release:{release['release_id']}"
    return finding_row(
        finding_id=finding_id(OUTCOME_WORSE, target.series_key, target.metric, anchor),
        group_key=group_key(anchor),
        kind=OUTCOME_WORSE,
        status="open",
        severity="high",
        title=f"released change made things worse: {m.reason}",
        series_key=target.series_key,
        metric=target.metric,
        baseline_value=m.baseline,
        current_value=m.current,
        effect_ratio=m.ratio,
        p_value=m.p_worse,
        n_baseline=m.n_baseline,
        n_current=m.n_current,
        method=m.method,
        change_at=dep.at,
        deployment_id=dep.deployment_id,
        commit_sha=release["release_commit"],
        first_detectable_at=end,
        data_through=end,
        detected_at=now,
        partition_day=f"{dep.at:%Y-%m-%d}",
        evidence={
            "release_id": release["release_id"],
            "candidate_id": c["candidate_id"],
            "target_file": c["target_file"],
            "title": c["title"],
            "released_diff": c["diff"],
            "affects_production": c["affects_production"],
        },
    )


def measure_release(
    warehouse: Warehouse, release: dict, dep: Deployed, config_dir: Path, now: datetime
) -> tuple[list[dict[str, Any]], dict[str, bytes], list[dict[str, Any]]]:
    """(outcome rows, pictures by outcome id, worse findings) of one deployed release."""
    t = load_thresholds(config_dir)
    ids = json.loads(release["candidate_ids"])
    candidates = read_candidates(warehouse, ids)
    fids = [f for c in candidates.values() for f in json.loads(c["finding_ids"] or "[]")]
    findings = _by_id(warehouse, "cl_findings", "finding_id", fids)
    start, end = window(dep.at, t)
    series = {(s.key, s.metric): s for s in load_series(warehouse, start, end, PRODUCTION).values()}
    rows, pictures, worse = [], {}, []
    for cid in ids:
        c = candidates[cid]
        target = target_of(c, findings)
        oid = outcome_id(release["release_id"], cid)
        if target is None:
            m = Measured(
                NOT_MEASURED,
                f"The {c['kind']} change to {c['target_file']} rests on no finding with a measured "
                "series (a document, not production behaviour), so nothing to compare",
            )
            s = None
        else:
            s = series.get((target.series_key, target.metric))
            m = measure(s, dep.at, t, f"The {c['kind']} change to {c['target_file']}")
        row = {
            "outcome_id": oid,
            "release_id": release["release_id"],
            "candidate_id": cid,
            "kind": c["kind"],
            "target_file": c["target_file"],
            "deployment_id": dep.deployment_id,
            "deployed_at": dep.at,
            "deployed_by": dep.by,
            "series_key": target.series_key if target else None,
            "metric": target.metric if target else None,
            "expected": target.expected if target else None,
            "baseline_value": m.baseline,
            "current_value": m.current,
            "effect_ratio": m.ratio,
            "p_value_worse": m.p_worse,
            "p_value_improved": m.p_improved,
            "n_baseline": m.n_baseline,
            "n_current": m.n_current,
            "method": m.method,
            "verdict": m.verdict,
            "reason": m.reason,
            "finding_id": None,
            "revert_candidate_id": None,
            "measured_at": now,
        }
        if s is not None and m.verdict != NOT_MEASURED:
            pictures[oid] = outcome_png(s, dep.at, t, m.verdict)
        if m.verdict == WORSE:
            finding = _worse_finding(release, c, target, m, dep, end, now)
            row["finding_id"] = finding["finding_id"]
            worse.append(finding)
        rows.append(row)
    return rows, pictures, worse


def measure_outcomes(
    warehouse: Warehouse, repo: PlatformRepo | None, config_dir: Path, now: datetime
) -> Measurements:
    """Measure every release deployed to production; write outcomes, findings and reverts."""
    done = Measurements()
    if not warehouse.table_exists(IMPROVEMENT_RELEASES.name):
        return done
    releases = warehouse.query(
        "SELECT * FROM improvement_releases WHERE released_at >= @epoch "
        "ORDER BY released_at, release_id",
        {"epoch": datetime(1970, 1, 1, tzinfo=now.tzinfo)},
    ).to_pylist()
    worse: list[dict[str, Any]] = []
    for release in releases:
        dep = deployed_to(warehouse, repo, release, PRODUCTION)
        if dep is None:
            done.waiting.append(release["release_id"])
            continue
        rows, pictures, bad = measure_release(warehouse, release, dep, config_dir, now)
        done.rows += rows
        done.pictures.update(pictures)
        worse += bad
    if worse:
        merge_findings(warehouse, "outcomes", worse)
        if repo is not None:
            refresh_candidates(warehouse, repo, now)
        reverts = _open_reverts(warehouse)
        for row in done.rows:
            if row["finding_id"]:
                row["revert_candidate_id"] = reverts.get(row["finding_id"])
    warehouse.ensure_table(CANDIDATE_OUTCOMES)
    if done.rows:
        warehouse.replace_where_in(
            CANDIDATE_OUTCOMES,
            "outcome_id",
            [r["outcome_id"] for r in done.rows],
            CANDIDATE_OUTCOMES.from_records(done.rows),
        )
    return done


def _open_reverts(warehouse: Warehouse) -> dict[str, str]:
    """finding id -> the open revert candidate resting on it."""
    rows = warehouse.query(
        "SELECT candidate_id, finding_ids FROM improvement_candidates "
        "WHERE kind = 'revert' AND status = 'open'"
    ).to_pylist()
    return {f: r["candidate_id"] for r in rows for f in json.loads(r["finding_ids"] or "[]")}
