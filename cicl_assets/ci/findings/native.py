"""Image, dependency and infrastructure scanners' own JSON reports: Trivy (SchemaVersion 2),
Grype, pip-audit (old and new), osv-scanner and checkov, each read into `Scan`s."""

from __future__ import annotations

from typing import Any

from cicl_assets.ci.findings.cvss import cvss3_base_score
from cicl_assets.ci.findings.model import Scan
from cicl_assets.ci.security_json import as_dict, as_list, iter_dicts, text_of
from cicl_assets.ingest.content import ParseError
from cicl_assets.ingest.values import parse_time


def line_location(path: Any, line: Any) -> str | None:
    path = text_of(path)
    if not path:
        return None
    return f"{path}:{line}" if isinstance(line, int) and not isinstance(line, bool) else path


# --- Trivy -------------------------------------------------------------------------------------


def _trivy_cvss(vuln: dict[str, Any]) -> float | None:
    cvss = as_dict(vuln.get("CVSS"))
    order = [vuln.get("SeveritySource"), "nvd", *cvss.keys()]
    for source in order:
        entry = as_dict(cvss.get(source)) if isinstance(source, str) else {}
        for key in ("V40Score", "V3Score"):
            if isinstance(entry.get(key), int | float) and entry[key] > 0:
                return float(entry[key])
    return None


def _trivy_vulnerability(
    scan: Scan, v: dict[str, Any], target: str | None, pkg_type: str | None, status: str
) -> None:
    layer = as_dict(v.get("Layer"))
    scan.add(
        rule_id=v.get("VulnerabilityID"),
        kind="vulnerability",
        title=v.get("Title"),
        description=v.get("Description"),
        cvss=_trivy_cvss(v),
        label=v.get("Severity"),
        package_name=v.get("PkgName"),
        package_type=pkg_type,
        installed_version=v.get("InstalledVersion"),
        fixed_version=v.get("FixedVersion"),
        location=text_of(layer.get("DiffID"))
        or text_of(layer.get("Digest"))
        or text_of(v.get("PkgPath"))
        or target,
        status=status,
        aliases=[a for a in as_list(v.get("VendorIDs")) if isinstance(a, str)],
        references=[text_of(v.get("PrimaryURL")), *as_list(v.get("References"))],
        raw={k: v.get(k) for k in ("VulnerabilityID", "PkgID", "Status", "Severity")},
    )


def _trivy_misconfiguration(
    scan: Scan, m: dict[str, Any], target: str | None, pkg_type: str | None, status: str | None
) -> None:
    result = text_of(m.get("Status")) or "FAIL"
    if result == "PASS":
        return
    cause = as_dict(m.get("CauseMetadata"))
    scan.add(
        rule_id=m.get("AVDID") or m.get("ID"),
        kind="misconfiguration",
        title=m.get("Title"),
        description=" ".join(
            t for t in (text_of(m.get("Message")), text_of(m.get("Description"))) if t
        ),
        label=m.get("Severity"),
        package_type=pkg_type,
        location=line_location(target, cause.get("StartLine")),
        status=status or ("suppressed" if result == "EXCEPTION" else "open"),
        references=[text_of(m.get("PrimaryURL")), *as_list(m.get("References"))],
        raw={k: m.get(k) for k in ("ID", "AVDID", "Type", "Status", "Resolution", "Severity")}
        | {"Resource": cause.get("Resource")},
    )


def _trivy_secret(scan: Scan, secret: dict[str, Any], target: str | None, status: str) -> None:
    scan.add(
        rule_id=secret.get("RuleID"),
        kind="secret",
        title=secret.get("Title"),
        description=secret.get("Category"),
        label=secret.get("Severity"),
        location=line_location(target, secret.get("StartLine")),
        status=status,
        raw=secret,
    )


