"""The improvement_release asset and its blocking check, and candidate_outcomes."""

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any

import dagster as dg
import pyarrow as pa

from cicl_assets.charts import chart_markdown
from cicl_assets.ingest.data_days import newest_data_day
from cicl_assets.metadata import column_schema, markdown_table
from cicl_assets.outbox import open_outbox
from cicl_assets.release.manifest import OUTBOX_BRANCH
from cicl_assets.release.measure import measure_outcomes
from cicl_assets.release.ship import ship
from cicl_assets.release.tables import CANDIDATE_OUTCOMES, IMPROVEMENT_RELEASES, VERDICTS
from cicl_assets.release.verify import released_diffs, verify_release
from cicl_assets.resources import CiclConfig
from cicl_assets.telemetry.formats import OTEL_STREAM
from cicl_assets.telemetry.spans_table import OTEL_SPANS
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.tables import utcnow

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

RELEASE = "improvement_release"
# Releases the check re-verifies: the newest (older ones were verified when they were new).
VERIFIED_RELEASES = 20


def release_time(warehouse: Warehouse, clock: str | None, now: datetime) -> datetime:
    """When a release made ``now`` is dated. On the data clock (CICL_RELEASE_CLOCK=data, for a
    replay of weeks-old traffic such as the demo's) the newest span that is not in the future,
    so the deployment after it and the traffic after that fall on the data's days. The newest
    day comes from ``ingested_files``; only that day of the spans is read (the day before it
    too when all of that day's spans are still ahead of ``now``)."""
    if clock != "data" or not warehouse.table_exists(OTEL_SPANS.name):
        return now
    through = now.astimezone(UTC).date()
    for _ in range(2):
        day = newest_data_day(warehouse, OTEL_STREAM.name, through)
        if day is None:
            return now
        start = datetime.combine(day, time(), UTC)
        [row] = warehouse.query(
            f"SELECT MAX(start_time) AS t FROM {OTEL_SPANS.name} "
            "WHERE start_time >= @start AND start_time < @end AND start_time <= @now",
            {"start": start, "end": start + timedelta(days=1), "now": now},
        ).to_pylist()
        if row["t"] is not None:
            return row["t"].astimezone(UTC)
        through = day - timedelta(days=1)
    return now


@dg.asset(
    name=RELEASE,
    group_name="review",
    kinds={"python", "git"},
    owners=["team:platform"],
    deps=["improvement_candidates"],
    description=IMPROVEMENT_RELEASES.description,
)
def improvement_release(
    context: dg.AssetExecutionContext, warehouse: Warehouse, cicl_config: CiclConfig
) -> dg.MaterializeResult:
    """Ships approved candidates to CICL_PLATFORM_REPO; without a repository or a signing key
    nothing ships, and it says so."""
    repo = cicl_config.platform_repo()
    signer = cicl_config.signer()
    why_not = (
        "CICL_PLATFORM_REPO is not set"
        if repo is None
        else "no signing key (CICL_SIGNING_KEY): a release manifest must be signed"
        if signer is None
        else None
    )
    if why_not:
        context.log.info(f"nothing released: {why_not}")
        return dg.MaterializeResult(metadata={"released": 0, "not_released": why_not})
    store = open_outbox(cicl_config.outbox_uri, git_branch=OUTBOX_BRANCH)
    at = release_time(warehouse, cicl_config.release_clock, utcnow())
    shipped = ship(warehouse, repo, signer, store, cicl_config.chain_notary(warehouse), at)
    skipped = "\n".join(f"- `{cid}`: {why}" for cid, why in shipped.skipped.items())
    meta: dict[str, Any] = {
        "dagster/row_count": warehouse.row_count(IMPROVEMENT_RELEASES.name),
        "dagster/column_schema": column_schema(IMPROVEMENT_RELEASES),
        "released": len(shipped.candidates),
        "skipped": len(shipped.skipped),
    }
    if skipped:
        meta["skipped_candidates"] = dg.MetadataValue.md(
            "Approved but not released (they stay approved):\n\n" + skipped
        )
    r = shipped.release
    if r is None:
        context.log.info(f"nothing released: {shipped.note}")
        meta["not_released"] = shipped.note
        return dg.MaterializeResult(metadata=meta)
    meta.update(
        release_id=r["release_id"],
        branch=r["branch"],
        base_commit=r["base_commit"],
        release_commit=r["release_commit"],
        manifest=r["manifest_path"],
        pushed=bool(r["pushed"]),
        candidates=dg.MetadataValue.md(
            f"Release `{r['release_id']}` on `{r['branch']}`: what ships, in approval order.\n\n"
            + markdown_table(
                pa.Table.from_pylist(
                    [
                        {k: c[k] for k in ("candidate_id", "kind", "target_file", "title")}
                        for c in shipped.candidates
                    ]
                ),
                20,
            )
        ),
    )
    context.log.info(
        f"released {len(shipped.candidates)} candidates on {r['branch']} "
        f"({r['release_commit'][:12]}), {len(shipped.skipped)} skipped"
    )
    return dg.MaterializeResult(metadata=meta)


