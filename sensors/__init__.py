"""Sensors: landing arrivals, SLO breaches, reviews. They import jobs, never assets."""

from sensors.landing import LANDING_SENSORS
from sensors.slo_breach import SLO_BREACH_SENSORS

ALL_SENSORS = [*LANDING_SENSORS, *SLO_BREACH_SENSORS]

__all__ = ["ALL_SENSORS"]
