"""Security scan results (SARIF, Trivy, Grype, pip-audit, osv-scanner, bandit, semgrep, ...) ->
ci_scans and ci_findings."""
