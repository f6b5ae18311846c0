"""The flaky_tests asset: per day, the tests the last weeks of CI runs show to be flaky."""

import json
from datetime import date, datetime, timedelta
from typing import Any

import dagster as dg
import pyarrow as pa

from cicl_assets.charts import chart_markdown, outcome_strips_png
from cicl_assets.delivery.metrics import day_start
from cicl_assets.delivery.policy import DeliveryPolicy, load_policy
from cicl_assets.learning.findings import (
    finding_id,
    finding_row,
    group_key,
    merge_findings,
)
from cicl_assets.learning.flaky.detect import Result, flaky_tests
from cicl_assets.metadata import markdown_table, table_metadata
from cicl_assets.partitions import day_range_asset, partition_days, partition_key
from cicl_assets.resources import CiclConfig
from cicl_assets.warehouse.base import IN_ARRAY, Warehouse
from cicl_assets.warehouse.tables import UTC_TS, TableSpec, utcnow

LOOKBACK = timedelta(days=30)

FLAKY_TESTS = TableSpec(
    name="flaky_tests",
    description=(
        "One row per day and test with flaky evidence in the 30 days up to it (a pass on retry "
        "inside one report, or a pass and a fail of the same commit and job configuration), "
        "ranked by the failed runs it caused; infrastructure-failure runs left out."
    ),
    schema=pa.schema(
        [
            ("as_of", UTC_TS),
            ("rank", pa.int64()),
            ("test_key", pa.string()),
            ("framework", pa.string()),
            ("runs", pa.int64()),
            ("passes", pa.int64()),
            ("fails", pa.int64()),
            ("passed_on_retry", pa.int64()),
            ("same_commit_conflicts", pa.int64()),
            ("failed_runs_caused", pa.int64()),
            ("default_branch_runs", pa.int64()),
            ("flip_rate", pa.float64()),
            ("history", pa.string()),
            ("first_flake_at", UTC_TS),
            ("last_flake_at", UTC_TS),
            ("passes_since_last_flake", pa.int64()),
            ("status", pa.string()),
            ("evidence", pa.string()),
        ]
    ),
    time_column="as_of",
    cluster_by=("status",),
    json_columns=("evidence",),
    column_docs={
        "as_of": "end (exclusive) of the day the row describes",
        "history": "the last runs on the default branch, oldest first: P pass, R pass on "
        "retry, F fail",
        "flip_rate": "flips / (runs - 1) over history; null under two runs",
        "status": "open, or resolved after the configured consecutive passes or days",
    },
)


def read_results(warehouse: Warehouse, start: datetime, end: datetime) -> list[Result]:
    if not (warehouse.table_exists("ci_runs") and warehouse.table_exists("ci_test_cases")):
        return []
    runs = warehouse.query(
        "SELECT pipeline_run_id, commit_sha, pipeline, job_name, branch, started_at FROM ci_runs "
        "WHERE started_at >= @start AND started_at < @end",
        {"start": start, "end": end},
    ).to_pylist()
    by_id = {r["pipeline_run_id"]: r for r in runs}
    if not by_id:
        return []
    # Reports without a timestamp are found through their run; dated ones by their date too.
    cases = warehouse.query(
        "SELECT pipeline_run_id, test_key, status, attempts, framework FROM ci_test_cases "
        f"WHERE (timestamp IS NULL OR (timestamp >= @start AND timestamp < @late)) "
        f"AND pipeline_run_id IN {IN_ARRAY.format(param='runs')}",
        {
            "start": start - timedelta(days=1),
            "late": end + timedelta(days=1),
            "runs": sorted(by_id),
        },
    ).to_pylist()
    results = []
    for c in cases:
        run = by_id[c["pipeline_run_id"]]
        results.append(
            Result(
                test_key=c["test_key"],
                run_id=c["pipeline_run_id"],
                commit_sha=run["commit_sha"],
                job=f"{run['pipeline']}/{run['job_name'] or ''}",
                branch=run["branch"],
                at=run["started_at"],
                status=c["status"],
                attempts=c["attempts"] or 1,
                framework=c["framework"],
            )
        )
    return results


