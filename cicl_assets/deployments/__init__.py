"""deployments domain."""
