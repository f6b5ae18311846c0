"""The regression evaluation of the days new spans land on, under the daemon.

Same rule as the SLO minute counts (sensors.slo_partitions): an otel_spans materialization lists
the days its spans start on; each of those days whose cl_regressions partition was not
materialized since is evaluated again, one run per range of consecutive days. `make run`
evaluates the days it ingests in process, so a daemon started afterwards launches nothing, and
a tick with nothing new landed launches nothing.
"""

from __future__ import annotations

import dagster as dg

from jobs.regressions import REGRESSION_ASSETS, cl_regressions_job
from sensors.slo_partitions import day_range_requests

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
    return day_range_requests(context, REGRESSION_ASSETS[0], "regression-days")


REGRESSION_PARTITIONS_SENSORS = [regression_partitions_sensor]
