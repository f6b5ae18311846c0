"""The short form of the efficacy measure: seeded scenarios at 30 calls per provider/model per
hour, with a regression after a random deploy or none; the long form is the module's CLI."""

import pytest

from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from tests.unit.learning.regressions.scenario import plan, run

# seed -> (factor, provider, hours of post-deploy data the detection needed)
REGRESSIONS = {
    0: (1.27, "openai", 2.0),  # under the 1.3x aim: two hours of data
    1: (1.66, "gcp.gemini", 1.0),
    3: (1.43, "openai", 1.0),
}


@pytest.mark.parametrize("seed", sorted(REGRESSIONS))
def test_a_regression_after_a_deploy_is_found_within_hours(seed, tmp_path):
    scenario = plan(seed, 30, regression=True)
    outcome = run(scenario, DuckDBWarehouse(path=str(tmp_path / "w.duckdb")))
    assert (scenario.factor, scenario.regressed_provider, outcome.hours_to_detect) == (
        REGRESSIONS[seed]
    )
    assert outcome.found
    assert outcome.false_findings == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_regression_free_traffic_gives_no_finding(seed, tmp_path):
    scenario = plan(seed, 30, regression=False)
    outcome = run(scenario, DuckDBWarehouse(path=str(tmp_path / "w.duckdb")))
    # Two day partitions of 3 providers x 4 metrics (latency, per token, tokens, errors).
    assert (outcome.false_findings, outcome.series_days) == (0, 24)