def evaluate_day(warehouse: Warehouse, day: date, policy: DeliveryPolicy) -> list[dict[str, Any]]:
    end = day_start(day + timedelta(days=1))
    rows = flaky_tests(
        read_results(warehouse, end - LOOKBACK, end),
        default_branches=policy.default_branches,
        window_runs=policy.flaky_window_runs,
        infrastructure_share=policy.infrastructure_failure_share,
        recovery_passes=policy.recovery_passes,
        recovery_days=policy.recovery_days,
        as_of=end,
    )
    return [{**r, "as_of": end} for r in rows]


def findings_rows(
    rows: list[dict[str, Any]], detected_at: datetime, day: str
) -> list[dict[str, Any]]:
    """cl_findings rows of kind flaky_test: one per flaky test, its id stable across days (a
    flaky test has no deploy: the test itself is the anchor). ``day`` is the partition: the
    rows describe the 30 days up to its end."""
    as_of = day_start(date.fromisoformat(day) + timedelta(days=1))
    return [
        finding_row(
            finding_id=finding_id(
                "flaky_test", f"test={r['test_key']}", "flip_rate", f"test:{r['test_key']}"
            ),
            group_key=group_key(f"test:{r['test_key']}"),
            series_key=f"test={r['test_key']}",
            kind="flaky_test",
            status=r["status"],
            severity="high" if r["failed_runs_caused"] >= 3 else "medium",
            title=(
                f"{r['test_key']} is flaky: {r['passed_on_retry']} passes on retry, "
                f"{r['failed_runs_caused']} failed runs in 30 days"
            ),
            metric="flip_rate",
            current_value=r["flip_rate"],
            n_current=r["runs"],
            method="same code, pass and fail (retry in report or same commit and job)",
            change_at=r["first_flake_at"],
            first_detectable_at=r["first_flake_at"],
            data_through=as_of,
            detected_at=detected_at,
            partition_day=day,
            resolved_at=as_of if r["status"] == "resolved" else None,
            evidence={"test_names": [r["test_key"]], **json.loads(r["evidence"])},
        )
        for r in rows
    ]


@day_range_asset(
    name=FLAKY_TESTS.name,
    group_name="delivery",
    kinds={"python", "sql"},
    owners=["team:platform"],
    deps=["ci_runs", "ci_test_cases"],
    description=FLAKY_TESTS.description,
)
def flaky_tests_asset(
    context: dg.AssetExecutionContext, warehouse: Warehouse, cicl_config: CiclConfig
) -> dg.MaterializeResult:
    """Each day of the run's range in order; the metadata describes the range's last day."""
    policy = load_policy(cicl_config.path)
    warehouse.ensure_table(FLAKY_TESTS)
    written: list = []
    for day in partition_days(context):
        rows = evaluate_day(warehouse, day, policy)
        end = day_start(day + timedelta(days=1))
        warehouse.execute("DELETE FROM flaky_tests WHERE as_of = @end", {"end": end})
        warehouse.append(FLAKY_TESTS, FLAKY_TESTS.from_records(rows))
        written += merge_findings(
            warehouse, FLAKY_TESTS.name, findings_rows(rows, utcnow(), partition_key(day))
        )
    top = pa.Table.from_pylist(
        [
            {k: r[k] for k in ("rank", "test_key", "failed_runs_caused", "flip_rate", "history")}
            for r in rows[:10]
        ]
    )
    pictures = {}
    if rows:
        pictures["flaky_history"] = dg.MetadataValue.md(
            chart_markdown(
                "Each row is one of the flakiest tests, each square one of its last runs on the "
                "default branch, oldest left: green passed, amber passed on retry, red failed.",
                outcome_strips_png(
                    [(r["test_key"], r["history"]) for r in rows],
                    title="Flakiest tests: pass/fail history",
                ),
                "pass/fail history of the flakiest tests",
            )
        )
    return dg.MaterializeResult(
        metadata={
            **pictures,
            **table_metadata(FLAKY_TESTS, warehouse, ["as_of", "rank", "test_key", "status"]),
            "flaky_open": sum(1 for r in rows if r["status"] == "open"),
            "flaky_resolved": sum(1 for r in rows if r["status"] == "resolved"),
            "findings_written": len(written),
            "flakiest": dg.MetadataValue.md(
                "The flakiest tests of the last 30 days, by failed runs caused; history is each "
                "test's last runs on the default branch (P pass, R pass on retry, F fail).\n\n"
                + markdown_table(top)
            ),
        }
    )


ASSETS: list = [flaky_tests_asset]
CHECKS: list = []
