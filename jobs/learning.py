"""Continuous-learning jobs (evaluations launched by sensors)."""

LEARNING_JOBS: list = []
