"""SARIF 2.1.0 logs from any tool (CodeQL/LGTM, Trivy, Gitleaks, SpotBugs, ...): one scan per
run, one finding per result that is not a pass."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from cicl_assets.ci.findings.model import Scan, emit
from cicl_assets.ci.security_json import as_dict, as_list, iter_dicts, text_of
from cicl_assets.ingest.content import ParseError
from cicl_assets.ingest.json_documents import load_json
from cicl_assets.ingest.values import parse_time

_VULN_ID = re.compile(
    r"^(CVE-\d{4}-\d+|GHSA-[\w-]+|PYSEC-[\w-]+|GO-\d{4}-\d+|RUSTSEC-[\w-]+)$", re.I
)
_SECRET_TOOLS = ("gitleaks", "trufflehog", "detect-secrets", "ggshield")
_SEVERITY_TAGS = {"CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO", "UNKNOWN"}
_TRIVY_MESSAGE = {
    "package": re.compile(r"^Package:\s*(.+)$", re.M),
    "installed": re.compile(r"^Installed Version:\s*(.+)$", re.M),
    "fixed": re.compile(r"^Fixed Version:\s*(.+)$", re.M),
}


def _message(result: dict[str, Any], rule: dict[str, Any]) -> str | None:
    msg = as_dict(result.get("message"))
    text = text_of(msg.get("text"))
    if text:
        return text
    template = as_dict(as_dict(rule.get("messageStrings")).get(msg.get("id") or ""))
    pattern = text_of(template.get("text"))
    if not pattern:
        return None
    args = [str(a) for a in as_list(msg.get("arguments"))]
    return re.sub(
        r"\{(\d+)\}",
        lambda m: args[int(m.group(1))] if int(m.group(1)) < len(args) else "",
        pattern,
    )


def _rules(run: dict[str, Any]) -> list[dict[str, Any]]:
    tool = as_dict(run.get("tool"))
    rules = list(iter_dicts(as_dict(tool.get("driver")).get("rules")))
    for ext in iter_dicts(tool.get("extensions")):
        rules.extend(iter_dicts(ext.get("rules")))
    return rules


def _rule_for(
    result: dict[str, Any], rules: list[dict[str, Any]], by_id: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    ref = as_dict(result.get("rule"))
    index = result.get("ruleIndex", ref.get("index"))
    if isinstance(index, int) and 0 <= index < len(rules):
        return rules[index]
    rule_id = result.get("ruleId") or ref.get("id")
    if isinstance(rule_id, str) and rule_id in by_id:
        return by_id[rule_id]
    text = text_of(as_dict(result.get("message")).get("text")) or ""
    # Gitleaks 7 writes no ruleId; its message starts with the rule's id (longest id wins).
    matches = [rid for rid in by_id if rid and text.startswith(rid)]
    return by_id[max(matches, key=len)] if matches else {}


def _location(result: dict[str, Any]) -> str | None:
    for loc in iter_dicts(result.get("locations")):
        phys = as_dict(loc.get("physicalLocation"))
        uri = text_of(as_dict(phys.get("artifactLocation")).get("uri"))
        line = as_dict(phys.get("region")).get("startLine")
        if uri:
            return f"{uri}:{line}" if isinstance(line, int) else uri
        for logical in iter_dicts(loc.get("logicalLocations")):
            name = text_of(logical.get("fullyQualifiedName")) or text_of(logical.get("name"))
            if name:
                return name
    return None


def _target(run: dict[str, Any]) -> str | None:
    props = as_dict(run.get("properties"))
    for key in ("imageName", "target", "ArtifactName"):
        if text_of(props.get(key)):
            return text_of(props[key])
    src = as_dict(as_dict(run.get("originalUriBaseIds")).get("SRCROOT"))
    if text_of(src.get("uri")):
        return text_of(src["uri"])
    for inv in iter_dicts(run.get("invocations")):
        wd = text_of(as_dict(inv.get("workingDirectory")).get("uri"))
        if wd:
            return wd
    return None


def _kind(tool: str, rule_id: str | None, tags: list[str]) -> str:
    lowered = {t.lower() for t in tags}
    if any(t in tool.lower() for t in _SECRET_TOOLS) or "secret" in lowered:
        return "secret"
    if "vulnerability" in lowered or (rule_id and _VULN_ID.match(rule_id)):
        return "vulnerability"
    if lowered & {"misconfiguration", "config", "iac"}:
        return "misconfiguration"
    return "code"


def _suppressed(result: dict[str, Any]) -> bool:
    return any(
        (s.get("status") or "accepted") != "rejected"
        for s in iter_dicts(result.get("suppressions"))
    )


def parse_sarif(data: bytes, source_file: str) -> Iterable[tuple[str, list[dict[str, Any]]]]:
    return emit(read_sarif(load_json(data, "SARIF"), source_file))


def read_sarif(doc: Any, source_file: str, first_index: int = 0) -> list[Scan]:
    if not isinstance(doc, dict) or not isinstance(doc.get("runs"), list):
        raise ParseError("SARIF: the log has no 'runs' array")
    version = text_of(doc.get("version")) or ""
    if version.startswith("1."):
        raise ParseError(f"SARIF: version {version} is not supported (2.1.0 logs only)")
    scans = []
    for index, run in enumerate(doc["runs"]):
        if not isinstance(run, dict):
            raise ParseError(f"SARIF: runs[{index}] is not an object")
        driver = as_dict(as_dict(run.get("tool")).get("driver"))
        tool = text_of(driver.get("name")) or "sarif"
        invocation = next(iter_dicts(run.get("invocations")), {})
        scan = Scan(
            source_file,
            "sarif",
            tool,
            text_of(driver.get("version")) or text_of(driver.get("semanticVersion")),
            _target(run),
            parse_time(invocation.get("endTimeUtc") or invocation.get("startTimeUtc")),
            first_index + index,
        )
        rules = _rules(run)
        by_id = {r["id"]: r for r in rules if isinstance(r.get("id"), str)}
        for result in iter_dicts(run.get("results")):
            if result.get("kind") in ("pass", "notApplicable"):
                continue
            rule = _rule_for(result, rules, by_id)
            rule_id = text_of(result.get("ruleId")) or text_of(
                as_dict(result.get("rule")).get("id") or rule.get("id")
            )
            props = {**as_dict(rule.get("properties")), **as_dict(result.get("properties"))}
            tags = [t for t in as_list(props.get("tags")) if isinstance(t, str)]
            label = next((t for t in tags if t.upper() in _SEVERITY_TAGS), None) or props.get(
                "problem.severity"
            )
            level = result.get("level") or as_dict(rule.get("defaultConfiguration")).get("level")
            message = _message(result, rule)
            fields = {
                k: (m.group(1).strip() if (m := rx.search(message or "")) else None)
                for k, rx in _TRIVY_MESSAGE.items()
            }
            short = text_of(as_dict(rule.get("shortDescription")).get("text"))
            scan.add(
                rule_id=rule_id,
                kind=_kind(tool, rule_id, tags),
                title=short or text_of(rule.get("name")) or message,
                description=message,
                security_severity=props.get("security-severity"),
                cvss_score=props.get("cvssv3_baseScore"),
                label=label,
                sarif_level=level or "warning",  # SARIF's default level
                package_name=fields["package"],
                installed_version=fields["installed"],
                fixed_version=fields["fixed"],
                location=_location(result),
                status="suppressed" if _suppressed(result) else "open",
                references=[text_of(rule.get("helpUri"))],
                raw=result,
                commit=props.get("commit"),  # Gitleaks: the same line in every commit it is in
            )
        scans.append(scan)
    return scans