def read_trivy(doc: Any, source_file: str, index: int = 0) -> list[Scan]:
    if not isinstance(doc, dict):
        raise ParseError("Trivy JSON: the report is not an object")
    schema = doc.get("SchemaVersion")
    if schema != 2:
        raise ParseError(f"Trivy JSON: SchemaVersion {schema!r} is not supported (2 only)")
    scan = Scan(
        source_file,
        "trivy-json",
        "trivy",
        text_of(as_dict(doc.get("Trivy")).get("Version")),
        text_of(doc.get("ArtifactName")),
        parse_time(doc.get("CreatedAt")),
        index,
    )
    for result in iter_dicts(doc.get("Results")):
        target = text_of(result.get("Target"))
        pkg_type = text_of(result.get("Type"))
        for v in iter_dicts(result.get("Vulnerabilities")):
            _trivy_vulnerability(scan, v, target, pkg_type, "open")
        for m in iter_dicts(result.get("Misconfigurations")):
            _trivy_misconfiguration(scan, m, target, pkg_type, None)
        for secret in iter_dicts(result.get("Secrets")):
            _trivy_secret(scan, secret, target, "open")
        # --show-suppressed: findings a .trivyignore or VEX statement set aside
        for modified in iter_dicts(result.get("ModifiedFindings")):
            finding = as_dict(modified.get("Finding"))
            kind = text_of(modified.get("Type")) or ""
            if kind == "vulnerability":
                _trivy_vulnerability(scan, finding, target, pkg_type, "suppressed")
            elif kind.startswith("misconfig"):
                _trivy_misconfiguration(scan, finding, target, pkg_type, "suppressed")
            elif kind == "secret":
                _trivy_secret(scan, finding, target, "suppressed")
    return [scan]


# --- Grype -------------------------------------------------------------------------------------


def _grype_cvss(vuln: dict[str, Any]) -> float | None:
    for entry in iter_dicts(vuln.get("cvss")):
        version = str(entry.get("version") or "")
        score = as_dict(entry.get("metrics")).get("baseScore")
        if version.startswith(("3", "4")) and isinstance(score, int | float):
            return float(score)
    return None


def _grype_target(source: dict[str, Any]) -> str | None:
    target = source.get("target")
    if isinstance(target, dict):
        name = text_of(target.get("userInput"))
        digest = text_of(target.get("manifestDigest"))
        return f"{name}@{digest}" if name and digest else name or digest
    return text_of(target)


def read_grype(doc: Any, source_file: str, index: int = 0) -> list[Scan]:
    if not isinstance(doc, dict) or not isinstance(doc.get("matches"), list):
        raise ParseError("Grype JSON: no 'matches' array")
    descriptor = as_dict(doc.get("descriptor"))
    version = text_of(descriptor.get("version"))
    scan = Scan(
        source_file,
        "grype-json",
        "grype",
        None if version == "[not provided]" else version,
        _grype_target(as_dict(doc.get("source"))),
        parse_time(descriptor.get("timestamp")),
        index,
    )
    matches = [(m, "open") for m in iter_dicts(doc["matches"])]
    matches += [(m, "suppressed") for m in iter_dicts(doc.get("ignoredMatches"))]
    for match, status in matches:
        vuln = as_dict(match.get("vulnerability"))
        art = as_dict(match.get("artifact"))
        related = list(iter_dicts(match.get("relatedVulnerabilities")))
        loc = next(iter_dicts(art.get("locations")), {})
        fix = as_dict(vuln.get("fix"))
        scan.add(
            rule_id=vuln.get("id"),
            kind="vulnerability",
            title=vuln.get("id"),
            description=vuln.get("description")
            or next((r.get("description") for r in related if r.get("description")), None),
            cvss=_grype_cvss(vuln) or next(filter(None, map(_grype_cvss, related)), None),
            label=vuln.get("severity"),
            package_name=art.get("name"),
            package_type=art.get("type"),
            installed_version=art.get("version"),
            fixed_version=", ".join(str(v) for v in as_list(fix.get("versions"))) or None,
            location=text_of(loc.get("path")),
            status=status,
            aliases=[text_of(r.get("id")) for r in related],
            references=[u for u in as_list(vuln.get("urls")) if isinstance(u, str)],
            raw={"vulnerability": vuln.get("id"), "fix": fix, "artifact": art.get("id")},
        )
    return [scan]


# --- pip-audit ---------------------------------------------------------------------------------


def read_pip_audit(doc: Any, source_file: str, index: int = 0) -> list[Scan]:
    if isinstance(doc, dict):
        deps = doc.get("dependencies")
        if not isinstance(deps, list):
            raise ParseError("pip-audit JSON: no 'dependencies' array")
    elif isinstance(doc, list):
        deps = doc  # the format before pip-audit 2: a bare list of dependencies
    else:
        raise ParseError("pip-audit JSON: neither a list nor an object with 'dependencies'")
    scan = Scan(source_file, "pip-audit-json", "pip-audit", None, None, None, index)
    for dep in iter_dicts(deps):
        for v in iter_dicts(dep.get("vulns")):
            scan.add(
                rule_id=v.get("id"),
                kind="vulnerability",
                title=v.get("id"),
                description=v.get("description"),
                package_name=dep.get("name"),
                package_type="pypi",
                installed_version=dep.get("version"),
                fixed_version=", ".join(str(f) for f in as_list(v.get("fix_versions"))) or None,
                aliases=[a for a in as_list(v.get("aliases")) if isinstance(a, str)],
                raw={"id": v.get("id"), "fix_versions": v.get("fix_versions")},
            )
    return [scan]


