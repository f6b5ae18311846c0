"""The findings data model shared by every scan-result reader: the `ci_findings` and `ci_scans`
tables, severity normalisation, stable fingerprints, and which fields of a secret finding hold
the secret (``cicl_assets.ingest.redact`` removes them)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from cicl_assets.ci.security_json import DESCRIPTION_CAP, clip, dumps, small, text_of
from cicl_assets.ci.values import pipeline_run_id_from_path
from cicl_assets.ingest.redact import redact, redact_known
from cicl_assets.warehouse.tables import JSON, UTC_TS, TableSpec

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO")
KINDS = ("vulnerability", "misconfiguration", "secret", "code")

CI_FINDINGS = TableSpec(
    name="ci_findings",
    description=(
        "One row per finding reported by a security scanner in a CI run (SARIF, Trivy, Grype, "
        "pip-audit, osv-scanner, bandit, semgrep, checkov, cosign vuln predicates, CycloneDX "
        "VEX): rule, normalised severity, package and versions, location, target, and a "
        "fingerprint that is the same for the same finding in every run."
    ),
    schema=pa.schema(
        [
            ("pipeline_run_id", pa.string()),
            ("scan_id", pa.string()),
            ("tool", pa.string()),
            ("tool_version", pa.string()),
            ("rule_id", pa.string()),
            ("title", pa.string()),
            ("severity", pa.string()),
            ("severity_source", pa.string()),
            ("tool_severity", pa.string()),
            ("cvss_score", pa.float64()),
            ("package_name", pa.string()),
            ("package_type", pa.string()),
            ("installed_version", pa.string()),
            ("fixed_version", pa.string()),
            ("location", pa.string()),
            ("target", pa.string()),
            ("finding_kind", pa.string()),
            ("status", pa.string()),
            ("fingerprint", pa.string()),
            ("aliases", JSON),
            ("description", pa.string()),
            ("references", JSON),
            ("raw", JSON),
            ("scanned_at", UTC_TS),
            ("source_file", pa.string()),
        ]
    ),
    cluster_by=("tool", "severity"),
    json_columns=("aliases", "references", "raw"),
    # scan_id names the file and the run within it: a finding is stored once per scan.
    identity=("pipeline_run_id", "scan_id", "fingerprint"),
    column_docs={
        "severity": "CRITICAL/HIGH/MEDIUM/LOW/INFO; null when the tool gives nothing to go on",
        "severity_source": "cvss | security-severity | tool | sarif-level",
        "fingerprint": "sha256 of tool, rule_id, package, installed_version, location, target "
        "(and the commit, for scanners of git history that name one)",
        "status": "open, or suppressed where the tool marks the finding ignored/skipped/VEX'd",
    },
)

CI_SCANS = TableSpec(
    name="ci_scans",
    description=(
        "One row per security scan in a CI run (a scan-result file, or each run of a multi-run "
        "SARIF log), including scans that found nothing: tool, target, time, finding counts "
        "by normalised severity."
    ),
    schema=pa.schema(
        [
            ("pipeline_run_id", pa.string()),
            ("scan_id", pa.string()),
            ("scan_format", pa.string()),
            ("tool", pa.string()),
            ("tool_version", pa.string()),
            ("target", pa.string()),
            ("scanned_at", UTC_TS),
            ("findings", pa.int64()),
            ("open_findings", pa.int64()),
            ("critical", pa.int64()),
            ("high", pa.int64()),
            ("medium", pa.int64()),
            ("low", pa.int64()),
            ("info", pa.int64()),
            ("unrated", pa.int64()),
            ("source_file", pa.string()),
        ]
    ),
    cluster_by=("tool",),
    identity=("scan_id",),
)

_LABELS = {
    "critical": "CRITICAL",
    "very-high": "CRITICAL",
    "high": "HIGH",
    "important": "HIGH",
    "error": "HIGH",
    "medium": "MEDIUM",
    "moderate": "MEDIUM",
    "warning": "MEDIUM",
    "low": "LOW",
    "minor": "LOW",
    "recommendation": "LOW",
    "info": "INFO",
    "informational": "INFO",
    "information": "INFO",
    "negligible": "INFO",
    "none": "INFO",
}
_SARIF_LEVELS = {"error": "HIGH", "warning": "MEDIUM", "note": "LOW", "none": "INFO"}


def severity_from_score(score: float) -> str:
    """CVSS-style bands: >=9 CRITICAL, >=7 HIGH, >=4 MEDIUM, >0.1 LOW, else INFO."""
    if score >= 9.0:
        return "CRITICAL"
    if score >= 7.0:
        return "HIGH"
    if score >= 4.0:
        return "MEDIUM"
    if score > 0.1:
        return "LOW"
    return "INFO"


def severity_from_label(label: Any) -> str | None:
    text = text_of(label)
    return _LABELS.get(text.lower()) if text else None


def score_of(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        score = float(value)
    except (TypeError, ValueError):
        return None
    return score if 0.0 <= score <= 10.0 else None


def normalise_severity(
    *,
    cvss: Any = None,
    security_severity: Any = None,
    label: Any = None,
    sarif_level: Any = None,
) -> tuple[str | None, str | None, float | None]:
    """(severity, severity_source, cvss_score): a number the tool gives wins, then the tool's
    own label, then the SARIF level."""
    score = score_of(cvss)
    if score is not None:
        return severity_from_score(score), "cvss", score
    sec = score_of(security_severity)
    if sec is not None:
        return severity_from_score(sec), "security-severity", None
    by_label = severity_from_label(label)
    if by_label:
        return by_label, "tool", None
    level = text_of(sarif_level)
    if level and level.lower() in _SARIF_LEVELS:
        return _SARIF_LEVELS[level.lower()], "sarif-level", None
    return None, None, None


def fingerprint(
    tool: str | None,
    rule_id: str | None,
    package: str | None,
    installed_version: str | None,
    location: str | None,
    target: str | None,
    commit: str | None = None,
) -> str:
    parts = [(tool or "").lower(), rule_id, package, installed_version, location, target]
    if commit:  # a secret scanner over history reports the same line once per commit
        parts.append(commit)
    return hashlib.sha256("\x1f".join(p or "" for p in parts).encode()).hexdigest()


# Fields of secret-scanner records that hold the secret or the source lines around it.
SECRET_FIELDS = frozenset(
    {
        "match",
        "secret",
        "offender",
        "snippet",
        "raw_source_code_extract",
        "lines",
        "code",
        "highlighted",
        "content",
        "line",
    }
)


def secret_values(record: Any) -> set[str]:
    """Every value stored under a secret-bearing key, to scrub from free text too."""
    found: set[str] = set()
    if isinstance(record, dict):
        for k, v in record.items():
            if k.lower() in {"match", "secret", "offender", "raw_source_code_extract"}:
                if isinstance(v, str) and v.strip():
                    found.add(v.strip())
                    found.update(re.findall(r"[\w+/=\-.]{16,}", v))
            else:
                found |= secret_values(v)
    elif isinstance(record, list):
        for v in record:
            found |= secret_values(v)
    return found


def _redact_secret(raw: Any, secrets: set[str]) -> Any:
    return redact(raw, secret_keys=SECRET_FIELDS, known=secrets)


@dataclass
class Scan:
    """Collects the findings of one scan and turns them into rows of both tables."""

    source_file: str
    scan_format: str
    tool: str | None
    tool_version: str | None = None
    target: str | None = None
    scanned_at: datetime | None = None
    index: int = 0
    findings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def scan_id(self) -> str:
        key = f"{self.source_file}#{self.index}"
        return hashlib.sha256(key.encode()).hexdigest()[:24]

    def add(
        self,
        *,
        rule_id: Any,
        kind: str,
        title: Any = None,
        description: Any = None,
        cvss: Any = None,
        cvss_score: Any = None,
        security_severity: Any = None,
        label: Any = None,
        sarif_level: Any = None,
        package_name: Any = None,
        package_type: Any = None,
        installed_version: Any = None,
        fixed_version: Any = None,
        location: Any = None,
        target: Any = None,
        status: str = "open",
        aliases: list[str] | None = None,
        references: list[str] | None = None,
        raw: Any = None,
        tool: str | None = None,
        tool_version: str | None = None,
        commit: str | None = None,
    ) -> None:
        """One finding; ``cvss`` drives the severity, ``cvss_score`` is only recorded.
        ``commit`` is the revision a history scanner found it in (one finding per commit)."""
        severity, source, score = normalise_severity(
            cvss=cvss, security_severity=security_severity, label=label, sarif_level=sarif_level
        )
        secrets = secret_values(raw) if kind == "secret" else set()
        tool = tool or self.tool
        target_text = text_of(target) or self.target
        loc = text_of(location)
        if secrets and loc:
            loc = redact_known(loc, secrets)
        rule = text_of(rule_id)
        pkg = text_of(package_name)
        installed = text_of(installed_version)
        row = {
            "pipeline_run_id": pipeline_run_id_from_path(self.source_file),
            "scan_id": self.scan_id,
            "tool": tool,
            "tool_version": tool_version or self.tool_version,
            "rule_id": rule,
            "title": clip(title, 500),
            "severity": severity,
            "severity_source": source,
            "tool_severity": text_of(label) or text_of(sarif_level),
            "cvss_score": score if score is not None else score_of(cvss_score),
            "package_name": pkg,
            "package_type": text_of(package_type),
            "installed_version": installed,
            "fixed_version": text_of(fixed_version),
            "location": loc,
            "target": target_text,
            "finding_kind": kind,
            "status": status,
            "fingerprint": fingerprint(
                tool, rule, pkg, installed, loc, target_text, text_of(commit)
            ),
            "aliases": dumps(sorted({a for a in aliases or [] if a and a != rule})),
            "description": clip(description, DESCRIPTION_CAP),
            "references": dumps(list(dict.fromkeys(r for r in references or [] if r))[:50]),
            "raw": dumps(small(_redact_secret(raw, secrets) if kind == "secret" else raw)),
            "scanned_at": self.scanned_at,
        }
        if secrets:
            for key in ("title", "description"):
                if row[key]:
                    row[key] = redact_known(row[key], secrets)
        self.findings.append(row)

    def scan_row(self) -> dict[str, Any]:
        counts = {s: 0 for s in SEVERITIES}
        unrated = 0
        for f in self.findings:
            if f["severity"] in counts:
                counts[f["severity"]] += 1
            else:
                unrated += 1
        return {
            "pipeline_run_id": pipeline_run_id_from_path(self.source_file),
            "scan_id": self.scan_id,
            "scan_format": self.scan_format,
            "tool": self.tool,
            "tool_version": self.tool_version,
            "target": self.target,
            "scanned_at": self.scanned_at,
            "findings": len(self.findings),
            "open_findings": sum(1 for f in self.findings if f["status"] == "open"),
            "critical": counts["CRITICAL"],
            "high": counts["HIGH"],
            "medium": counts["MEDIUM"],
            "low": counts["LOW"],
            "info": counts["INFO"],
            "unrated": unrated,
        }


def emit(scans: list[Scan]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The (table, rows) pairs a parser yields for its scans."""
    findings = [f for s in scans for f in s.findings]
    return [(CI_FINDINGS.name, findings), (CI_SCANS.name, [s.scan_row() for s in scans])]
