"""Assets of the audit group."""

ASSETS: list = []
CHECKS: list = []
