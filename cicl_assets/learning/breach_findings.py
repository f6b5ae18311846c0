"""The findings that explain an SLO breach: regressions (or failure modes) that were under way
during the breach window and are about what the breach's bad events have in common.

A finding explains a breach when it began before the breach's evaluation, had not recovered
when the window opened, and one of its dimensions has the value that carries at least half of
the window's bad events in the breach report (the same bar `cause` uses to name a culprit).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from cicl_assets.learning.breach import Breach
from cicl_assets.learning.breach_report import NONE_VALUE, top_by_dimension
from cicl_assets.learning.findings import CL_FINDINGS, SEVERITY_RANK
from cicl_assets.warehouse.base import Warehouse

# Breach report dimension -> the cl_findings column holding the same value. Not the service
# version: after a deploy every event carries the new one, so it tops every breach that follows
# and would tie each of them to every finding of that deploy.
FINDING_COLUMN = {
    "provider": "gen_ai_provider",
    "model": "gen_ai_model",
    "operation": "operation",
    "workflow": "workflow",
}
CULPRIT_SHARE = 0.5
# How long before the window a finding may have begun and still explain it (a slow regression
# that burns the budget for days before it pages).
LOOKBACK = timedelta(days=3)
SHOWN = 10


def culprits(rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """cl_findings column -> the value carrying at least half of the breach's bad events."""
    found = {}
    for dim, row in top_by_dimension(list(rows)).items():
        column = FINDING_COLUMN.get(dim)
        if column and row["value"] != NONE_VALUE and (row["share_of_bad"] or 0) >= CULPRIT_SHARE:
            found[column] = row["value"]
    return found


def explains(
    finding: dict[str, Any], suspects: dict[str, str], start: datetime, at: datetime
) -> bool:
    if finding["change_at"] is None or finding["change_at"] > at:
        return False
    if finding["resolved_at"] is not None and finding["resolved_at"] < start:
        return False
    return any(finding.get(column) == value for column, value in suspects.items())


def explaining_findings(
    rows: Sequence[dict[str, Any]], findings: Sequence[dict[str, Any]], breach: Breach
) -> list[dict[str, Any]]:
    """The findings that explain the breach, worst first."""
    suspects = culprits(rows)
    if not suspects:
        return []
    chosen = [f for f in findings if explains(f, suspects, breach.window_start, breach.at)]
    return sorted(
        chosen, key=lambda f: (SEVERITY_RANK.get(f["severity"], 9), f["change_at"], f["title"])
    )


def read_findings(warehouse: Warehouse, breach: Breach) -> list[dict[str, Any]]:
    """cl_findings rows that began in the lookback before the window and by the breach."""
    if not warehouse.table_exists(CL_FINDINGS.name):
        return []
    return warehouse.query(
        "SELECT finding_id, kind, status, severity, title, change_at, resolved_at, "
        "gen_ai_provider, gen_ai_model, operation, workflow, service_version FROM cl_findings "
        "WHERE change_at >= @since AND change_at <= @at",
        {"since": breach.window_start - LOOKBACK, "at": breach.at},
    ).to_pylist()


def findings_markdown(findings: Sequence[dict[str, Any]]) -> str:
    if not findings:
        return "_no finding in `cl_findings` explains this breach_"
    lines = [f"- `{f['finding_id']}` ({f['kind']}, {f['status']}): {f['title']}" for f in findings]
    if len(lines) > SHOWN:
        lines = [*lines[:SHOWN], f"- … and {len(lines) - SHOWN} more"]
    return "The findings that explain this breach:\n\n" + "\n".join(lines)
