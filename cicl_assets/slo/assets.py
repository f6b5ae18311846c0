"""Assets of the slo group."""

ASSETS: list = []
CHECKS: list = []