# --- osv-scanner -------------------------------------------------------------------------------


def _osv_fixed(vuln: dict[str, Any], name: str | None) -> str | None:
    fixed = []
    for affected in iter_dicts(vuln.get("affected")):
        if name and as_dict(affected.get("package")).get("name") not in (None, name):
            continue
        for rng in iter_dicts(affected.get("ranges")):
            fixed += [str(e["fixed"]) for e in iter_dicts(rng.get("events")) if e.get("fixed")]
    return ", ".join(dict.fromkeys(fixed)) or None


def _osv_score(vuln: dict[str, Any], groups: list[dict[str, Any]]) -> float | None:
    vid = vuln.get("id")
    for group in groups:
        if vid in as_list(group.get("ids")) or vid in as_list(group.get("aliases")):
            try:
                return float(group["max_severity"])
            except (KeyError, TypeError, ValueError):
                pass
    for sev in iter_dicts(vuln.get("severity")):
        score = cvss3_base_score(str(sev.get("score") or ""))
        if score is not None:
            return score
    return None


def read_osv_scanner(doc: Any, source_file: str, index: int = 0) -> list[Scan]:
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise ParseError("osv-scanner JSON: no 'results' array")
    scan = Scan(source_file, "osv-scanner-json", "osv-scanner", None, None, None, index)
    for result in iter_dicts(doc["results"]):
        path = text_of(as_dict(result.get("source")).get("path"))
        for pkg_entry in iter_dicts(result.get("packages")):
            pkg = as_dict(pkg_entry.get("package"))
            groups = list(iter_dicts(pkg_entry.get("groups")))
            for v in iter_dicts(pkg_entry.get("vulnerabilities")):
                scan.add(
                    rule_id=v.get("id"),
                    kind="vulnerability",
                    title=v.get("summary") or v.get("id"),
                    description=v.get("details"),
                    cvss=_osv_score(v, groups),
                    label=as_dict(v.get("database_specific")).get("severity"),
                    package_name=pkg.get("name"),
                    package_type=pkg.get("ecosystem"),
                    installed_version=pkg.get("version"),
                    fixed_version=_osv_fixed(v, text_of(pkg.get("name"))),
                    location=path,
                    target=path,
                    aliases=[a for a in as_list(v.get("aliases")) if isinstance(a, str)],
                    references=[text_of(r.get("url")) for r in iter_dicts(v.get("references"))],
                    raw={k: v.get(k) for k in ("id", "aliases", "modified", "published")},
                )
    return [scan]


# --- checkov -----------------------------------------------------------------------------------


def read_checkov(doc: Any, source_file: str, index: int = 0) -> list[Scan]:
    reports = doc if isinstance(doc, list) else [doc]
    scans = []
    for offset, report in enumerate(reports):
        if not isinstance(report, dict):
            raise ParseError(f"checkov JSON: report {offset} is not an object")
        summary = as_dict(report.get("summary")) or report
        scan = Scan(
            source_file,
            "checkov-json",
            "checkov",
            text_of(summary.get("checkov_version")),
            text_of(report.get("check_type")),
            None,
            index + offset,
        )
        results = as_dict(report.get("results"))
        checks = [(c, "open") for c in iter_dicts(results.get("failed_checks"))]
        checks += [(c, "suppressed") for c in iter_dicts(results.get("skipped_checks"))]
        for check, status in checks:
            lines = as_list(check.get("file_line_range"))
            loc = line_location(check.get("file_path"), lines[0] if lines else None)
            resource = text_of(check.get("resource"))
            scan.add(
                rule_id=check.get("check_id"),
                kind="misconfiguration",
                title=check.get("check_name"),
                description=check.get("check_name"),
                label=check.get("severity"),
                location=f"{loc} [{resource}]" if loc and resource else loc or resource,
                status=status,
                references=[text_of(check.get("guideline"))],
                raw={
                    k: check.get(k)
                    for k in ("check_id", "check_class", "resource", "check_result", "severity")
                },
            )
        scans.append(scan)
    return scans
