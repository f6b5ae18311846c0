"""Drift checks: cicl.drift_check/v1 results, and drift issues derived across checks.

A drift issue is one resource address drifted in one environment; its id is the sha256 of
"<environment>:<address>", so the same drift found on several days is one issue. An issue is
resolved by a later check of its environment that no longer reports it.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from cicl_assets.infra.naming import (
    environment_from_path,
    normalise_environment,
    time_from_name,
)
from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.json_documents import json_documents
from cicl_assets.ingest.values import checked_time

DRIFT_KIND = "cicl.drift_check/v1"


def drift_issue_id(environment: str | None, address: str) -> str:
    return hashlib.sha256(f"{environment or ''}:{address}".encode()).hexdigest()


def drift_check_rows(
    *,
    check_id: str,
    environment: str | None,
    workspace: str | None,
    checked_at: datetime | None,
    drifted: Sequence[dict[str, Any]],
    input_format: str,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One infra_drift_checks row and its infra_drift_observations rows."""
    check = {
        "check_id": check_id,
        "environment": environment,
        "workspace": workspace,
        "checked_at": checked_at,
        "drifted_resources": len(drifted),
        "input_format": input_format,
    }
    observations = [
        {
            "check_id": check_id,
            "environment": environment,
            "checked_at": checked_at,
            "drift_issue_id": drift_issue_id(environment, d["address"]),
            "address": d["address"],
            "type": d.get("type"),
            "provider": d.get("provider"),
            "actions": json.dumps(d.get("actions") or []),
            "changed_attributes": json.dumps(sorted(d.get("changed_attributes") or [])),
        }
        for d in drifted
    ]
    return check, observations


def detect_drift_check(sniff: Sniff) -> bool:
    return sniff.looks_json and DRIFT_KIND.encode() in sniff.head


def parse_drift_check(data: bytes, source_file: str) -> Iterator[tuple[str, list[dict]]]:
    checks, observations = [], []
    digest = hashlib.sha256(data).hexdigest()
    path_env = environment_from_path(source_file, "infra")
    for n, document in enumerate(json_documents(data)):
        where, doc = document.where, document.value
        if not isinstance(doc, dict) or doc.get("kind") != DRIFT_KIND:
            raise ParseError(f"{where}: not a {DRIFT_KIND} record")
        drifted = doc.get("drifted")
        if drifted is None:
            drifted = []
        if not isinstance(drifted, list):
            raise ParseError(f"{where}: 'drifted' must be a list")
        for i, d in enumerate(drifted):
            if not isinstance(d, dict) or not isinstance(d.get("address"), str):
                raise ParseError(f"{where}: drifted[{i}] has no 'address'")
            for key in ("actions", "changed_attributes"):
                if d.get(key) is not None and not isinstance(d[key], list):
                    raise ParseError(f"{where}: drifted[{i}].{key} must be a list")
        checked_at = checked_time(doc.get("checked_at"), f"{where}: checked_at") or time_from_name(
            source_file
        )
        check, obs = drift_check_rows(
            check_id=f"sha256:{digest}:{n}",
            environment=normalise_environment(doc.get("environment")) or path_env,
            workspace=doc.get("workspace"),
            checked_at=checked_at,
            drifted=drifted,
            input_format="cicl.drift_check/v1",
        )
        checks.append(check)
        observations += obs
    if not checks:
        raise ParseError("no drift check records in the file")
    yield "infra_drift_checks", checks
    yield "infra_drift_observations", observations


def derive_drift(
    checks: Sequence[dict[str, Any]], observations: Sequence[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(infra_drift rows, infra_drift_issues rows) from every check and observation.

    Checks and observations must have ``checked_at`` set (callers fill a missing one with the
    file's ingestion time). Issues are never dropped: one that is resolved stays, resolved.
    """
    checks_by_env: dict[Any, list[datetime]] = defaultdict(list)
    for c in checks:
        if c["checked_at"] is not None:
            checks_by_env[c["environment"]].append(c["checked_at"])
    by_issue: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for o in observations:
        if o["checked_at"] is not None:
            by_issue[o["drift_issue_id"]].append(o)
    issues: dict[str, dict[str, Any]] = {}
    for issue_id, seen in by_issue.items():
        seen.sort(key=lambda o: (o["checked_at"], o["source_file"] or ""))
        first, last = seen[0], seen[-1]
        later = sorted(t for t in checks_by_env[last["environment"]] if t > last["checked_at"])
        resolved_at = later[0] if later else None
        issues[issue_id] = {
            "drift_issue_id": issue_id,
            "environment": last["environment"],
            "address": last["address"],
            "type": last["type"],
            "provider": last["provider"],
            "status": "resolved" if resolved_at else "open",
            "opened_at": first["checked_at"],
            "last_seen_at": last["checked_at"],
            "resolved_at": resolved_at,
            "occurrences": len({o["check_id"] for o in seen}),
            "latest_actions": last["actions"],
            "latest_changed_attributes": last["changed_attributes"],
            "source_file": last["source_file"],
        }
    drift_rows = [
        {
            **{
                k: o[k]
                for k in (
                    "check_id",
                    "environment",
                    "checked_at",
                    "address",
                    "type",
                    "provider",
                    "actions",
                    "changed_attributes",
                    "drift_issue_id",
                    "source_file",
                )
            },
            "first_seen_at": issues[o["drift_issue_id"]]["opened_at"],
            "last_seen_at": issues[o["drift_issue_id"]]["last_seen_at"],
            "status": issues[o["drift_issue_id"]]["status"],
        }
        for seen in by_issue.values()
        for o in seen
    ]
    drift_rows.sort(key=lambda r: (r["checked_at"], r["environment"] or "", r["address"]))
    return drift_rows, sorted(issues.values(), key=lambda r: (r["opened_at"], r["address"]))
