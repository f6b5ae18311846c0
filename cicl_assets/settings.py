"""Environment switches of the code location, read in one place.

Unknown values fail loudly: a typo in CICL_WAREHOUSE must not quietly write to the wrong place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

WAREHOUSES = ("duckdb", "bigquery")


@dataclass(frozen=True)
class Settings:
    warehouse: str
    duckdb_path: str
    bq_project: str
    bq_dataset: str
    bq_location: str
    landing_uri: str
    outbox_uri: str
    config_dir: Path

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        warehouse = env.get("CICL_WAREHOUSE", "duckdb").strip().lower() or "duckdb"
        if warehouse not in WAREHOUSES:
            raise ValueError(f"CICL_WAREHOUSE={warehouse!r} is not one of {', '.join(WAREHOUSES)}")
        if warehouse == "bigquery" and not env.get("CICL_BQ_PROJECT"):
            raise ValueError("CICL_WAREHOUSE=bigquery needs CICL_BQ_PROJECT")
        return cls(
            warehouse=warehouse,
            duckdb_path=env.get("CICL_DUCKDB_PATH", ".cicl/warehouse.duckdb"),
            bq_project=env.get("CICL_BQ_PROJECT", ""),
            bq_dataset=env.get("CICL_BQ_DATASET", "cicl"),
            bq_location=env.get("CICL_BQ_LOCATION", "US"),
            landing_uri=env.get("CICL_LANDING_URI", ".cicl/landing"),
            outbox_uri=env.get("CICL_OUTBOX_URI", ".cicl/outbox"),
            config_dir=Path(env.get("CICL_CONFIG_DIR", "config")),
        )
