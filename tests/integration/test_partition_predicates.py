"""Every statement the SLO path sends over a time-series table it reads carries a predicate on
the table's partitioning column: minute counts, slo_status by day, the breach sensor and the
CL evaluation it launches (the regressions of the breach window, then the report), on DuckDB and on the BigQuery emulator. So does the
span ingest's asset with its metadata (row count from the table's statistics, a preview of
the newest day it wrote). BigQuery tables are created with require_partition_filter (the
emulator neither keeps nor enforces it: the test reads the table resource cicl sends)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from cicl_assets.ingest.runner import ingest_stream
from cicl_assets.landing import LandingZone
from cicl_assets.learning.assets import slo_breach_report
from cicl_assets.learning.breach_report import SLO_BREACH_REPORTS
from cicl_assets.learning.regressions.assets import cl_findings, cl_regressions
from cicl_assets.partitions import range_tags
from cicl_assets.release.assets import release_time
from cicl_assets.slo.assets import slo_minute_counts, slo_status
from cicl_assets.slo.minute_counts import SLO_MINUTE_COUNTS
from cicl_assets.slo.status import SLO_STATUS
from cicl_assets.stream_assets import StreamRun
from cicl_assets.telemetry.assets import DATA_DAYS, check_time_order, otel_spans, run_figures
from cicl_assets.telemetry.formats import OTEL_STREAM
from cicl_assets.telemetry.logs_table import EVAL_SCORES, OTEL_LOGS
from cicl_assets.telemetry.spans_table import OTEL_SPANS
from cicl_assets.warehouse.bigquery_warehouse import BigQueryWarehouse
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from demo import story
from jobs.learning import cl_evaluation_job
from sensors.in_process import run_sensor_once
from sensors.slo_breach import slo_breach_sensor
from tests.unit.release.spans_file import land_and_ingest, spans_request
from tests.unit.slo.spans import story_spans, write_spans
from tests.unit.telemetry.otlp_requests import every_kind_request

CONFIG_DIR = str(Path(__file__).parents[2] / "config")
TIME_SERIES = {
    t.name: t.time_column
    for t in (OTEL_SPANS, OTEL_LOGS, EVAL_SCORES, SLO_MINUTE_COUNTS, SLO_STATUS)
}
TIME_SERIES[SLO_BREACH_REPORTS.name] = SLO_BREACH_REPORTS.time_column
STATEMENTS: list[str] = []


def _record(sql: str) -> None:
    STATEMENTS.append(" ".join(sql.split()))


class RecordingDuckDB(DuckDBWarehouse):
    def query(self, sql: str, params: dict[str, Any] | None = None):
        _record(sql)
        return super().query(sql, params)

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        _record(sql)
        super().execute(sql, params)


class RecordingBigQuery(BigQueryWarehouse):
    def query(self, sql: str, params: dict[str, Any] | None = None):
        _record(sql)
        return super().query(sql, params)

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        _record(sql)
        super().execute(sql, params)


def full_reads(statements: list[str]) -> list[str]:
    """Statements naming a time-series table without a lower bound on its time column (an
    upper bound alone still reads every partition before it)."""
    bad = []
    for sql in statements:
        for table, column in TIME_SERIES.items():
            if not re.search(rf"\b(FROM|INTO|UPDATE)\s+{table}\b", sql, re.I):
                continue
            if re.match(r"\s*INSERT\b", sql, re.I) and " FROM read_parquet" in sql:
                continue
            lower = rf"\b{column}\s*(>=|>|\s+BETWEEN)\s*@|@\w+\s*(<=|<)\s*{column}\b"
            if not re.search(lower, sql):
                bad.append(sql)
    return bad


@pytest.mark.parametrize(
    ("sql", "flagged"),
    [
        ("SELECT COUNT(*) FROM slo_status", True),
        (
            "SELECT * FROM slo_status WHERE evaluation_time >= @since AND evaluation_time < @u",
            False,
        ),
        ("DELETE FROM slo_minute_counts WHERE TRUE", True),
        ("SELECT n FROM otel_spans WHERE source_file IN (SELECT v FROM UNNEST(@f) AS v)", True),
        ("SELECT day FROM slo_count_days", False),
        ("SELECT MAX(start_time) AS t FROM otel_spans WHERE start_time <= @now", True),
        ("SELECT * FROM otel_spans WHERE @since <= start_time AND start_time < @until", False),
        ("SELECT * FROM otel_spans WHERE start_time BETWEEN @since AND @until", False),
    ],
)
def test_the_check_flags_full_reads(sql, flagged):
    assert bool(full_reads([sql])) is flagged


@pytest.fixture(params=["duckdb", "bigquery"])
def recording_warehouse(request, tmp_path):
    if request.param == "duckdb":
        return RecordingDuckDB(path=str(tmp_path / "w.duckdb"))
    plain = request.getfixturevalue("bigquery_warehouse")
    return RecordingBigQuery(**{k: getattr(plain, k) for k in ("project", "dataset", "location")})


def test_the_slo_path_reads_only_the_partitions_it_needs(recording_warehouse, cicl_config):
    warehouse = recording_warehouse
    start = story.BREACH_START - timedelta(hours=6)
    write_spans(warehouse, story_spans(start, story.BREACH_END, runs_per_minute=1))
    config = cicl_config.model_copy(update={"config_dir": CONFIG_DIR})
    resources = {"warehouse": warehouse, "cicl_config": config}
    STATEMENTS.clear()
    defs = dg.Definitions(
        assets=[slo_minute_counts, slo_status, cl_regressions, cl_findings, slo_breach_report],
        jobs=[cl_evaluation_job],
        sensors=[slo_breach_sensor],
        resources=resources,
    )
    with dg.instance_for_test() as instance:
        day = story.BREACH_START.date()
        assert dg.materialize(
            [slo_minute_counts, slo_status],
            resources=resources,
            instance=instance,
            tags=range_tags(day, day),
        ).success
        launched = run_sensor_once(defs, instance, "slo_breach_sensor")
    assert launched and all(run.success for run in launched)
    assert any("FROM otel_spans" in s for s in STATEMENTS)
    assert any("FROM slo_minute_counts" in s for s in STATEMENTS)
    assert any("FROM slo_status" in s for s in STATEMENTS)
    # The breach's run ran the regressions of its window and read the findings it links.
    assert any("FROM cl_findings WHERE change_at >= @since" in s for s in STATEMENTS)
    assert full_reads(STATEMENTS) == []
    if isinstance(warehouse, BigQueryWarehouse):
        # What cicl asks BigQuery to create (the emulator keeps no require_partition_filter).
        for spec in (SLO_MINUTE_COUNTS, SLO_STATUS, SLO_BREACH_REPORTS):
            sent = warehouse._new_table(spec).to_api_repr()
            assert sent["requirePartitionFilter"] is True, spec.name
            assert sent["timePartitioning"] == {"type": "DAY", "field": spec.time_column}
            created = warehouse.client.get_table(f"{warehouse.target}.{spec.name}")
            assert created.time_partitioning.field == spec.time_column


def test_the_otel_ingests_figures_and_check_read_only_the_days_it_ingested(tmp_path):
    """run_figures and the time-order check follow every ingest of spans: bounded by the days
    of the run's files, never the whole table."""
    warehouse = RecordingDuckDB(path=str(tmp_path / "w.duckdb"))
    root = tmp_path / "landing"
    (root / "otel").mkdir(parents=True)
    (root / "otel" / "a.pb").write_bytes(every_kind_request().SerializeToString())
    ingest_stream(OTEL_STREAM, LandingZone(uri=str(root)), warehouse, run_id="r1")
    STATEMENTS.clear()
    figures = run_figures(warehouse, "r1")
    check = check_time_order(warehouse, StreamRun("r1", None, extra=figures))  # type: ignore[arg-type]
    nothing = run_figures(warehouse, "r2")
    assert (figures["spans_ingested"], check.passed, nothing["spans_ingested"]) == (4, True, 0)
    assert figures[DATA_DAYS] and nothing[DATA_DAYS] == ""
    assert sum("FROM otel_spans" in s for s in STATEMENTS) == 4  # figures, days, services, check
    assert full_reads(STATEMENTS) == []


