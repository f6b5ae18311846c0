"""Sensors: landing arrivals, SLO and regression days to refresh, SLO breaches, reviews. They
import jobs, never assets."""

from sensors.landing import LANDING_SENSORS
from sensors.regression_partitions import REGRESSION_PARTITIONS_SENSORS
from sensors.review_queue import REVIEW_QUEUE_SENSORS
from sensors.slo_breach import SLO_BREACH_SENSORS
from sensors.slo_partitions import SLO_PARTITIONS_SENSORS

ALL_SENSORS = [
    *LANDING_SENSORS,
    *SLO_BREACH_SENSORS,
    *SLO_PARTITIONS_SENSORS,
    *REGRESSION_PARTITIONS_SENSORS,
    *REVIEW_QUEUE_SENSORS,
]

__all__ = ["ALL_SENSORS"]
