"""SLO breach: launch a CL evaluation for each page or ticket alert slo_status shows.

The sensor reacts to slo_status materializations: each tick asks the instance's event log for
the partitions (days) materialized since its cursor and reads only those days' rows, never the
whole table. The decision (which rows, breach key, cooldown) is cicl_assets.learning.breach's
pure ``decide_breaches``, over those rows and the breaches the warehouse records as reviewed
(the ``cl_review_triggered`` events each evaluation chains once its report is written). So the
daemon and `make run` - which evaluates this same sensor and runs its requests in process -
agree: a breach reviewed once launches nothing again, whatever the cursor holds. A day
re-materialized by late data is decided again; reviewed breaches and run keys keep each once.
"""

from __future__ import annotations

import json
from datetime import date

import dagster as dg

from cicl_assets.learning.breach import (
    decide_breaches,
    read_cursor,
    read_reviewed,
    read_status_rows,
    reviews_since,
)
from cicl_assets.resources import CiclConfig
from cicl_assets.slo.status import SLO_STATUS
from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.tables import utcnow
from jobs.learning import cl_evaluation_job
from sensors.materializations import materializations_after

SLO_BREACH_SENSOR = "slo_breach_sensor"
AFTER = "after_storage_id"


def materialized_days(
    instance: dg.DagsterInstance, after_storage_id: int | None
) -> tuple[list[date], int | None]:
    """Days of slo_status materialized after the storage id, and the newest storage id seen."""
    days: set[date] = set()
    newest = after_storage_id
    for record in materializations_after(instance, SLO_STATUS.name, after_storage_id):
        newest = record.storage_id
        partition = record.asset_materialization.partition if record.asset_materialization else None
        if partition:
            days.add(date.fromisoformat(partition))
    return sorted(days), newest


def start_cursor(after_storage_id: int | None) -> str | None:
    return None if after_storage_id is None else json.dumps({AFTER: after_storage_id})


@dg.sensor(
    name=SLO_BREACH_SENSOR,
    job=cl_evaluation_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Reacts to slo_status materializations: reads the days just materialized and, for each "
        "page or ticket alert not reviewed yet, launches a cl_evaluation run over the days of "
        "the breach window with the breach in its run config: at most one per (SLO, alert, hour), none within "
        "the cooldown (CICL_SLO_BREACH_COOLDOWN_MINUTES, default 720) of the SLO's previous "
        "run, none on thin data. `make run` evaluates this sensor too."
    ),
)
def slo_breach_sensor(
    context: dg.SensorEvaluationContext, warehouse: Warehouse, cicl_config: CiclConfig
):
    state = read_cursor(context.cursor)
    days, newest = materialized_days(context.instance, state.get(AFTER))
    if not days:
        return dg.SensorResult(skip_reason="no slo_status partition materialized since last tick")
    rows = read_status_rows(warehouse, days, firing_only=True)
    since = reviews_since(rows, cicl_config.slo_breach_cooldown)
    breaches, decided = decide_breaches(
        rows,
        read_reviewed(warehouse, since) if since else [],
        json.dumps({**state, "last_evaluation_time": None}),
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
        cursor=json.dumps({**json.loads(decided), AFTER: newest}, sort_keys=True),
    )


SLO_BREACH_SENSORS = [slo_breach_sensor]
