"""The proof that a killed `cicl.py run` loses and doubles nothing, in its short form (the full
form is `make soak`): a seeded SIGKILL while it loads, a run to the end, then the warehouse
equals a clean run's (docs/ingestion.md, "When two warehouses are equal"). The clean run is the
session's (tests/soak/conftest.py), shared with test_concurrent_runs.py.
"""

from __future__ import annotations

import pytest

from tests.soak.harness import Reference, Workspace, chain, plan_kills

pytestmark = pytest.mark.soak

SHORT_KILLS = 1
SEED = 9


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, small_demo_zone, demo_keys) -> Workspace:
    return Workspace(tmp_path_factory.mktemp("soak"), small_demo_zone, demo_keys)


def test_after_seeded_kills_and_a_run_to_the_end_the_warehouse_equals_a_clean_runs(
    workspace, reference: Reference
):
    result = chain(workspace, reference, plan_kills(reference.marks, SHORT_KILLS, SEED))
    assert result.equal, result.table()
