"""Assets of the deployments group."""

ASSETS: list = []
CHECKS: list = []
