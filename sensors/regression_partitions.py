"""The regression evaluation of the days new spans land on, under the daemon.

Same rule as the SLO minute counts (sensors.slo_partitions): an otel_spans materialization lists
the days its spans start on; each of those days whose cl_regressions partition was not
materialized since is evaluated again, one run per range of consecutive days. `make run`
evaluates the days it ingests in process, so a daemon started afterwards launches nothing, and
a tick with nothing new landed launches nothing.
"""

from __future__ import annotations

import json

import dagster as dg

from cicl_assets.partitions import day_ranges, range_tags
from jobs.regressions import REGRESSION_ASSETS, cl_regressions_job
from sensors.slo_partitions import uncounted_days

REGRESSION_PARTITIONS_SENSOR = "regression_partitions_sensor"


@dg.sensor(
    name=REGRESSION_PARTITIONS_SENSOR,
    job=cl_regressions_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Reacts to otel_spans materializations: launches one cl_regression_days run per range "
        "of consecutive days its new spans start on whose regressions were not evaluated since."
    ),
)
def regression_partitions_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    state = json.loads(context.cursor) if context.cursor else {}
    days, newest = uncounted_days(
        context.instance, state.get("after_storage_id"), REGRESSION_ASSETS[0]
    )
    requests = [
        dg.RunRequest(
            run_key=f"regression-days:{first}:{last}:{newest}",
            tags={**range_tags(first, last), "cicl/reason": "new spans"},
        )
        for first, last in day_ranges(days)
    ]
    return dg.SensorResult(run_requests=requests, cursor=json.dumps({"after_storage_id": newest}))


REGRESSION_PARTITIONS_SENSORS = [regression_partitions_sensor]
