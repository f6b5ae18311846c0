"""SBOMs of a CI run (CycloneDX JSON 1.4-1.7, SPDX 2.2/2.3 JSON) -> `ci_sbom_components`, one row
per component, service or package; CycloneDX's embedded vulnerabilities (VEX) -> `ci_findings`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa

from cicl_assets.ci.findings.model import Scan, emit
from cicl_assets.ci.security_json import as_dict, as_list, dumps, head_shape, iter_dicts, text_of
from cicl_assets.ci.values import pipeline_run_id_from_path
from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.formats import FileFormat
from cicl_assets.ingest.json_documents import load_json
from cicl_assets.ingest.values import parse_time, sha256_digest
from cicl_assets.warehouse.tables import JSON, UTC_TS, TableSpec

MAX_NESTING = 64

CI_SBOM_COMPONENTS = TableSpec(
    name="ci_sbom_components",
    description=(
        "One row per component (library, container, operating system, ...), service or SPDX "
        "package listed in an SBOM produced by a CI run, with the SBOM's subject (the image or "
        "application it describes) repeated on each row."
    ),
    schema=pa.schema(
        [
            ("pipeline_run_id", pa.string()),
            ("sbom_format", pa.string()),
            ("spec_version", pa.string()),
            ("serial_number", pa.string()),
            ("sbom_created_at", UTC_TS),
            ("tool_name", pa.string()),
            ("tool_version", pa.string()),
            ("subject_name", pa.string()),
            ("subject_version", pa.string()),
            ("subject_digest", pa.string()),
            ("component_ref", pa.string()),
            ("parent_ref", pa.string()),
            ("component_type", pa.string()),
            ("name", pa.string()),
            ("component_group", pa.string()),
            ("version", pa.string()),
            ("purl", pa.string()),
            ("cpe", pa.string()),
            ("licenses", JSON),
            ("license_concluded", pa.string()),
            ("license_declared", pa.string()),
            ("supplier", pa.string()),
            ("hashes", JSON),
            ("scope", pa.string()),
            ("source_file", pa.string()),
        ]
    ),
    cluster_by=("pipeline_run_id",),
    json_columns=("licenses", "hashes"),
    column_docs={
        "serial_number": "CycloneDX serialNumber or SPDX documentNamespace",
        "subject_digest": "sha256:<hex> of the image the SBOM describes, where it says",
        "component_ref": "CycloneDX bom-ref or SPDX SPDXID",
        "parent_ref": "the enclosing component (CycloneDX nesting, SPDX CONTAINS)",
        "component_group": "CycloneDX group (Maven groupId, npm scope, ...)",
    },
)

_NOASSERTION = {"NOASSERTION", "NONE", ""}


def _assertion(value: Any) -> str | None:
    text = text_of(value)
    return None if text is None or text.upper() in _NOASSERTION else text


def _split_tool(text: str | None) -> tuple[str | None, str | None]:
    if not text or text.strip("- ") == "":
        return None, None
    match = re.match(r"^(.*?)[-@ ](v?\d[\w.+-]*)$", text)
    return (match.group(1), match.group(2)) if match else (text, None)


# --- CycloneDX ---------------------------------------------------------------------------------


def _cdx_hashes(component: dict[str, Any]) -> dict[str, str]:
    return {
        str(h.get("alg")): str(h.get("content"))
        for h in iter_dicts(component.get("hashes"))
        if h.get("alg") and h.get("content")
    }


def _cdx_licenses(component: dict[str, Any]) -> list[str]:
    out = []
    for entry in iter_dicts(component.get("licenses")):
        if text_of(entry.get("expression")):
            out.append(text_of(entry["expression"]))
            continue
        lic = as_dict(entry.get("license"))
        name = text_of(lic.get("id")) or text_of(lic.get("name"))
        if name:
            out.append(name)
    return list(dict.fromkeys(out))


def _cdx_subject_digest(subject: dict[str, Any]) -> str | None:
    hashes = _cdx_hashes(subject)
    for alg in ("SHA-256", "SHA256", "sha256"):
        if alg in hashes and (digest := sha256_digest(hashes[alg])):
            return digest
    purl = text_of(subject.get("purl")) or ""
    if "@sha256" in purl.replace("%3A", ":").replace("%3a", ":"):
        return sha256_digest(purl.split("@", 1)[1])
    version = text_of(subject.get("version")) or ""
    return sha256_digest(version) if version.startswith("sha256:") else None


def _cdx_tool(metadata: dict[str, Any]) -> tuple[str | None, str | None]:
    tools = metadata.get("tools")
    entries = list(iter_dicts(tools)) if isinstance(tools, list) else []
    if isinstance(tools, dict):
        entries = list(iter_dicts(tools.get("components"))) + list(
            iter_dicts(tools.get("services"))
        )
    for tool in entries:
        if text_of(tool.get("name")):
            return text_of(tool["name"]), text_of(tool.get("version"))
    return None, None


def _walk(
    items: Any, parent: str | None, key: str, depth: int
) -> Iterator[tuple[dict, str | None]]:
    if depth > MAX_NESTING:
        raise ParseError(f"CycloneDX: {key} nested deeper than {MAX_NESTING} levels")
    for item in iter_dicts(items):
        yield item, parent
        yield from _walk(item.get(key), text_of(item.get("bom-ref")), key, depth + 1)


def _cdx_row(item: dict[str, Any], parent: str | None, kind: str | None) -> dict[str, Any]:
    supplier = as_dict(item.get("supplier")) or as_dict(item.get("provider"))
    return {
        "component_ref": text_of(item.get("bom-ref")),
        "parent_ref": parent,
        "component_type": kind or text_of(item.get("type")),
        "name": text_of(item.get("name")),
        "component_group": text_of(item.get("group")),
        "version": text_of(item.get("version")),
        "purl": text_of(item.get("purl")),
        "cpe": text_of(item.get("cpe")),
        "licenses": dumps(_cdx_licenses(item)),
        "supplier": text_of(supplier.get("name")) or text_of(item.get("publisher")),
        "hashes": dumps(_cdx_hashes(item)),
        "scope": text_of(item.get("scope")),
    }


def _vex_status(vuln: dict[str, Any]) -> str:
    state = text_of(as_dict(vuln.get("analysis")).get("state")) or ""
    closed = {"not_affected", "false_positive", "resolved", "resolved_with_pedigree"}
    return "suppressed" if state in closed else "open"


def _vex_rating(vuln: dict[str, Any]) -> tuple[float | None, str | None]:
    ratings = list(iter_dicts(vuln.get("ratings")))
    for r in ratings:
        method = str(r.get("method") or "")
        if method.upper().startswith("CVSS") and method not in ("CVSSv2",):
            if isinstance(r.get("score"), int | float):
                return float(r["score"]), text_of(r.get("severity"))
    label = next((text_of(r.get("severity")) for r in ratings if r.get("severity")), None)
    return None, label


def parse_cyclonedx(data: bytes, source_file: str) -> Iterable[tuple[str, list[dict[str, Any]]]]:
    bom = load_json(data, "CycloneDX")
    if not isinstance(bom, dict) or bom.get("bomFormat") != "CycloneDX":
        raise ParseError("CycloneDX: the document has no bomFormat 'CycloneDX'")
    metadata = as_dict(bom.get("metadata"))
    subject = as_dict(metadata.get("component"))
    tool_name, tool_version = _cdx_tool(metadata)
    common = {
        "pipeline_run_id": pipeline_run_id_from_path(source_file),
        "sbom_format": "cyclonedx",
        "spec_version": text_of(bom.get("specVersion")),
        "serial_number": text_of(bom.get("serialNumber")),
        "sbom_created_at": parse_time(metadata.get("timestamp")),
        "tool_name": tool_name,
        "tool_version": tool_version,
        "subject_name": text_of(subject.get("name")),
        "subject_version": text_of(subject.get("version")),
        "subject_digest": _cdx_subject_digest(subject),
    }
    rows = [
        common | _cdx_row(c, parent, None)
        for c, parent in _walk(bom.get("components"), None, "components", 0)
    ]
    rows += [
        common | _cdx_row(s, parent, "service")
        for s, parent in _walk(bom.get("services"), None, "services", 0)
    ]
    out: list[tuple[str, list[dict[str, Any]]]] = [(CI_SBOM_COMPONENTS.name, rows)]
    if isinstance(bom.get("vulnerabilities"), list):
        out += emit([_vex_scan(bom, rows, common, source_file)])
    return out


def _vex_scan(
    bom: dict[str, Any], rows: list[dict[str, Any]], common: dict[str, Any], source_file: str
) -> Scan:
    by_ref = {r["component_ref"]: r for r in rows if r["component_ref"]}
    target = common["subject_name"] or common["serial_number"]
    if common["subject_name"] and common["subject_digest"]:
        target = f"{common['subject_name']}@{common['subject_digest']}"
    scan = Scan(
        source_file,
        "cyclonedx-vex",
        "cyclonedx-vex",
        common["tool_version"],
        target,
        common["sbom_created_at"],
    )
    for vuln in iter_dicts(bom["vulnerabilities"]):
        score, label = _vex_rating(vuln)
        refs = [text_of(a.get("ref")) for a in iter_dicts(vuln.get("affects"))] or [None]
        for ref in refs:
            comp = by_ref.get(ref, {})
            purl = comp.get("purl") or ""
            scan.add(
                rule_id=vuln.get("id"),
                kind="vulnerability",
                title=vuln.get("id"),
                description=vuln.get("description") or vuln.get("detail"),
                cvss=score,
                label=label,
                package_name=comp.get("name") or ref,
                package_type=purl[4:].split("/", 1)[0] if purl.startswith("pkg:") else None,
                installed_version=comp.get("version"),
                location=ref,
                status=_vex_status(vuln),
                aliases=[text_of(r.get("id")) for r in iter_dicts(vuln.get("references"))],
                references=[text_of(as_dict(vuln.get("source")).get("url"))],
                raw={
                    "id": vuln.get("id"),
                    "analysis": vuln.get("analysis"),
                    "affects": vuln.get("affects"),
                },
            )
    return scan


# --- SPDX --------------------------------------------------------------------------------------


def _spdx_party(value: Any) -> str | None:
    text = _assertion(value)
    if not text:
        return None
    text = re.sub(r"^(Organization|Person|Tool):\s*", "", text)
    return re.sub(r"\s*\([^)]*@[^)]*\)\s*$", "", text).strip() or None


def _spdx_ref(package: dict[str, Any], *types: str) -> str | None:
    for ref in iter_dicts(package.get("externalRefs")):
        if ref.get("referenceType") in types:
            return text_of(ref.get("referenceLocator"))
    return None


def _spdx_subject_digest(package: dict[str, Any]) -> str | None:
    version = text_of(package.get("versionInfo")) or ""
    if version.startswith("sha256:") and (digest := sha256_digest(version)):
        return digest
    purl = _spdx_ref(package, "purl") or ""
    if "@sha256" in purl.replace("%3A", ":").replace("%3a", ":"):
        return sha256_digest(purl.split("@", 1)[1])
    purpose = text_of(package.get("primaryPackagePurpose")) or ""
    if purpose.upper() == "CONTAINER" or purl.startswith("pkg:oci/"):
        for checksum in iter_dicts(package.get("checksums")):
            if str(checksum.get("algorithm")).upper() == "SHA256":
                return sha256_digest(checksum.get("checksumValue"))
    return None


def parse_spdx(data: bytes, source_file: str) -> Iterable[tuple[str, list[dict[str, Any]]]]:
    doc = load_json(data, "SPDX")
    if not isinstance(doc, dict) or not text_of(doc.get("spdxVersion")):
        raise ParseError("SPDX: the document has no spdxVersion")
    packages = [p for p in iter_dicts(doc.get("packages"))]
    by_id = {p.get("SPDXID"): p for p in packages}
    relationships = list(iter_dicts(doc.get("relationships")))
    doc_id = doc.get("SPDXID") or "SPDXRef-DOCUMENT"
    described = [d for d in as_list(doc.get("documentDescribes")) if isinstance(d, str)]
    described += [
        r.get("relatedSpdxElement")
        for r in relationships
        if r.get("relationshipType") == "DESCRIBES" and r.get("spdxElementId") == doc_id
    ]
    described += [
        r.get("spdxElementId")
        for r in relationships
        if r.get("relationshipType") == "DESCRIBED_BY" and r.get("relatedSpdxElement") == doc_id
    ]
    subject = next((by_id[d] for d in described if d in by_id), {})
    parent: dict[str, str] = {}
    for r in relationships:
        kind = r.get("relationshipType")
        if kind == "CONTAINS" and r.get("relatedSpdxElement") in by_id:
            parent.setdefault(r["relatedSpdxElement"], r.get("spdxElementId"))
        elif kind == "CONTAINED_BY" and r.get("spdxElementId") in by_id:
            parent.setdefault(r["spdxElementId"], r.get("relatedSpdxElement"))
    creation = as_dict(doc.get("creationInfo"))
    tool = next(
        (c[5:].strip() for c in as_list(creation.get("creators")) if str(c).startswith("Tool:")),
        None,
    )
    tool_name, tool_version = _split_tool(tool)
    common = {
        "pipeline_run_id": pipeline_run_id_from_path(source_file),
        "sbom_format": "spdx",
        "spec_version": str(doc["spdxVersion"]).removeprefix("SPDX-"),
        "serial_number": text_of(doc.get("documentNamespace")),
        "sbom_created_at": parse_time(creation.get("created")),
        "tool_name": tool_name,
        "tool_version": tool_version,
        "subject_name": text_of(subject.get("name")) or text_of(doc.get("name")),
        "subject_version": text_of(subject.get("versionInfo")),
        "subject_digest": _spdx_subject_digest(subject) if subject else None,
    }
    rows = []
    for p in packages:
        concluded = _assertion(p.get("licenseConcluded"))
        declared = _assertion(p.get("licenseDeclared"))
        purpose = text_of(p.get("primaryPackagePurpose"))
        rows.append(
            common
            | {
                "component_ref": text_of(p.get("SPDXID")),
                "parent_ref": parent.get(p.get("SPDXID")),
                "component_type": purpose.lower().replace("_", "-") if purpose else None,
                "name": text_of(p.get("name")),
                "version": text_of(p.get("versionInfo")),
                "purl": _spdx_ref(p, "purl"),
                "cpe": _spdx_ref(p, "cpe23Type", "cpe22Type"),
                "licenses": dumps(list(dict.fromkeys(x for x in (concluded, declared) if x))),
                "license_concluded": concluded,
                "license_declared": declared,
                "supplier": _spdx_party(p.get("supplier")) or _spdx_party(p.get("originator")),
                "hashes": dumps(
                    {
                        str(c.get("algorithm")): str(c.get("checksumValue"))
                        for c in iter_dicts(p.get("checksums"))
                    }
                ),
            }
        )
    return [(CI_SBOM_COMPONENTS.name, rows)]


# --- recognition -------------------------------------------------------------------------------


def _sbom_format_of(sniff: Sniff) -> str | None:
    shape = head_shape(sniff)
    if shape.container != "object":
        return None
    if shape.value_has("bomFormat", "CycloneDX"):
        return "cyclonedx-json"
    if shape.has("spdxVersion"):
        return "spdx-json"
    return None


def detect_cyclonedx(sniff: Sniff) -> bool:
    return _sbom_format_of(sniff) == "cyclonedx-json"


def detect_spdx(sniff: Sniff) -> bool:
    return _sbom_format_of(sniff) == "spdx-json"


FORMATS: tuple[FileFormat, ...] = (
    FileFormat("cyclonedx-json", detect_cyclonedx, parse_cyclonedx),
    FileFormat("spdx-json", detect_spdx, parse_spdx),
)
TABLES = (CI_SBOM_COMPONENTS,)
