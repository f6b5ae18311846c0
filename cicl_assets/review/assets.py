"""The candidate_review asset: a reviewer materializes a candidate's partition with their
decision, and the gate records it or refuses it saying why."""

import enum
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import dagster as dg
from pydantic import Field

from cicl_assets.candidates.decisions import CANDIDATE_DECISIONS
from cicl_assets.candidates.table import IMPROVEMENT_CANDIDATES
from cicl_assets.resources import CiclConfig
from cicl_assets.review.policy import ReviewPolicyError, load_review_policy
from cicl_assets.review.queue import REVIEW_ASSET, candidate_page, candidate_partitions
from cicl_assets.review.rules import Refused, Request, decide
from cicl_assets.review.store import read_candidate, read_decisions, record
from cicl_assets.settings import Settings
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.tables import utcnow

# Dagster+ sets it to the signed-in user who launched the run.
DAGSTER_USER_TAG = "dagster/user"

DESCRIPTION = (
    CANDIDATE_DECISIONS.description
    + """

Each partition is one candidate waiting for a decision (its id); select it to read the diff, why,
the findings' pictures and the expected effect. To decide, materialize the partition with config
`decision` (approve or reject), `reviewer` (your name in config/reviewers.yaml) and
`justification` (why). A refused decision fails the run with the reason and records nothing.

What the reviewer name proves: on Dagster OSS nothing. The UI has no login, so the name only says
that someone who could reach the UI typed it. When the run carries an identity tag (Dagster+'s
`dagster/user`, or the tag CICL_IDENTITY_TAG names, set by an identity-aware proxy), it must be an
identity config/reviewers.yaml maps to the reviewer, and it is recorded as
`authenticated_identity`; without one that column is null. CICL_REQUIRE_IDENTITY=true refuses
runs without it. See docs/review.md."""
)


class Decision(enum.Enum):
    approve = "approve"
    reject = "reject"


class ReviewConfig(dg.Config):
    decision: Decision = Field(description="approve or reject")
    reviewer: str = Field(description="your name as config/reviewers.yaml lists it")
    justification: str = Field(
        description="why you decide so: recorded with the decision and in the audit chain"
    )


def run_identity(
    tags: Mapping[str, str], configured_tag: str | None
) -> tuple[str | None, str | None]:
    """(identity, tag it came from) of a run: the configured tag first, then Dagster+'s."""
    for name in (configured_tag, DAGSTER_USER_TAG):
        value = (tags.get(name) or "").strip() if name else ""
        if value:
            return value, name
    return None, None


def gate_settings(cicl_config: CiclConfig) -> Settings:
    """The deployment's settings, once the run's cicl_config is shown to hold the same gate
    rules. The launchpad lets whoever launches a run edit resource config, so a reviewer could
    otherwise point config_dir at a reviewers.yaml of their own or turn the identity
    requirement off; the rules come from the deployment's environment instead."""
    deployed = Settings.from_env()
    pairs = (
        ("config_dir", Path(cicl_config.config_dir).resolve(), deployed.config_dir.resolve()),
        ("identity_tag", cicl_config.identity_tag, deployed.identity_tag),
        ("require_identity", cicl_config.require_identity, deployed.require_identity),
    )
    changed = [name for name, ours, theirs in pairs if ours != theirs]
    if changed:
        raise Refused(
            f"the run's cicl_config changes {', '.join(changed)} from the deployment's settings; "
            "the gate's rules are the deployment's: materialize without editing the resources"
        )
    return deployed


@dg.asset(
    name=REVIEW_ASSET,
    partitions_def=candidate_partitions,
    group_name="review",
    kinds={"python", "sql"},
    owners=["team:platform"],
    deps=[IMPROVEMENT_CANDIDATES.name],
    description=DESCRIPTION,
)
def candidate_review(
    context: dg.AssetExecutionContext,
    config: ReviewConfig,
    warehouse: Warehouse,
    cicl_config: CiclConfig,
) -> dg.MaterializeResult:
    candidate_id = context.partition_key
    try:
        settings = gate_settings(cicl_config)
        identity, source = run_identity(context.run.tags, settings.identity_tag)
        request = Request(
            candidate_id=candidate_id,
            decision=config.decision.value,
            reviewer=config.reviewer,
            justification=config.justification,
            identity=identity,
            identity_source=source,
            require_identity=settings.require_identity,
        )
        policy = load_review_policy(settings.config_dir)
        candidate = read_candidate(warehouse, candidate_id)
        decisions = read_decisions(warehouse, [candidate_id])
        verdict = decide(request, candidate, decisions, policy, utcnow(), context.run.run_id)
    except (Refused, ReviewPolicyError) as exc:
        raise dg.Failure(
            description=f"Decision refused, nothing recorded: {exc}",
            metadata={"refused": str(exc)},
            allow_retries=False,
        ) from None
    candidate = cast(dict[str, Any], candidate)  # decide refuses an unknown candidate
    row = record(warehouse, verdict, candidate, cicl_config.chain_notary(warehouse))
    decided = {**candidate, "status": row["candidate_status_after"]}
    page = candidate_page(warehouse, decided, read_decisions(warehouse, [candidate_id]), policy)
    context.log.info(
        f"{row['reviewer']} {row['decision']}s candidate {candidate_id}: it is now "
        f"{row['candidate_status_after']} (approvals {page['approvals']})"
    )
    return dg.MaterializeResult(
        metadata={
            "decision": row["decision"],
            "reviewer": row["reviewer"],
            "justification": row["justification"],
            "candidate_status_after": row["candidate_status_after"],
            "authenticated_identity": row["authenticated_identity"]
            or "none: nothing proves who typed the reviewer name",
            "identity_source": row["identity_source"] or "none",
            "decision_id": row["decision_id"],
            "audit_event_hash": row["audit_event_hash"],
            "dagster/row_count": warehouse.row_count(CANDIDATE_DECISIONS.name),
            **page,
        }
    )


ASSETS: list = [candidate_review]
CHECKS: list = []
