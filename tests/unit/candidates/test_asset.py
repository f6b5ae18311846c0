"""The asset as the UI shows it: each open candidate's page holds its diff, why, the expected
effect and a picture of its findings; without a platform repository it proposes nothing."""

from __future__ import annotations

import dagster as dg

from cicl_assets.candidates.assets import improvement_candidates
from cicl_assets.resources import CiclConfig
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from demo.platform_repo import write_platform_repo
from tests.unit.candidates.scenario import write_stories


def test_each_open_candidate_has_a_page_a_reviewer_reads(tmp_path):
    write_platform_repo(tmp_path / "repo")
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    write_stories(warehouse)
    config = CiclConfig(platform_repo_uri=str(tmp_path / "repo"), state_dir=str(tmp_path))
    result = dg.materialize(
        [improvement_candidates], resources={"warehouse": warehouse, "cicl_config": config}
    )
    [event] = result.asset_materializations_for_node("improvement_candidates")
    meta = event.metadata
    assert (meta["proposed"].value, meta["written"].value, meta["open"].value) == (6, 6, 6)
    assert {k: meta[f"open/{k}"].value for k in ("provider_routing", "revert")} == {
        "provider_routing": 1,
        "revert": 0,
    }
    pages = {k: v.value for k, v in meta.items() if k.startswith("candidate/")}
    support = next(p for p in pages.values() if "`workflows/support-reply.yaml`" in p)
    assert "```diff\ndiff --git a/workflows/support-reply.yaml" in support
    assert "+    prompt_template: draft-reply@v7" in support
    assert "| support-reply.eval_score:relevance | 0.52 | 0.86 |" in support
    assert "![findings the candidate rests on](data:image/png;base64," in support


def test_without_a_platform_repository_nothing_is_proposed(tmp_path):
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    write_stories(warehouse)
    result = dg.materialize(
        [improvement_candidates],
        resources={"warehouse": warehouse, "cicl_config": CiclConfig()},
    )
    [event] = result.asset_materializations_for_node("improvement_candidates")
    assert event.metadata["proposed"].value == 0
    assert not warehouse.table_exists("improvement_candidates")
