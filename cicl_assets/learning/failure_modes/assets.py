"""The failure_modes asset: per day, the failure modes of every source that carries an error."""

import json
from datetime import date, datetime, timedelta
from typing import Any

import dagster as dg
import pyarrow as pa

from cicl_assets.charts import chart_markdown, sparklines_png
from cicl_assets.delivery.metrics import day_start
from cicl_assets.delivery.policy import load_policy
from cicl_assets.learning.failure_modes.modes import (
    Exposure,
    Judging,
    Occurrence,
    day_modes,
    findings_rows,
)
from cicl_assets.learning.findings import merge_findings
from cicl_assets.metadata import markdown_table, table_metadata
from cicl_assets.partitions import day_range_asset, partition_days, partition_key
from cicl_assets.resources import CiclConfig
from cicl_assets.warehouse.base import IN_ARRAY, Warehouse
from cicl_assets.warehouse.tables import UTC_TS, TableSpec, utcnow

ERROR_SEVERITY = 17  # OTLP SeverityNumber ERROR and above
SPARKLINE_DAYS = 14
SPARKLINE_MODES = 6

FAILURE_MODES = TableSpec(
    name="failure_modes",
    description=(
        "One row per day and failure mode seen that day: the signature (error type plus the "
        "message with variable parts masked), its count against the baseline days, services, "
        "workflows, providers, versions, examples, whether it is new or jumped, and the deploy "
        "it follows."
    ),
    schema=pa.schema(
        [
            ("day", UTC_TS),
            ("mode_id", pa.string()),
            ("signature", pa.string()),
            ("member_signatures", pa.string()),
            ("sources", pa.string()),
            ("count", pa.int64()),
            ("baseline_daily_mean", pa.float64()),
            ("baseline_days", pa.int64()),
            ("exposure", pa.int64()),
            ("baseline_exposure", pa.int64()),
            ("p_value", pa.float64()),
            ("first_seen_at", UTC_TS),
            ("last_seen_at", UTC_TS),
            ("services", pa.string()),
            ("workflows", pa.string()),
            ("providers", pa.string()),
            ("versions", pa.string()),
            ("example_trace_ids", pa.string()),
            ("example_tests", pa.string()),
            ("new", pa.bool_()),
            ("jumped", pa.bool_()),
            ("finding", pa.bool_()),
            ("deployment_id", pa.string()),
            ("service_version", pa.string()),
            ("commit_sha", pa.string()),
            ("service_name", pa.string()),
        ]
    ),
    time_column="day",
    cluster_by=("service_name",),
    json_columns=(
        "member_signatures", "services", "workflows", "providers", "versions", "example_trace_ids", "example_tests",
    ),
    column_docs={
        "baseline_daily_mean": "the mode's failures per day over the baseline days that had data",
        "baseline_days": "baseline days on which the mode's sources had any data (0: nothing to "
        "judge against, so no finding)",
        "exposure": "what the day's failures are counted out of: spans, log records, test cases "
        "or applies of the mode's sources",
        "baseline_exposure": "the same over the baseline days",
        "p_value": "Fisher's exact test that the mode's rate rose over its baseline rate",
        "jumped": "its rate is at least jump_ratio times its baseline rate",
        "finding": "new or jumped, seen min_count times, p <= max_p, and (for a jump) after a "
        "production deploy of its service within the attribution window: a cl_findings row",
        "member_signatures": "the signatures seen that day that make up the mode: one, or with "
        "merging on, the near-identical ones merged into it (the mode's signature is the "
        "smallest of its cluster)",
    },
)  # fmt: skip


def _query(warehouse: Warehouse, table: str, sql: str, start: datetime, end: datetime) -> list:
    if not warehouse.table_exists(table):
        return []
    return warehouse.query(sql, {"start": start, "end": end}).to_pylist()


def span_occurrences(row: dict[str, Any]) -> list[Occurrence]:
    attrs = json.loads(row["span_attributes"] or "{}")
    common = dict(
        at=row["start_time"],
        service=row["service_name"],
        workflow=attrs.get("workflow.name") or attrs.get("gen_ai.workflow.name"),
        provider=row["gen_ai_provider"],
        version=row["service_version"],
        trace_id=row["trace_id"],
    )
    found = []
    for event in json.loads(row["events"] or "[]"):
        if event.get("name") == "exception":
            ea = event.get("attributes") or {}
            found.append(
                Occurrence(
                    "span_exception",
                    ea.get("exception.type"),
                    ea.get("exception.message"),
                    **common,
                )
            )
    if not found:
        found.append(
            Occurrence("span_status", attrs.get("error.type"), row["status_message"], **common)
        )
    return found


