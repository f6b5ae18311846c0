"""Command line for the batch path: `run` materializes what the landing zone feeds, once.

python scripts/cicl.py run       # the landing_batch job, then a summary
python scripts/cicl.py summary   # rows per table and rejects, from the warehouse
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dagster as dg

import definitions
from cicl_assets.warehouse.base import Warehouse
from sensors.breach_batch import evaluate_breaches_once


def summary(warehouse: Warehouse) -> str:
    names = sorted(
        warehouse.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'cicl'"
            if warehouse.dialect == "duckdb"
            else "SELECT table_name FROM INFORMATION_SCHEMA.TABLES"
        )
        .column("table_name")
        .to_pylist()
    )
    width = max((len(n) for n in names), default=10)
    lines = ["", "table".ljust(width) + "  rows"]
    lines += [f"{n.ljust(width)}  {warehouse.row_count(n):>10,}" for n in names]
    if "ingest_rejects" in names:
        rejects = warehouse.query(
            "SELECT source_file, error FROM ingest_rejects ORDER BY source_file LIMIT 20"
        ).to_pylist()
        lines.append("")
        lines.append(f"rejects ({warehouse.row_count('ingest_rejects')}):")
        lines += [f"  {r['error']}" for r in rejects]
    return "\n".join(lines)


def run() -> int:
    instance = dg.DagsterInstance.get()
    defs = definitions.defs
    job = defs.resolve_job_def("landing_batch")
    result = job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
    )
    warehouse = defs.resources["warehouse"]
    launched: list[str] = []
    if result.success:
        # The batch path takes the same decision the SLO breach sensor takes under the daemon.
        launched = evaluate_breaches_once(defs, instance, warehouse, log=print)
    print(summary(warehouse))
    print(f"\ncl_evaluation runs launched for SLO breaches: {len(launched)}")
    if not result.success:
        failed = [e.step_key for e in result.all_events if e.is_step_failure]
        print(f"\nlanding_batch failed in: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="cicl")
    parser.add_argument("command", choices=["run", "summary"])
    args = parser.parse_args()
    if args.command == "run":
        return run()
    print(summary(definitions.defs.resources["warehouse"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
