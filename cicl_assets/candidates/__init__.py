"""Improvement candidates: findings and proposals as reviewable changes to the platform repository."""
