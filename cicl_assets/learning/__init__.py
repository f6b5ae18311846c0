"""learning domain."""