@dg.asset_check(
    asset=RELEASE,
    name="release_diff_is_approved",
    blocking=True,
    description="Recomputes each release branch's diff from git (base to the branch's tip) and "
    "fails naming any hunk not accounted for by applying the approved candidates' diffs, in "
    "order, to the base: nothing unapproved ships.",
)
def release_diff_is_approved(warehouse: Warehouse, cicl_config: CiclConfig) -> dg.AssetCheckResult:
    repo = cicl_config.platform_repo()
    if repo is None or not warehouse.table_exists(IMPROVEMENT_RELEASES.name):
        return dg.AssetCheckResult(passed=True, metadata={"releases_checked": 0})
    repo.refresh()
    releases = warehouse.query(
        "SELECT * FROM improvement_releases WHERE released_at >= @epoch "
        f"ORDER BY released_at DESC, release_id LIMIT {VERIFIED_RELEASES:d}",
        {"epoch": EPOCH},
    ).to_pylist()
    ids = [c for r in releases for c in json.loads(r["candidate_ids"])]
    diffs = released_diffs(warehouse, ids)
    results = [verify_release(repo, r, diffs) for r in releases]
    failed = [v for v in results if not v.ok]
    lines = [f"release {v.release_id} ({v.tip[:12]}): {p}" for v in failed for p in v.describe()]
    return dg.AssetCheckResult(
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(lines) if lines else "every release changes only what was approved",
        metadata={
            "releases_checked": len(results),
            "hunks_checked": sum(len(v.changed) for v in results),
            "unapproved_hunks": sum(len(v.unapproved) for v in results),
            "problems": dg.MetadataValue.md("\n".join(f"- {line}" for line in lines) or "none"),
        },
    )


@dg.asset(
    name=CANDIDATE_OUTCOMES.name,
    group_name="learning",
    kinds={"python", "sql"},
    owners=["team:platform"],
    deps=[RELEASE, "deployments", "otel_spans", "eval_scores", "user_feedback"],
    description=CANDIDATE_OUTCOMES.description,
)
def candidate_outcomes(
    context: dg.AssetExecutionContext, warehouse: Warehouse, cicl_config: CiclConfig
) -> dg.MaterializeResult:
    """A release counts as deployed by a deployment record carrying its manifest id, or by a
    deployed commit that contains the release commit (docs/release.md)."""
    now = utcnow()
    done = measure_outcomes(warehouse, cicl_config.platform_repo(), cicl_config.path, now)
    meta: dict[str, Any] = {
        "dagster/row_count": warehouse.row_count(CANDIDATE_OUTCOMES.name),
        "dagster/column_schema": column_schema(CANDIDATE_OUTCOMES),
        "measured": len(done.rows),
        "releases_not_yet_deployed": len(done.waiting),
        **{f"verdict/{v}": sum(1 for r in done.rows if r["verdict"] == v) for v in VERDICTS},
    }
    for row in done.rows:
        key = f"outcome/{row['candidate_id'][:12]}"
        png = done.pictures.get(row["outcome_id"])
        meta[key] = dg.MetadataValue.md(
            chart_markdown(row["reason"], png, f"{row['metric']} before and after")
            if png
            else row["reason"]
        )
    context.log.info(
        f"{len(done.rows)} outcomes measured, {len(done.waiting)} releases not yet in production"
    )
    return dg.MaterializeResult(metadata=meta)


ASSETS: list = [improvement_release, candidate_outcomes]
CHECKS: list = [release_diff_is_approved]
