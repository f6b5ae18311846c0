"""The improvement_candidates asset: open findings and proposals as changes to the platform
repository, for reviewers to approve."""

import json
from typing import Any

import dagster as dg
import pyarrow as pa

from cicl_assets.candidates.lifecycle import refresh_candidates
from cicl_assets.candidates.table import IMPROVEMENT_CANDIDATES, KINDS, STALE, SUPERSEDED
from cicl_assets.candidates.view import candidate_markdown, read_findings
from cicl_assets.metadata import column_schema, markdown_table
from cicl_assets.resources import CiclConfig
from cicl_assets.review.policy import load_review_policy
from cicl_assets.review.queue import approve_by_policy, sync_queue
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.tables import utcnow

SHOWN = 10


def open_candidates(warehouse: Warehouse) -> list[dict[str, Any]]:
    """The open candidates, by kind and target file."""
    if not warehouse.table_exists(IMPROVEMENT_CANDIDATES.name):
        return []
    return warehouse.query(
        "SELECT * FROM improvement_candidates WHERE status = 'open' ORDER BY kind, target_file"
    ).to_pylist()


@dg.asset(
    name=IMPROVEMENT_CANDIDATES.name,
    group_name="review",
    kinds={"python", "sql", "git"},
    owners=["team:platform"],
    deps=["cl_findings", "routing_proposals", "failure_modes", "flaky_tests"],
    description=IMPROVEMENT_CANDIDATES.description,
)
def improvement_candidates(
    context: dg.AssetExecutionContext, warehouse: Warehouse, cicl_config: CiclConfig
) -> dg.MaterializeResult:
    """Reads the platform repository (CICL_PLATFORM_REPO) at HEAD; without one it proposes
    nothing and says so."""
    repo = cicl_config.platform_repo()
    if repo is None:
        context.log.info("CICL_PLATFORM_REPO is not set: no candidates are generated")
        return dg.MaterializeResult(
            metadata={"platform_repo": "unset (CICL_PLATFORM_REPO)", "proposed": 0, "written": 0}
        )
    outcome = refresh_candidates(warehouse, repo, utcnow())
    # The review queue follows at once, so a run without the daemon leaves it current.
    policy = load_review_policy(cicl_config.path)
    notary = cicl_config.chain_notary(warehouse) if policy.auto_approve else None
    by_policy = approve_by_policy(warehouse, policy, notary, utcnow(), context.run.run_id)
    queue = sync_queue(context.instance, warehouse, policy)
    rows = open_candidates(warehouse)
    meta: dict[str, Any] = {
        "dagster/row_count": warehouse.row_count(IMPROVEMENT_CANDIDATES.name),
        "dagster/column_schema": column_schema(IMPROVEMENT_CANDIDATES),
        "platform_repo": repo.uri,
        "base_commit": outcome.base_commit,
        "proposed": len(outcome.proposed),
        "written": len(outcome.written),
        "became_stale": outcome.count(STALE),
        "superseded": outcome.count(SUPERSEDED),
        "approved_by_policy": len(by_policy),
        "review_partitions_added": len(queue.add),
        "review_partitions_removed": len(queue.remove),
        "open": len(rows),
        **{f"open/{kind}": sum(1 for r in rows if r["kind"] == kind) for kind in KINDS},
        "candidates": dg.MetadataValue.md(
            "Open candidates: what each changes and why.\n\n"
            + markdown_table(
                pa.Table.from_pylist(
                    [
                        {k: r[k] for k in ("candidate_id", "kind", "target_file", "risk", "title")}
                        for r in rows
                    ]
                ),
                20,
            )
        ),
    }
    for row in rows[:SHOWN]:
        findings = read_findings(warehouse, json.loads(row["finding_ids"]))
        meta[f"candidate/{row['candidate_id'][:12]}"] = dg.MetadataValue.md(
            candidate_markdown(row, findings)
        )
    context.log.info(
        f"{len(outcome.proposed)} candidates proposed against {outcome.base_commit[:12]}, "
        f"{len(outcome.written)} rows written, {len(rows)} open, {len(by_policy)} approved by "
        f"policy; {queue.summary()}"
    )
    return dg.MaterializeResult(metadata=meta)


ASSETS: list = [improvement_candidates]
CHECKS: list = []
