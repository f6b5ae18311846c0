"""The proof that a killed `cicl.py run` loses and doubles nothing, in its short form (the full
form is `make soak`): a seeded SIGKILL while it loads, a run to the end, then the warehouse
equals a clean run's (docs/ingestion.md, "When two warehouses are equal"). And two runs at once
on one warehouse end with one copy of everything, the second ingesting nothing again.
"""

from __future__ import annotations

import pytest

from cicl_assets.warehouse.fingerprint import warehouse_differences
from tests.cicl_runs import succeeded
from tests.soak.harness import (
    Reference,
    Workspace,
    chain,
    concurrent_runs,
    files_ingested,
    plan_kills,
    warehouse_of,
)

pytestmark = pytest.mark.soak

SHORT_KILLS = 1
SEED = 9


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, small_demo_zone, demo_keys) -> Workspace:
    return Workspace(tmp_path_factory.mktemp("soak"), small_demo_zone, demo_keys)


@pytest.fixture(scope="module")
def reference(workspace) -> Reference:
    made = workspace.reference()
    succeeded(made.run)
    return made


def test_after_seeded_kills_and_a_run_to_the_end_the_warehouse_equals_a_clean_runs(
    workspace, reference
):
    result = chain(workspace, reference, plan_kills(reference.marks, SHORT_KILLS, SEED))
    assert result.equal, result.table()


def test_two_runs_at_once_keep_one_copy_and_the_second_ingests_nothing_again(workspace, reference):
    first, second, env = concurrent_runs(workspace)
    succeeded(first)
    succeeded(second)
    assert {
        "differences": warehouse_differences(reference.run.warehouse, warehouse_of(env)),
        "files ingested by both": files_ingested(first) + files_ingested(second),
        # The writer lease is what kept them apart: one of them waited for it.
        "runs that waited": sum("waiting up to" in run.stderr for run in (first, second)),
    } == {
        "differences": [],
        "files ingested by both": reference.files_ingested,
        "runs that waited": 1,
    }