def test_occurrence(row: dict[str, Any]) -> Occurrence:
    """A failed test case: its message plus the first stack frame of its details."""
    frame = next((ln.strip() for ln in (row["details"] or "").splitlines()[1:2]), "")
    message = f"{row['message'] or ''} {frame}".strip()
    return Occurrence(
        "test", row["failure_type"], message, row["timestamp"], test_name=row["test_key"]
    )


def read_occurrences(warehouse: Warehouse, start: datetime, end: datetime) -> list[Occurrence]:
    spans = _query(
        warehouse,
        "otel_spans",
        "SELECT trace_id, service_name, service_version, gen_ai_provider, start_time, "
        "status_message, span_attributes, events FROM otel_spans WHERE start_time >= @start "
        "AND start_time < @end AND status_code = 'ERROR'",
        start,
        end,
    )
    out = [o for s in spans for o in span_occurrences(s)]
    for r in _query(
        warehouse,
        "otel_logs",
        "SELECT time, service_name, service_version, trace_id, severity_text, body FROM otel_logs "
        f"WHERE time >= @start AND time < @end AND severity_number >= {ERROR_SEVERITY}",
        start,
        end,
    ):
        out.append(
            Occurrence(
                "log",
                r["severity_text"],
                r["body"],
                r["time"],
                r["service_name"],
                version=r["service_version"],
                trace_id=r["trace_id"],
            )
        )
    for r in _query(
        warehouse,
        "ci_test_cases",
        "SELECT timestamp, test_key, failure_type, message, details FROM ci_test_cases WHERE "
        "timestamp >= @start AND timestamp < @end AND status IN ('failed', 'error')",
        start,
        end,
    ):
        out.append(test_occurrence(r))
    for r in _query(
        warehouse,
        "infra_apply_logs",
        "SELECT applied_at, environment, error FROM infra_apply_logs WHERE applied_at >= @start "
        "AND applied_at < @end AND error IS NOT NULL",
        start,
        end,
    ):
        out.append(
            Occurrence(
                "infra_apply",
                "apply_error",
                r["error"],
                r["applied_at"],
                service=f"infra/{r['environment']}",
            )
        )
    return out


# Exposure unit -> (table, time column): what a source's failures are counted out of.
EXPOSURE_TABLES = {
    "spans": ("otel_spans", "start_time"),
    "logs": ("otel_logs", "time"),
    "test_cases": ("ci_test_cases", "timestamp"),
    "applies": ("infra_apply_logs", "applied_at"),
}


def read_exposure(
    warehouse: Warehouse, since: datetime, start: datetime, end: datetime
) -> Exposure:
    """Rows per exposure unit today ([start, end)) and in the baseline ([since, start)), and the
    baseline days that had any: one grouped count per table, bounded by the window."""
    today: dict[str, int] = {}
    before: dict[str, int] = {}
    days: dict[str, int] = {}
    for unit, (table, column) in EXPOSURE_TABLES.items():
        day = warehouse.day_of(column)
        counts = _query(
            warehouse,
            table,
            f"SELECT {day} AS day, COUNT(*) AS n FROM {table} "
            f"WHERE {column} >= @start AND {column} < @end GROUP BY 1",
            since,
            end,
        )
        today[unit] = sum(r["n"] for r in counts if r["day"] >= start.date())
        baseline = [r["n"] for r in counts if r["day"] < start.date()]
        before[unit], days[unit] = sum(baseline), len(baseline)
    return Exposure(today, before, days)


def evaluate_day(warehouse: Warehouse, day: date, cicl_config: CiclConfig) -> list[dict]:
    policy = load_policy(cicl_config.path)
    start, end = day_start(day), day_start(day + timedelta(days=1))
    since = start - timedelta(days=policy.baseline_days)
    # Deploys up to the attribution window before the baseline: a baseline failure's deploy.
    deploys = _query(
        warehouse,
        "deployments",
        "SELECT deployment_id, service, environment, version, commit_sha, started_at FROM "
        "deployments WHERE started_at >= @start AND started_at < @end",
        since - policy.failure_attribution,
        end,
    )
    rows = day_modes(
        read_occurrences(warehouse, start, end),
        read_occurrences(warehouse, since, start),
        read_exposure(warehouse, since, start, end),
        deploys,
        Judging(
            jump_ratio=policy.jump_ratio,
            min_count=policy.min_count,
            max_p=policy.failure_max_p,
            attribution=policy.failure_attribution,
            merge=policy.merge,
        ),
    )
    return [{**r, "day": start} for r in rows]


