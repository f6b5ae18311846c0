"""Continuous-learning jobs (evaluations launched by sensors)."""

import dagster as dg

from cicl_assets.learning.breach import CL_EVALUATION_JOB
from cicl_assets.learning.routing import DAY_RANGE_TAG
from jobs.concurrency import writes

# Learning assets that run per range of days (routing_by_day), not per breach, carry this tag.
BY_DAY = dg.AssetSelection.tag(*DAY_RANGE_TAG)
# Measured after releases (measure_outcomes, the refresh), not on each breach. By key prefix:
# unlike assets(), it resolves where the release assets are not defined (smaller Definitions).
NOT_PER_BREACH = dg.AssetSelection.key_prefixes("candidate_outcomes")

cl_evaluation_job = dg.define_asset_job(
    name=CL_EVALUATION_JOB,
    selection=dg.AssetSelection.groups("learning") - BY_DAY - NOT_PER_BREACH,
    description=(
        "The CL evaluation an SLO breach launches (slo_breach_sensor, under the daemon or in "
        "`make run`), one run over the days of the breach window: the regressions of those "
        "days, then the breach report, which links the findings that explain the breach. Run "
        "config must name the breach (ops.slo_breach_report.config: slo_name, alert, "
        "evaluation_time, alert_window)."
    ),
    tags={"cicl/kind": "cl_evaluation", **writes("learning", chain=True)},
)

routing_by_day_job = dg.define_asset_job(
    name="routing_by_day",
    tags=writes("learning"),
    selection=BY_DAY,
    description=(
        "Provider scorecards and routing proposals for a range of days (`make run` runs it for "
        "the days new spans touch and the days whose baselines reach them)."
    ),
)

LEARNING_JOBS = [cl_evaluation_job, routing_by_day_job]
