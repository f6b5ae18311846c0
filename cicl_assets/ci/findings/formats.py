"""Security scan results of a CI run -> `ci_findings` (one row per finding) and `ci_scans` (one
row per scan, so a scan that found nothing is still visible).

Readers live in `findings_sarif` (SARIF 2.1 from any tool), `findings_native` (Trivy, Grype,
pip-audit, osv-scanner, checkov) and `findings_source` (bandit, semgrep, gitleaks); recognition and cosign vuln
predicates in `findings_formats`; the model (severity bands, fingerprints, redaction) in
`findings_model`.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

from cicl_assets.ci.findings.model import CI_FINDINGS, CI_SCANS, emit
from cicl_assets.ci.findings.readers import SCAN_READERS, classify_scan
from cicl_assets.ci.security_json import head_shape
from cicl_assets.ingest.content import Sniff
from cicl_assets.ingest.formats import FileFormat
from cicl_assets.ingest.json_documents import load_json

_LABELS = {
    "sarif": "SARIF",
    "trivy-json": "Trivy JSON",
    "grype-json": "Grype JSON",
    "pip-audit-json": "pip-audit JSON",
    "osv-scanner-json": "osv-scanner JSON",
    "bandit-json": "bandit JSON",
    "semgrep-json": "semgrep JSON",
    "checkov-json": "checkov JSON",
    "gitleaks-json": "gitleaks JSON",
    "cosign-vuln": "cosign vuln predicate",
}


def _scan_format_of(sniff: Sniff) -> str | None:
    return classify_scan(head_shape(sniff))


def detect_scan(name: str, sniff: Sniff) -> bool:
    return _scan_format_of(sniff) == name


def parse_scan(name: str, data: bytes, source_file: str) -> Iterable[tuple[str, Any]]:
    doc = load_json(data, _LABELS[name])
    return emit(SCAN_READERS[name](doc, source_file, 0))


FORMATS: tuple[FileFormat, ...] = tuple(
    FileFormat(name, partial(detect_scan, name), partial(parse_scan, name)) for name in SCAN_READERS
)
TABLES = (CI_FINDINGS, CI_SCANS)
