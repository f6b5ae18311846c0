"""Continuous-learning jobs (evaluations launched by sensors)."""

import dagster as dg

from cicl_assets.learning.breach import CL_EVALUATION_JOB
from jobs.regressions import REGRESSION_ASSETS

cl_evaluation_job = dg.define_asset_job(
    name=CL_EVALUATION_JOB,
    # The day-partitioned regression assets run in their own job until the breach run covers
    # the partitions of the breach window.
    selection=dg.AssetSelection.groups("learning") - dg.AssetSelection.assets(*REGRESSION_ASSETS),
    description=(
        "The CL evaluation an SLO breach launches (slo_breach_sensor, under the daemon or in "
        "`make run`): the breach report and the evaluations of the learning group. Run config "
        "must name the breach (ops.slo_breach_report.config: slo_name, alert, evaluation_time, "
        "alert_window)."
    ),
    tags={"cicl/kind": "cl_evaluation"},
)

LEARNING_JOBS = [cl_evaluation_job]
