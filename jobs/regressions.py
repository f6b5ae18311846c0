"""The regression evaluation, one run per day partition (data time)."""

import dagster as dg

from jobs.concurrency import writes

# Asset keys, not asset functions: jobs select, they do not import what they run. The first
# is the detectors' asset, whose partitions say which days were evaluated.
REGRESSION_ASSETS = ("cl_regressions", "cl_findings")

cl_regressions_job = dg.define_asset_job(
    name="cl_regression_days",
    selection=dg.AssetSelection.assets(*REGRESSION_ASSETS),
    description=(
        "Latency, error, quality and cost regressions of one day: each series compared around "
        "the deploys of the services that emit it, drift and error bursts without one, merged "
        "into cl_findings. `make run` and regression_partitions_sensor run it for the days new "
        "spans land on; cl_evaluation runs the same assets over a breach window."
    ),
    tags={"cicl/kind": "cl_regressions", **writes("learning")},
)

REGRESSION_JOBS = [cl_regressions_job]
