"""Command line for the batch path: `run` materializes what the landing zone feeds, once.

python scripts/cicl.py run       # the landing_batch job, the SLO breach sensor's runs, a summary
python scripts/cicl.py summary   # rows per table and rejects, from the warehouse

Runs log at INFO (Dagster's engine events are DEBUG and stay out); each breach reviewed gets one
line naming its cause.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dagster as dg

import definitions
from cicl_assets.learning.breach import BREACH_REPORT_ASSET
from cicl_assets.warehouse.base import Warehouse
from sensors.in_process import LaunchedRun, run_sensor_once
from sensors.slo_breach import SLO_BREACH_SENSOR

INFO_LOGS = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
REJECTS_SHOWN = 20


def summary(warehouse: Warehouse) -> str:
    counts = warehouse.table_row_counts()
    width = max((len(n) for n in counts), default=10)
    lines = ["", f"{warehouse.dialect} {warehouse.target}", "table".ljust(width) + "        rows"]
    lines += [f"{name.ljust(width)}  {rows:>10,}" for name, rows in counts.items()]
    rejects = counts.get("ingest_rejects", 0)
    if rejects:
        shown = warehouse.query(
            f"SELECT error FROM ingest_rejects ORDER BY source_file LIMIT {REJECTS_SHOWN}"
        ).to_pylist()
        lines += ["", f"rejects ({rejects}):"] + [f"  {r['error']}" for r in shown]
        if rejects > REJECTS_SHOWN:
            lines.append(f"  ... and {rejects - REJECTS_SHOWN} more in ingest_rejects")
    return "\n".join(lines)


def breach_line(run: LaunchedRun) -> str:
    """One line for a cl_evaluation run: its breach, outcome and the cause its report names."""
    head = f"{run.run_key}: run {run.run_id[:8]}"
    if not run.success:
        failures = [e for e in run.result.all_events if e.is_step_failure]
        why = failures[0].step_failure_data.error.message.strip() if failures else "see its logs"
        return f"{head} FAILED: {why.splitlines()[0]}"
    [materialization] = run.result.asset_materializations_for_node(BREACH_REPORT_ASSET)
    return f"{head}: {materialization.metadata['cause'].value}"


def run() -> int:
    instance = dg.DagsterInstance.get()
    defs = definitions.defs
    result = defs.resolve_job_def("landing_batch").execute_in_process(
        instance=instance, raise_on_error=False, run_config=INFO_LOGS
    )
    warehouse = defs.resources["warehouse"]
    reviewed: list[LaunchedRun] = []
    if result.success:
        # The daemon's own sensor decides which breaches to review; its runs execute here.
        reviewed = run_sensor_once(defs, instance, SLO_BREACH_SENSOR, INFO_LOGS)
    print(summary(warehouse))
    print(f"\nSLO breaches reviewed ({SLO_BREACH_SENSOR}): {len(reviewed)}")
    for launched in reviewed:
        print(f"  {breach_line(launched)}")
    if not result.success:
        failed = [e.step_key for e in result.all_events if e.is_step_failure]
        print(f"\nlanding_batch failed in: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0 if all(r.success for r in reviewed) else 1


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
