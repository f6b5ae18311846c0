"""Two `cicl.py run` at once on one warehouse end with one copy of everything, the second
ingesting nothing again: compared with the session's clean run (tests/soak/conftest.py). A
module of its own so that it runs beside the kill loop, not after it on the same worker.
"""

from __future__ import annotations

import pytest

from cicl_assets.warehouse.fingerprint import warehouse_differences
from tests.cicl_runs import succeeded
from tests.soak.harness import Reference, Workspace, concurrent_runs, files_ingested, warehouse_of

pytestmark = pytest.mark.soak


def test_two_runs_at_once_keep_one_copy_and_the_second_ingests_nothing_again(
    tmp_path_factory, small_demo_zone, demo_keys, reference: Reference
):
    workspace = Workspace(tmp_path_factory.mktemp("concurrent"), small_demo_zone, demo_keys)
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
