"""Flaky tests: the same code gives a test both a pass and a fail."""
