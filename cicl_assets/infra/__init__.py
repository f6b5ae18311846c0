"""infra domain."""
