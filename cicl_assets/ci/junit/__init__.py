"""Test reports in the JUnit XML family (pytest, Surefire, jest, gotestsum, nextest, ...) ->
ci_test_cases."""
