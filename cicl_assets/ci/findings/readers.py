"""How a scan report is recognised from its top level, and cosign vulnerability predicates,
which wrap a scanner's report in any of the recognised formats."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from cicl_assets.ci.findings.model import Scan
from cicl_assets.ci.findings.native import (
    read_checkov,
    read_grype,
    read_osv_scanner,
    read_pip_audit,
    read_trivy,
)
from cicl_assets.ci.findings.sarif import read_sarif
from cicl_assets.ci.findings.source import read_bandit, read_gitleaks, read_semgrep
from cicl_assets.ci.security_json import Shape, as_dict, doc_shape, text_of
from cicl_assets.ingest.content import ParseError
from cicl_assets.ingest.redact import redact_text
from cicl_assets.ingest.values import parse_time

Reader = Callable[[Any, str, int], list[Scan]]


# --- cosign vuln predicate ---------------------------------------------------------------------


def read_cosign_vuln(doc: Any, source_file: str, index: int = 0) -> list[Scan]:
    """The predicate wraps the scanner's own report in ``scanner.result``; a report in a
    format read here is read as such, under the predicate's scanner and times."""
    if not isinstance(doc, dict) or not isinstance(doc.get("scanner"), dict):
        raise ParseError("cosign vuln predicate: no 'scanner' object")
    scanner = doc["scanner"]
    meta = as_dict(doc.get("metadata"))
    tool = text_of(scanner.get("uri")) or "cosign-vuln"
    result = scanner.get("result")
    inner = SCAN_READERS.get(classify_scan(doc_shape(result))) if result else None
    if inner is None and result:
        tried = ", ".join(SCAN_READERS)
        raise ParseError(
            f"cosign vuln predicate: scanner.result is not a report in a known format "
            f"(tried {tried}); starts {redact_text(json.dumps(result))[:60]!r}"
        )
    scans = inner(result, source_file, index) if inner else [Scan(source_file, "", None)]
    for scan in scans:
        scan.scan_format = "cosign-vuln"
        scan.index = index
        scan.tool = scan.tool if inner else tool
        scan.tool_version = scan.tool_version or text_of(scanner.get("version"))
        scan.scanned_at = parse_time(meta.get("scanFinishedOn")) or scan.scanned_at
        for f in scan.findings:
            f["scan_id"] = scan.scan_id
            f["scanned_at"] = scan.scanned_at
    return scans


# --- recognition -------------------------------------------------------------------------------


def classify_scan(shape: Shape) -> str | None:
    """The scan-report format a JSON document's top level matches, if any."""
    if shape.container == "empty-list":
        return "pip-audit-json"  # pip-audit before 2.0 prints a bare [] when nothing is found
    if shape.container == "list":
        if shape.has("check_type"):
            return "checkov-json"
        if shape.has("name") and ("vulns" in shape.keys or "skip_reason" in shape.keys):
            return "pip-audit-json"
        if shape.has("RuleID") or shape.has("rule", "offender"):
            return "gitleaks-json"
        return None
    if shape.container != "object":
        return None
    k = shape.keys
    if "runs" in k and ("version" in k or "$schema" in k) and not {"kind", "bomFormat"} & set(k):
        return "sarif"
    if "SchemaVersion" in k and ("Results" in k or "ArtifactName" in k or "ArtifactType" in k):
        return "trivy-json"
    if "matches" in k and ("descriptor" in k or "source" in k):
        return "grype-json"
    if "dependencies" in k and set(k) <= {"dependencies", "fixes"}:
        return "pip-audit-json"
    if "check_type" in k and "results" in k:
        return "checkov-json"
    if "checkov_version" in k and "resource_count" in k:
        return "checkov-json"
    if "scanner" in k and ("invocation" in k or "metadata" in k):
        return "cosign-vuln"
    if "results" in k:
        if "generated_at" in k or "metrics" in k:
            return "bandit-json"
        if "experimental_config" in k or shape.value_has("results", '"packages"'):
            return "osv-scanner-json"
        if "errors" in k or shape.value_has("results", '"check_id"'):
            return "semgrep-json"
    return None


SCAN_READERS: dict[str, Reader] = {
    "sarif": read_sarif,
    "trivy-json": read_trivy,
    "grype-json": read_grype,
    "pip-audit-json": read_pip_audit,
    "osv-scanner-json": read_osv_scanner,
    "bandit-json": read_bandit,
    "semgrep-json": read_semgrep,
    "checkov-json": read_checkov,
    "gitleaks-json": read_gitleaks,
    "cosign-vuln": read_cosign_vuln,
}
