"""A small review set-up as `make demo` leaves one: the demo's stories in a DuckDB warehouse, the
seeded platform repository, the candidates refreshed into a DAGSTER_HOME instance (so each open
candidate has its partition), and the environment a subprocess of cicl needs to see the same."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from cicl_assets.candidates.assets import improvement_candidates
from cicl_assets.resources import CiclConfig
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from demo.platform_repo import write_platform_repo
from tests.cicl_runs import REPO, environment
from tests.unit.candidates.scenario import write_stories


@dataclass(frozen=True)
class ReviewHome:
    home: Path
    env: dict[str, str]
    warehouse: DuckDBWarehouse
    candidates: dict[str, str]  # kind (the first of each) -> candidate id

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.home))


def review_home(root: Path) -> ReviewHome:
    home = root / "dagster_home"
    env = environment(
        home,
        {
            "CICL_DUCKDB_PATH": str(root / "warehouse.duckdb"),
            "CICL_PLATFORM_REPO": str(root / "platform"),
            "CICL_LANDING_URI": str(root / "landing"),
        },
    )
    write_platform_repo(root / "platform")
    warehouse = DuckDBWarehouse(path=env["CICL_DUCKDB_PATH"])
    write_stories(warehouse)
    config = CiclConfig(
        config_dir=str(REPO / "config"),
        platform_repo_uri=env["CICL_PLATFORM_REPO"],
        state_dir=env["CICL_STATE_DIR"],
        outbox_uri=env["CICL_OUTBOX_URI"],
    )
    with dg.DagsterInstance.from_config(str(home)) as instance:
        dg.materialize(
            [improvement_candidates],
            resources={"warehouse": warehouse, "cicl_config": config},
            instance=instance,
        )
    rows = warehouse.query(
        "SELECT kind, candidate_id FROM improvement_candidates ORDER BY target_file DESC"
    ).to_pylist()
    return ReviewHome(home, env, warehouse, {r["kind"]: r["candidate_id"] for r in rows})
