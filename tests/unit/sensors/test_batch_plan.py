"""What `make run` launches of landing_batch, decided from the listing before launching it; and
when it refreshes the candidates. Real DuckDB, a real instance, the real definitions; the
materializations a run would record are reported to the instance instead of run."""

from __future__ import annotations

import os
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

import definitions
from cicl_assets.feedback.assets import FEEDBACK
from cicl_assets.ingest.runner import ingest_stream
from cicl_assets.landing import LandingZone
from cicl_assets.resources import CiclConfig
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from sensors.batch_plan import (
    BatchPlan,
    StreamFiles,
    candidates_due,
    job_keys,
    plan_landing_batch,
    record_finished,
    record_started,
)

REPO = Path(__file__).resolve().parents[3]
FIXTURE = REPO / "tests" / "fixtures" / "feedback" / "native.jsonl"
DEFS = definitions.defs
NOW = datetime(2026, 11, 6, 9, tzinfo=UTC)
FEEDBACK_KEYS = {"user_feedback"}
# What a new file in ci/ reaches in the job: the stream's assets, then what is built from them.
CI_CLOSURE = {
    "ci_attestations", "ci_coverage", "ci_findings", "ci_runs", "ci_sbom_components",
    "ci_scans", "ci_test_cases", "commits", "deployments", "deployment_evidence",
    "evidence_bundles", "rollback_checks", "rollback_targets",
}  # fmt: skip


def _world(root: Path, instance) -> dict:
    return {
        "root": root,
        "landing": root / "landing",
        "config": root / "config",
        "warehouse": DuckDBWarehouse(path=str(root / "warehouse.duckdb")),
        "zone": LandingZone(uri=str(root / "landing"), state_dir=str(root / "state")),
        "cicl_config": CiclConfig(config_dir=str(root / "config")),
        "instance": instance,
    }


