"""SLO breach: launch a CL evaluation when slo_status shows a page or ticket alert.

The decision (which rows, run_key, cooldown, cursor) is cicl_assets.learning.breach's pure
``decide_breach_runs``, shared with the batch path of `make run`. Each trigger is chained in
the audit log as ``cl_review_triggered`` (idempotent on the run_key).
"""

import dagster as dg

from cicl_assets.ingest.values import checked_time
from cicl_assets.learning.breach import (
    audit_trigger,
    decide_breach_runs,
    read_cursor,
    read_status_rows,
)
from cicl_assets.resources import CiclConfig
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.tables import utcnow
from jobs.learning import cl_evaluation_job


@dg.sensor(
    name="slo_breach_sensor",
    job=cl_evaluation_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Reads slo_status; for each new page or ticket alert launches a cl_evaluation run with "
        "the breach in its run config: at most one per (SLO, alert, hour), none within the "
        "cooldown (CICL_SLO_BREACH_COOLDOWN_MINUTES, default 720) of the SLO's last run, none on "
        "thin data."
    ),
)
def slo_breach_sensor(
    context: dg.SensorEvaluationContext, warehouse: Warehouse, cicl_config: CiclConfig
):
    state = read_cursor(context.cursor)
    seen = state["last_evaluation_time"]
    rows = read_status_rows(warehouse, checked_time(seen, "cursor last_evaluation_time"))
    runs, cursor = decide_breach_runs(
        rows, context.cursor, utcnow(), cicl_config.slo_breach_cooldown
    )
    notary = cicl_config.chain_notary(warehouse) if runs else None
    for run in runs:
        audit_trigger(warehouse, run, None, actor="slo_breach_sensor", notary=notary)
        context.log.info(f"{run.run_key}: burn rate {run.burn_rate:.1f} on {run.alert_window}")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(run_key=run.run_key, run_config=run.run_config(), tags=run.tags())
            for run in runs
        ],
        cursor=cursor,
    )


SLO_BREACH_SENSORS = [slo_breach_sensor]
