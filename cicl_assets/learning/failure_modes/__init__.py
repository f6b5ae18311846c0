"""Failure modes: failures grouped by a signature with their variable parts masked."""
