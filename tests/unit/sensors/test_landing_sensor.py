import json
import os
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from cicl_assets.landing import LandingZone
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from cicl_assets.warehouse.tables import INGESTED_FILES
from jobs.concurrency import only_concurrency_tags
from sensors.landing import landing_arrivals_sensor


@dg.asset(group_name="ci")
def ci_probe() -> None: ...


@dg.asset(group_name="infra")
def infra_probe() -> None: ...


@dg.asset(group_name="slo", deps=[ci_probe])
def downstream_of_ci() -> None: ...


@dg.asset(group_name="learning", deps=[ci_probe])
def evaluation_probe() -> None: ...


def _evaluate(landing_root, cursor=None):
    defs = dg.Definitions(
        assets=[ci_probe, infra_probe, downstream_of_ci, evaluation_probe],
        sensors=[landing_arrivals_sensor],
        resources={
            "landing": LandingZone(uri=str(landing_root)),
            "warehouse": _warehouse(landing_root),
        },
    )
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(
            instance=instance, cursor=cursor, definitions=defs, resources=defs.resources
        )
        return landing_arrivals_sensor(context)


def _warehouse(landing_root) -> DuckDBWarehouse:
    return DuckDBWarehouse(path=str(landing_root.parent / f"{landing_root.name}.duckdb"))


def _record(landing_root, path: str, size: int, at: datetime, stream: str = "ci") -> None:
    """What the ingest runner records once it read a file."""
    row = {"source_file": path, "size_bytes": size, "ingested_at": at, "stream": stream}
    _warehouse(landing_root).append(INGESTED_FILES, INGESTED_FILES.from_records([row]))


def _write(root, path: str, text: str, modified: datetime) -> None:
    full = root / path
    full.parent.mkdir(parents=True, exist_ok=True)
    full.write_text(text)
    os.utime(full, (modified.timestamp(), modified.timestamp()))


def _landing_tags(request) -> dict[str, str]:
    """The run's tags but the run queue's (tests/unit/test_run_concurrency.py holds those)."""
    queue = only_concurrency_tags(request.tags)
    return {k: v for k, v in request.tags.items() if k not in queue}


def test_new_ci_files_launch_ci_assets_and_downstream_once(tmp_path):
    (tmp_path / "ci" / "run-1").mkdir(parents=True)
    (tmp_path / "ci" / "run-1" / "run.json").write_text("{}")

    first = _evaluate(tmp_path)
    assert len(first.run_requests) == 1
    request = first.run_requests[0]
    # The key carries the listing's fingerprint the cursor keeps, so a tick never repeats it.
    assert request.run_key == f"landing:ci:{json.loads(first.cursor)['ci']}"
    assert _landing_tags(request) == {
        "cicl/landing_folder": "ci",
        "cicl/files_listed": "1",
        "cicl/files_new": "1",
    }
    assert {k.to_user_string() for k in request.asset_selection} == {"ci_probe", "downstream_of_ci"}

    again = _evaluate(tmp_path, first.cursor)
    assert again.run_requests == []
    assert json.loads(again.cursor) == json.loads(first.cursor)


def test_a_changed_listing_gets_a_new_run_key(tmp_path):
    (tmp_path / "ci" / "run-1").mkdir(parents=True)
    (tmp_path / "ci" / "run-1" / "run.json").write_text("{}")
    first = _evaluate(tmp_path)
    (tmp_path / "infra" / "dev").mkdir(parents=True)
    (tmp_path / "infra" / "dev" / "plan.json").write_text("{}")
    (tmp_path / "ci" / "run-2").mkdir(parents=True)
    (tmp_path / "ci" / "run-2" / "run.json").write_text("{}")

    second = _evaluate(tmp_path, first.cursor)
    keys = sorted(r.run_key for r in second.run_requests)
    assert [k.split(":")[1] for k in keys] == ["ci", "infra"]
    assert first.run_requests[0].run_key not in keys


def test_empty_landing_zone_launches_nothing(tmp_path):
    assert _evaluate(tmp_path).run_requests == []


WRITTEN = datetime(2026, 11, 5, 14, 0, tzinfo=UTC)
READ = WRITTEN + timedelta(minutes=5)


# (what ingested_files records for ci/run-1/run.json (size 2, written at WRITTEN), whether a
# fresh sensor launches a run for it)
RECORDS = [
    ([], True),
    ([("ci/run-1/run.json", 2, READ)], False),
    ([("ci/run-1/run.json", 2, WRITTEN)], False),  # read the moment it was written
    # Read before the file was rewritten to the same size: the new content is not read yet.
    ([("ci/run-1/run.json", 2, WRITTEN - timedelta(seconds=1))], True),
    ([("ci/run-1/run.json", 5, READ)], True),  # another size: another version
    ([("ci/run-2/run.json", 2, READ)], True),  # another path
    ([("ci/run-1/run.json", 2, READ, "infra")], True),  # read by another stream
]


@pytest.mark.parametrize(("records", "launches"), RECORDS)
def test_what_the_warehouse_records_as_ingested_is_not_launched_again(tmp_path, records, launches):
    root = tmp_path / "landing"
    _write(root, "ci/run-1/run.json", "{}", WRITTEN)
    for record in records:
        _record(root, *record)
    result = _evaluate(root)  # a fresh instance, an empty cursor: a daemon just started
    assert [r.tags["cicl/landing_folder"] for r in result.run_requests] == (
        ["ci"] if launches else []
    )


def test_only_the_files_not_ingested_make_the_run_key(tmp_path):
    root = tmp_path / "landing"
    _write(root, "ci/run-1/run.json", "{}", WRITTEN)
    _write(root, "ci/run-2/run.json", "{}", WRITTEN)
    _record(root, "ci/run-1/run.json", 2, READ)
    [request] = _evaluate(root).run_requests
    assert _landing_tags(request) == {
        "cicl/landing_folder": "ci",
        "cicl/files_listed": "2",
        "cicl/files_new": "1",
    }
    _record(root, "ci/run-2/run.json", 2, READ)
    assert _evaluate(root).run_requests == []
