"""Regressions tied to deploys and drift without one: the detectors behind `cl_findings`."""
