"""Gathering each deployment's evidence from the warehouse and judging it.

Reads are bounded by the deployments themselves: every query names the runs or digests it
wants (an ``IN`` list), never a whole table of CI results.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cicl_assets.compliance.policy import ChangeWindows, GatePolicy
from cicl_assets.compliance.rules import DeployFacts, judge
from cicl_assets.warehouse.base import IN_ARRAY, Warehouse

_CHUNK = 5_000


def _in(values: Sequence[str]) -> str:
    return f"IN {IN_ARRAY.format(param='values')}"


def _rows(warehouse: Warehouse, table: str, sql: str, values: Sequence[str]) -> list[dict]:
    """Rows of ``sql`` (with ``{IN}`` for the values list) over chunks of ``values``."""
    if not values or not warehouse.table_exists(table):
        return []
    unique = sorted(set(values))
    out: list[dict] = []
    for start in range(0, len(unique), _CHUNK):
        out += warehouse.query(
            sql.format(IN=_in(unique)), {"values": unique[start : start + _CHUNK]}
        ).to_pylist()
    return out


def read_deployments(warehouse: Warehouse) -> list[dict[str, Any]]:
    if not warehouse.table_exists("deployments"):
        return []
    return warehouse.query(
        "SELECT * FROM deployments ORDER BY started_at, deployment_id"
    ).to_pylist()


def gather(warehouse: Warehouse, deployments: list[dict[str, Any]]) -> list[DeployFacts]:
    """The facts of each deployment, in the order given."""
    digests = [d["image_digest"] for d in deployments if d.get("image_digest")]
    named = [d["pipeline_run_id"] for d in deployments if d.get("pipeline_run_id")]
    runs = _rows(
        warehouse,
        "ci_runs",
        "SELECT pipeline_run_id, image_digest, status, stages FROM ci_runs WHERE image_digest {IN}",
        digests,
    ) + _rows(
        warehouse,
        "ci_runs",
        "SELECT pipeline_run_id, image_digest, status, stages FROM ci_runs "
        "WHERE pipeline_run_id {IN}",
        named,
    )
    runs_by_digest: dict[str, dict[str, dict]] = defaultdict(dict)
    runs_by_id: dict[str, dict] = {}
    for r in runs:
        runs_by_id.setdefault(r["pipeline_run_id"], r)
        if r.get("image_digest"):
            runs_by_digest[r["image_digest"]].setdefault(r["pipeline_run_id"], r)
    run_ids = sorted(runs_by_id)
    findings: dict[str, list[dict]] = defaultdict(list)
    for f in _rows(
        warehouse,
        "ci_findings",
        "SELECT pipeline_run_id, rule_id, severity, status, package_name, installed_version, "
        "tool FROM ci_findings WHERE pipeline_run_id {IN}",
        run_ids,
    ):
        findings[f["pipeline_run_id"]].append(f)
    tests: dict[str, dict[str, int]] = defaultdict(dict)
    for t in _rows(
        warehouse,
        "ci_test_cases",
        "SELECT pipeline_run_id, status, COUNT(*) AS n FROM ci_test_cases "
        "WHERE pipeline_run_id {IN} GROUP BY pipeline_run_id, status",
        run_ids,
    ):
        tests[t["pipeline_run_id"]][t["status"]] = int(t["n"])
    with_sbom = {
        r["subject_digest"]
        for r in _rows(
            warehouse,
            "ci_sbom_components",
            "SELECT DISTINCT subject_digest FROM ci_sbom_components WHERE subject_digest {IN}",
            digests,
        )
    }
    audit: dict[str, list[dict]] = defaultdict(list)
    for e in _rows(
        warehouse,
        "audit_events",
        "SELECT pipeline_run_id, action, outcome, environment, details, event_time "
        "FROM audit_events "
        "WHERE source = 'cicl_ci' AND pipeline_run_id {IN}",
        run_ids,
    ):
        audit[e["pipeline_run_id"]].append(e)
    by_digest: dict[str, list[dict]] = defaultdict(list)
    for d in deployments:
        by_digest[d.get("image_digest") or ""].append(d)
    out = []
    for d in deployments:
        built = dict(runs_by_digest.get(d.get("image_digest") or "", {}))
        if d.get("pipeline_run_id") in runs_by_id:
            built.setdefault(d["pipeline_run_id"], runs_by_id[d["pipeline_run_id"]])
        ids = sorted(built)
        counts: dict[str, int] = defaultdict(int)
        for run_id in ids:
            for status, n in tests[run_id].items():
                counts[status] += n
        out.append(
            DeployFacts(
                deployment=d,
                runs=[built[i] for i in ids],
                findings=[f for i in ids for f in findings[i]],
                tests=dict(counts),
                sbom=d.get("image_digest") in with_sbom,
                earlier=[e for e in by_digest[d.get("image_digest") or ""] if e is not d],
                audit=[e for i in ids for e in audit[i]],
            )
        )
    return out


def evidence_row(
    facts: DeployFacts, policy: GatePolicy, windows: ChangeWindows, evaluated_at: datetime
) -> dict[str, Any]:
    d = facts.deployment
    verdict = judge(facts, policy, windows)
    tests = facts.tests
    return {
        **{
            k: d.get(k)
            for k in (
                "deployment_id",
                "environment",
                "service",
                "version",
                "commit_sha",
                "image_digest",
                "status",
                "started_at",
                "finished_at",
                "actor",
                "approver",
                "approved_at",
                "rollback_of",
                "attestation_status",
            )
        },
        "ci_runs": json.dumps([r["pipeline_run_id"] for r in facts.runs]),
        "tests_total": sum(tests.values()),
        "tests_failed": tests.get("failed", 0) + tests.get("error", 0),
        "tests_skipped": tests.get("skipped", 0),
        "sbom_present": facts.sbom,
        "checks": json.dumps(verdict.checks, sort_keys=True),
        "waived": json.dumps(verdict.waived),
        "verdict": verdict.verdict,
        "reasons": "; ".join(verdict.reasons),
        "evaluated_at": evaluated_at,
    }
