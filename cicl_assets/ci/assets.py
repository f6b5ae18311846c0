"""Assets of the ci group."""

ASSETS: list = []
CHECKS: list = []
