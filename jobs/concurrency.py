"""Run tags the production instance's run queue limits (deploy/dagster/dagster.yaml).

Two rules, each a tag key limited to one run in progress at a time:

- ``cicl/audit-chain``: the run may append to the audit chain. On BigQuery the chain assumes a
  single writer (two appenders could fork it), so appenders wait for each other in the queue.
- ``cicl/writes-<group>``: the run writes the tables of that asset group (a table family:
  ``telemetry``, ``ci``, ``infra``, ``deployments``, ``audit``, ``compliance``, ``slo``,
  ``feedback``, ``learning``, ``delivery``). Two runs replacing the same family's rows never
  interleave.

A run carries one ``cicl/writes-*`` tag per family it writes, so a run writing several waits for
each. Jobs declare their tags here by group; ``concurrency_tags`` derives them from the assets a
run selects (the landing sensor's runs), and a test holds every job's declaration to it.
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

CHAIN_TAG = "cicl/audit-chain"
WRITES_PREFIX = "cicl/writes-"
TAG_VALUE = "true"

# Assets whose step appends to the audit chain (asset keys: jobs never import asset functions).
# audit_events chains the staged events; evidence_retention its deletions; the compliance
# multi-asset (rollback_checks and its siblings) rollbacks; evidence_bundles the bundles it cuts;
# slo_breach_report the review it triggered; candidate_review each decision,
# improvement_candidates the policy's approvals, improvement_release each release, and
# candidate_outcomes the candidates a worse outcome refreshes (and their approvals).
CHAIN_APPENDERS = (
    "audit_events",
    "evidence_retention",
    "deployment_evidence",
    "rollback_checks",
    "rollback_targets",
    "evidence_bundles",
    "slo_breach_report",
    "candidate_review",
    "improvement_candidates",
    "improvement_release",
    "candidate_outcomes",
)


def writes(*groups: str, chain: bool = False) -> dict[str, str]:
    """The tags of a run that writes the tables of ``groups`` (and appends to the chain)."""
    tags = {f"{WRITES_PREFIX}{group}": TAG_VALUE for group in sorted(set(groups))}
    if chain:
        tags[CHAIN_TAG] = TAG_VALUE
    return tags


def concurrency_tags(keys: Iterable[dg.AssetKey], graph) -> dict[str, str]:
    """The tags of a run that materializes ``keys`` of the asset ``graph``."""
    keys = list(keys)
    appenders = {dg.AssetKey(k) for k in CHAIN_APPENDERS}
    return writes(*(graph.get(k).group_name for k in keys), chain=any(k in appenders for k in keys))


def only_concurrency_tags(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if k == CHAIN_TAG or k.startswith(WRITES_PREFIX)}
