"""Compliance evidence: deployment gates, rollback targets, signed evidence bundles."""
