"""Coverage reports (Cobertura, JaCoCo, LCOV, coverage.py JSON) -> ci_coverage."""