def sparklines(warehouse: Warehouse, rows: list[dict], day: date) -> str | None:
    """Daily counts over the last days of the day's top modes (new or jumped first), each
    marked on the day it started when that is in view, labelled with the deploy it followed."""
    top = sorted(rows, key=lambda r: (not (r["new"] or r["jumped"]), -r["count"], r["mode_id"]))
    top = top[:SPARKLINE_MODES]
    if not top:
        return None
    history = warehouse.query(
        "SELECT day, mode_id, count, new, deployment_id, service_version FROM failure_modes "
        f"WHERE day >= @since AND day <= @day AND mode_id IN {IN_ARRAY.format(param='ids')}",
        {
            "since": day_start(day - timedelta(days=SPARKLINE_DAYS - 1)),
            "day": day_start(day),
            "ids": [r["mode_id"] for r in top],
        },
    ).to_pylist()
    return chart_markdown(
        f"Daily counts over the last {SPARKLINE_DAYS} days of the day's top failure modes, new "
        "or jumped ones first; a red line marks the day a mode started, and its label names "
        "the deploy it started after.",
        sparklines_png(sparkline_lines(top, history, day), title="Failure modes: daily counts"),
        "daily counts of the top failure modes",
    )


def sparkline_lines(
    top: list[dict], history: list[dict], day: date
) -> list[tuple[str, list[tuple[date, int]], date | None]]:
    """(label, daily counts, the day it started) per mode: the label names the deploy the mode
    started after, when its start (a day it was new) is within the days shown."""
    lines = []
    for r in top:
        mine = [h for h in history if h["mode_id"] == r["mode_id"]]
        counts = {h["day"].date(): h["count"] for h in mine}
        points = [
            (d, counts.get(d, 0))
            for d in (day - timedelta(days=i) for i in range(SPARKLINE_DAYS - 1, -1, -1))
        ]
        # The day it last started (new after days without it), among the days shown.
        started = max((h for h in mine if h["new"]), key=lambda h: h["day"], default=None)
        after = ""
        if started is not None and started["deployment_id"]:
            after = f" - since {started['deployment_id']} ({started['service_version']})"
        marked = started["day"].date() if started is not None else None
        lines.append((f"{r['signature']}{after}", points, marked))
    return lines


@day_range_asset(
    name=FAILURE_MODES.name,
    group_name="delivery",
    kinds={"python", "sql"},
    owners=["team:sre"],
    deps=["otel_spans", "otel_logs", "ci_test_cases", "infra_apply_logs", "deployments"],
    description=FAILURE_MODES.description,
)
def failure_modes(
    context: dg.AssetExecutionContext, warehouse: Warehouse, cicl_config: CiclConfig
) -> dg.MaterializeResult:
    """Each day of the run's range in order (a first run over months of history is one run);
    the metadata describes the range's last day."""
    warehouse.ensure_table(FAILURE_MODES)
    written: list = []
    for day in partition_days(context):
        rows = evaluate_day(warehouse, day, cicl_config)
        warehouse.execute("DELETE FROM failure_modes WHERE day = @day", {"day": day_start(day)})
        warehouse.append(FAILURE_MODES, FAILURE_MODES.from_records(rows))
        findings = findings_rows(
            rows, utcnow(), day_start(day + timedelta(days=1)), partition_key(day)
        )
        written += merge_findings(warehouse, FAILURE_MODES.name, findings)
    top = sorted(rows, key=lambda r: (-r["count"], r["mode_id"]))[:10]
    picture = sparklines(warehouse, rows, day)
    return dg.MaterializeResult(
        metadata={
            **({"mode_sparklines": dg.MetadataValue.md(picture)} if picture else {}),
            **table_metadata(FAILURE_MODES, warehouse, ["day", "signature", "count", "new"]),
            "modes_today": len(rows),
            "new_modes_today": sum(1 for r in rows if r["new"]),
            "jumped_modes_today": sum(1 for r in rows if r["jumped"]),
            "finding_modes_today": sum(1 for r in rows if r["finding"]),
            "findings_written": len(written),
            "top_modes": dg.MetadataValue.md(
                "The day's most frequent failure modes, with the deploy each follows.\n\n"
                + markdown_table(
                    pa.Table.from_pylist(
                        [
                            {k: r[k] for k in ("signature", "count", "new", "deployment_id")}
                            for r in top
                        ]
                    )
                )
            ),
        }
    )


ASSETS: list = [failure_modes]
CHECKS: list = []
