"""cicl: ingestion, evaluation and evidence assets of the CI/CL code location."""
