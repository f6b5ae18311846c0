"""Continuous-learning jobs (evaluations launched by sensors)."""

import dagster as dg

from cicl_assets.learning.breach import CL_EVALUATION_JOB

cl_evaluation_job = dg.define_asset_job(
    name=CL_EVALUATION_JOB,
    selection=dg.AssetSelection.groups("learning"),
    description=(
        "The CL evaluation an SLO breach launches (slo_breach_sensor, under the daemon or in "
        "`make run`), one run over the days of the breach window: the regressions of those "
        "days, then the breach report, which links the findings that explain the breach. Run "
        "config must name the breach (ops.slo_breach_report.config: slo_name, alert, "
        "evaluation_time, alert_window)."
    ),
    tags={"cicl/kind": "cl_evaluation"},
)

LEARNING_JOBS = [cl_evaluation_job]
