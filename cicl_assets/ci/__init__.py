"""ci domain."""
