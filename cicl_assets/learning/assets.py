"""Assets of the learning group."""

ASSETS: list = []
CHECKS: list = []
