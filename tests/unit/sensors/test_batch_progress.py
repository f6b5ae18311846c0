"""`make run`'s progress record: which days a rerun after a killed run still has to refresh."""

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest

from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from cicl_assets.warehouse.tables import INGESTED_FILES, NULL_PARTITION
from sensors.batch_progress import CLOCK_MARGIN, BatchProgress, pending_days

STARTED = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


@dg.asset(name="otel_spans")
def spans_probe() -> None: ...


@dg.asset(name="slo_status")
def status_probe() -> None: ...


def _file(run_id, stream, status, partitions, at=STARTED + timedelta(minutes=1)):
    return {
        "ingest_key": f"{stream}/{run_id}/{status}#x",
        "source_file": f"{stream}/{run_id}.json",
        "stream": stream,
        "status": status,
        "run_id": run_id,
        "ingested_at": at,
        "partitions": partitions,
    }


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    made = DuckDBWarehouse(path=str(tmp_path_factory.mktemp("progress") / "w.duckdb"))
    rows = [
        _file("killed", "otel", "ingested", ["2026-11-01", "2026-11-02"]),
        _file("killed", "slo", "ingested", ["2026-11-04"]),
        _file("killed", "ci", "ingested", ["2026-10-30"]),  # not a day stream
        _file("killed", "otel", "rejected", ["2026-10-29"]),
        _file("killed", "otel", "ingested", [NULL_PARTITION]),
        _file("current", "otel", "ingested", ["2026-11-02", "2026-11-05"]),
        _file("finished", "otel", "ingested", ["2026-10-01"]),  # refreshed by its own run
        # Recorded before the first pending run started, beyond the clock margin.
        _file("current", "otel", "ingested", ["2026-09-01"], STARTED - 2 * CLOCK_MARGIN),
    ]
    made.append(INGESTED_FILES, INGESTED_FILES.from_records(rows))
    return made


@pytest.mark.parametrize(
    ("runs", "expected"),
    [
        ((), []),
        (("current",), [date(2026, 11, 2), date(2026, 11, 5)]),
        (
            ("killed", "current"),
            [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 4), date(2026, 11, 5)],
        ),
        (("never-ran",), []),
    ],
)
def test_pending_days_are_the_day_streams_files_the_pending_runs_recorded(
    warehouse, runs, expected
):
    progress = BatchProgress(pending_runs=runs, pending_since=STARTED)
    assert pending_days(warehouse, progress) == expected


def test_without_ingested_files_nothing_is_pending(duckdb_warehouse):
    progress = BatchProgress(pending_runs=("a",), pending_since=STARTED)
    assert pending_days(duckdb_warehouse, progress) == []


def test_the_record_survives_the_process_and_advances_only_when_told():
    with dg.instance_for_test() as instance:
        assert BatchProgress.load(instance) == BatchProgress()
        first = BatchProgress.load(instance).started("run-1")
        first.save(instance)
        # Killed here: the next run still sees run-1 pending, then adds its own.
        second = BatchProgress.load(instance).started("run-2")
        assert second.pending_runs == ("run-1", "run-2")
        assert second.pending_since == first.pending_since
        second.save(instance)
        second.refreshed(41).save(instance)
        assert BatchProgress.load(instance) == BatchProgress(spans_after=41)
        BatchProgress.load(instance).refreshed(None).reviewed(57).save(instance)
        assert BatchProgress.load(instance) == BatchProgress(spans_after=41, status_after=57)


def test_an_instance_without_a_record_starts_from_its_newest_materializations():
    with dg.instance_for_test() as instance:
        assert dg.materialize([spans_probe, status_probe], instance=instance).success
        spans = instance.fetch_materializations(dg.AssetKey("otel_spans"), limit=1).records[0]
        status = instance.fetch_materializations(dg.AssetKey("slo_status"), limit=1).records[0]
        assert BatchProgress.load(instance) == BatchProgress(
            spans_after=spans.storage_id, status_after=status.storage_id
        )
