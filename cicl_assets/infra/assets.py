"""Assets of the infra group."""

ASSETS: list = []
CHECKS: list = []
