"""SLO breach: launch a CL evaluation for each page or ticket alert slo_status shows.

The decision (which rows, breach key, cooldown, cursor) is cicl_assets.learning.breach's pure
``decide_breaches``, over slo_status and the breaches the warehouse records as reviewed (the
``cl_review_triggered`` events each evaluation chains once its report is written). So the
daemon and `make run` - which evaluates this same sensor and runs its requests in process -
agree: a breach reviewed once launches nothing again, whatever the cursor holds.
"""

import dagster as dg

from cicl_assets.ingest.values import checked_time
from cicl_assets.learning.breach import (
    decide_breaches,
    read_cursor,
    read_reviewed,
    read_status_rows,
)
from cicl_assets.resources import CiclConfig
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.tables import utcnow
from jobs.learning import cl_evaluation_job

SLO_BREACH_SENSOR = "slo_breach_sensor"


@dg.sensor(
    name=SLO_BREACH_SENSOR,
    job=cl_evaluation_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Reads slo_status; for each page or ticket alert not reviewed yet launches a "
        "cl_evaluation run with the breach in its run config: at most one per (SLO, alert, "
        "hour), none within the cooldown (CICL_SLO_BREACH_COOLDOWN_MINUTES, default 720) of the "
        "SLO's previous run, none on thin data. `make run` evaluates this sensor too."
    ),
)
def slo_breach_sensor(
    context: dg.SensorEvaluationContext, warehouse: Warehouse, cicl_config: CiclConfig
):
    seen = checked_time(read_cursor(context.cursor)["last_evaluation_time"], "cursor time")
    breaches, cursor = decide_breaches(
        read_status_rows(warehouse, seen),
        read_reviewed(warehouse),
        context.cursor,
        utcnow(),
        cicl_config.slo_breach_cooldown,
    )
    for breach in breaches:
        context.log.info(f"{breach.key}: {breach.describe()}")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=breach.key,
                run_config=breach.run_config(),
                tags=breach.tags(SLO_BREACH_SENSOR),
            )
            for breach in breaches
        ],
        cursor=cursor,
    )


SLO_BREACH_SENSORS = [slo_breach_sensor]
