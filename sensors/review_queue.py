"""The review queue under the daemon: one candidate_review partition per open candidate.

The refresh run syncs the queue itself (so `make run` leaves it current without the daemon);
this sensor keeps it current when candidates change any other way: a decision closes one, a
release ships one, another process refreshes the table. A tick that finds the queue current
changes nothing.
"""

import dagster as dg

from cicl_assets.resources import CiclConfig
from cicl_assets.review.policy import load_review_policy
from cicl_assets.review.queue import CANDIDATE_PARTITIONS, plan_sync
from cicl_assets.warehouse.base import Warehouse

REVIEW_QUEUE_SENSOR = "review_queue_sensor"


@dg.sensor(
    name=REVIEW_QUEUE_SENSOR,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Adds a candidate_review partition (with the candidate's page) for each open improvement "
        "candidate and removes the partitions of candidates no longer open."
    ),
)
def review_queue_sensor(
    context: dg.SensorEvaluationContext, warehouse: Warehouse, cicl_config: CiclConfig
) -> dg.SensorResult:
    existing = context.instance.get_dynamic_partitions(CANDIDATE_PARTITIONS)
    sync = plan_sync(warehouse, existing, load_review_policy(cicl_config.path))
    if not (sync.add or sync.remove):
        return dg.SensorResult(skip_reason="the review queue is current")
    context.log.info(sync.summary())
    return dg.SensorResult(
        dynamic_partitions_requests=sync.requests(), asset_events=sync.observations
    )


REVIEW_QUEUE_SENSORS = [review_queue_sensor]
