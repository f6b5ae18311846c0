"""Sensors: landing arrivals, SLO breaches, reviews. They import jobs, never assets."""

from sensors.landing import LANDING_SENSORS

ALL_SENSORS = [*LANDING_SENSORS]

__all__ = ["ALL_SENSORS"]
