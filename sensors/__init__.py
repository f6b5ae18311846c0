"""Sensors: landing arrivals, SLO breaches, reviews. They import jobs, never assets."""

ALL_SENSORS: list = []

__all__ = ["ALL_SENSORS"]