def test_the_span_ingest_and_its_metadata_read_only_the_days_it_wrote(
    recording_warehouse, tmp_path
):
    """The otel stream's asset: ingest, after-ingest figures, checks, and every view's row
    count and preview. Row counts come from the table's statistics (BigQuery: the table
    resource; DuckDB: its row-group counts, outside query()); previews from the newest day."""
    warehouse = recording_warehouse
    root = tmp_path / "landing"
    (root / "otel").mkdir(parents=True)
    (root / "otel" / "a.pb").write_bytes(every_kind_request().SerializeToString())
    STATEMENTS.clear()
    result = dg.materialize(
        [otel_spans], resources={"warehouse": warehouse, "landing": LandingZone(uri=str(root))}
    )
    assert result.success
    spans = result.asset_materializations_for_node("otel_spans")
    meta = {m.asset_key.to_user_string(): m.metadata for m in spans}
    counts = tuple(meta[t]["dagster/row_count"].value for t in ("otel_spans", "otel_logs"))
    if isinstance(warehouse, BigQueryWarehouse):
        # The table resource's numRows. BigQuery keeps it after DML; the emulator keeps the
        # count of the table's last load job (rows arrive here by transaction: none).
        stats = [warehouse.client.get_table(f"{warehouse.target}.{t}").num_rows or 0 for t in ("otel_spans", "otel_logs")]  # fmt: skip
        assert counts == tuple(stats) == (0, 0)
    else:
        assert counts == (4, 0)
    assert meta["otel_spans"]["preview"].value.startswith("Rows of 20")
    assert meta["otel_logs"]["preview"].value == "_no rows written by this run_"
    assert any("FROM otel_spans" in s for s in STATEMENTS)
    assert full_reads(STATEMENTS) == []
    if isinstance(warehouse, BigQueryWarehouse):
        for spec in (OTEL_SPANS, OTEL_LOGS):
            sent = warehouse._new_table(spec).to_api_repr()
            assert sent["requirePartitionFilter"] is True, spec.name
            assert sent["timePartitioning"] == {"type": "DAY", "field": spec.time_column}
            assert sent["clustering"] == {"fields": list(spec.cluster_by)}, spec.name


def test_the_release_clock_reads_one_day_of_spans(recording_warehouse, tmp_path):
    """CICL_RELEASE_CLOCK=data dates a release at the newest span not in the future: the day
    from ``ingested_files``, then that day's spans only (the day before too when all of the
    newest day's spans are ahead of now)."""
    warehouse = recording_warehouse
    now = datetime(2026, 12, 1, 13, 51, 14, tzinfo=UTC)
    newest = datetime(2026, 11, 30, 22, 10, 3, 250_000, tzinfo=UTC)
    starts = [newest - timedelta(days=3), newest, now + timedelta(hours=2)]
    request = spans_request("flow-gateway", "production", "op", starts)
    assert land_and_ingest(warehouse, tmp_path / "landing", "a.pb", request).files_ingested == 1
    STATEMENTS.clear()
    assert release_time(warehouse, "data", now) == newest
    assert full_reads(STATEMENTS) == []
    assert sum("FROM otel_spans" in s for s in STATEMENTS) == 2  # today's, then yesterday's
