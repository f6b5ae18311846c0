"""What a breach review (the cl_evaluation job) materializes."""

import dagster as dg
import pytest

import definitions
from cicl_assets.learning import assets as learning
from cicl_assets.learning.breach import CL_EVALUATION_JOB
from jobs.learning import cl_evaluation_job


@pytest.fixture(scope="module")
def selected() -> set[str]:
    job = definitions.defs.resolve_job_def(CL_EVALUATION_JOB)
    return {k.to_user_string() for k in job.asset_layer.selected_asset_keys}


def test_a_breach_review_runs_the_report_and_the_regressions_it_links(selected):
    assert selected == {"cl_regressions", "cl_findings", "slo_breach_report"}


@pytest.mark.parametrize(
    "asset",
    [
        "candidate_outcomes",  # measure_outcomes' and the refresh's, after a release
        "provider_scorecards",  # by day: routing_by_day's
        "routing_proposals",
    ],
)
def test_a_breach_review_leaves_out(selected, asset):
    graph = definitions.defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey(asset)).group_name == "learning"
    assert asset not in selected


def test_every_learning_asset_the_report_reads_is_selected(selected):
    graph = definitions.defs.resolve_asset_graph()
    upstream = graph.get_ancestor_asset_keys(dg.AssetKey("slo_breach_report"))
    learning = {k.to_user_string() for k in upstream if graph.get(k).group_name == "learning"}
    assert learning <= selected
    assert learning == {"cl_regressions", "cl_findings"}


def test_the_job_resolves_without_the_release_assets():
    # Smaller Definitions (tests, tools) hold the learning assets without the release's.
    keys = cl_evaluation_job.selection.resolve(learning.ASSETS)
    assert {k.to_user_string() for k in keys} == {
        "cl_regressions",
        "cl_findings",
        "slo_breach_report",
    }
