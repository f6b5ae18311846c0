"""Assets of the telemetry group."""

ASSETS: list = []
CHECKS: list = []