def _plan(world, now: datetime = NOW) -> BatchPlan:
    return plan_landing_batch(
        DEFS, world["instance"], world["warehouse"], world["zone"], world["cicl_config"], now
    )


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A landing zone of one feedback file the warehouse read, and an instance whose last
    landing_batch ran every asset (reported, in the job's order) and finished."""
    root = tmp_path_factory.mktemp("finished")
    shutil.copytree(REPO / "config", root / "config")
    (root / "landing" / "feedback").mkdir(parents=True)
    shutil.copy(FIXTURE, root / "landing" / "feedback" / "native.jsonl")
    old = time.time() - 60  # outside the listing's racy window
    os.utime(root / "landing" / "feedback" / "native.jsonl", (old, old))
    (root / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(root / "home")) as instance:
        world = _world(root, instance)
        ingest_stream(FEEDBACK.spec, world["zone"], world["warehouse"], run_id="r1")
        plan = _plan(world)
        graph = DEFS.resolve_asset_graph()
        for level in graph.toposorted_asset_keys_by_level:
            for key in sorted(k for k in level if k in job_keys(DEFS)):
                instance.report_runless_asset_event(dg.AssetMaterialization(key))
        record_started(instance, plan)
        record_finished(instance, plan)
    return root


@pytest.fixture
def world(finished, tmp_path):
    root = tmp_path / "w"
    shutil.copytree(finished, root)
    with dg.instance_for_test(temp_dir=str(root / "home")) as instance:
        world = _world(root, instance)
        # The copy is another inode, so another listing version: the runner reads it, finds
        # the content it holds and records the new version; the plan then sees it unchanged.
        report = ingest_stream(FEEDBACK.spec, world["zone"], world["warehouse"], run_id="r2")
        assert (report.files_skipped, report.files_ingested) == (1, 0)
        yield world


@pytest.fixture
def fresh(tmp_path):
    """The same landing zone, nothing read yet, a new instance."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    (tmp_path / "landing" / "feedback").mkdir(parents=True)
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        yield _world(tmp_path, instance)


def _names(plan: BatchPlan) -> set[str]:
    return {k.to_user_string() for k in plan.selection}


def test_a_new_instance_runs_the_whole_job(fresh):
    plan = _plan(fresh)
    assert (plan.full, plan.selection == job_keys(DEFS), plan.reasons) == (
        True,
        True,
        ("no landing_batch yet",),
    )


def test_nothing_new_selects_nothing_and_says_what_it_listed(world):
    plan = _plan(world)
    assert (plan.full, plan.selection, plan.reasons) == (False, frozenset(), ())
    assert plan.streams["feedback"] == StreamFiles(listed=1, to_read=0)
    assert plan.unselected_streams()["feedback"] == StreamFiles(listed=1, to_read=0)


def _touch_new(world, folder: str, name: str, text: str) -> None:
    path = world["landing"] / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    old = time.time() - 60
    os.utime(path, (old, old))


@pytest.mark.parametrize(
    ("change", "expected", "reason"),
    [
        (
            lambda w: _touch_new(w, "feedback", "more.jsonl", FIXTURE.read_text()),
            FEEDBACK_KEYS,
            "feedback: 1 files to read",
        ),
        (
            lambda w: _touch_new(w, "ci", "run-9/run.json", "{}"),
            CI_CLOSURE,
            "ci: 1 files to read",
        ),
        (
            lambda w: w["instance"].report_runless_asset_event(
                dg.AssetMaterialization("deployment_events")
            ),
            {
                "deployments",
                "commits",
                "deployment_evidence",
                "evidence_bundles",
                "rollback_checks",
                "rollback_targets",
            },
            "deployments: deployment_events is newer",
        ),
    ],
    ids=["new-feedback-file", "new-ci-run", "upstream-materialized-after"],
)
def test_what_changed_selects_its_assets_and_what_is_built_from_them(
    world, change, expected, reason
):
    change(world)
    plan = _plan(world)
    assert (plan.full, _names(plan), plan.reasons[0]) == (False, expected, reason)


def test_a_changed_file_is_new_and_its_stream_only_runs(world):
    path = world["landing"] / "feedback" / "native.jsonl"
    path.write_text(path.read_text() + path.read_text().splitlines()[0] + "\n")
    later = time.time() - 30
    os.utime(path, (later, later))
    plan = _plan(world)
    assert (_names(plan), plan.streams["feedback"]) == (FEEDBACK_KEYS, StreamFiles(1, 1))


def test_retention_runs_once_a_day_without_new_files(world):
    # evidence_retention was materialized today, by the wall clock
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    plan = _plan(world, now=tomorrow)
    assert (_names(plan), plan.reasons) == (
        {"evidence_retention"},
        ("evidence_retention: not run today",),
    )
    assert _plan(world, now=datetime.now(UTC)).selection == frozenset()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda w: (w["config"] / "slos" / "extra.yaml").write_text("# a new spec file\n"),
            "the configuration changed",
        ),
        (
            lambda w: record_started(w["instance"], _plan(w)),
            "the last landing_batch did not finish",
        ),
    ],
    ids=["config-file-added", "last-run-killed"],
)
def test_the_whole_job_runs_again_when(world, change, reason):
    change(world)
    plan = _plan(world)
    assert (plan.full, plan.selection == job_keys(DEFS), plan.reasons) == (True, True, (reason,))


CANDIDATES = dg.AssetKey("improvement_candidates")


def _candidates(instance, base: str | None) -> None:
    metadata = {"base_commit": base} if base else {}
    instance.report_runless_asset_event(dg.AssetMaterialization(CANDIDATES, metadata=metadata))


@pytest.mark.parametrize(
    ("events", "head", "expected"),
    [
        ([], "c1", "never materialized"),
        ([("candidates", "c1")], "c1", None),
        ([("candidates", None)], None, None),
        ([("candidates", "c1")], "c2", "the platform repository's HEAD is now c2"),
        (
            [("candidates", "c1"), ("flaky_tests", None)],
            "c1",
            "flaky_tests was materialized after it",
        ),
        ([("cl_findings", None), ("candidates", "c1")], "c1", None),
    ],
    ids=["never", "unchanged", "no-repository", "head-moved", "finding-newer", "finding-older"],
)
def test_candidates_refresh_only_when_what_they_read_changed(events, head, expected):
    with dg.DagsterInstance.ephemeral() as instance:
        for name, base in events:
            if name == "candidates":
                _candidates(instance, base)
            else:
                instance.report_runless_asset_event(dg.AssetMaterialization(name))
        assert candidates_due(DEFS, instance, lambda: head) == expected
