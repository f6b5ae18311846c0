"""SLO specifications: OpenSLO v1 and v1alpha, Sloth (prometheus/v1 and its Kubernetes CRD),
slo-generator v2, and cicl's SliMapping documents.

Pure: YAML text in, ``SloSpec`` objectives and ``SpecReject`` refusals out. Every objective of
every spec is read; one whose indicator reads a source cicl cannot query (a Prometheus query,
a Cloud Monitoring filter) is kept with the reason it is not evaluable, until an SliMapping
points it at spans or external counts. Only files that are not SLO specs, or are malformed,
are refused. See docs/slo-specs.md.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from cicl_assets.slo.foreign_specs import slo_generator_slo, sloth_slos
from cicl_assets.slo.openslo import alert_policy, openslo_objectives
from cicl_assets.slo.sli_mappings import apply_mappings, is_mapping
from cicl_assets.slo.spec_model import (
    SPAN_SOURCE,
    SloSpec,
    SpanFilter,
    SpecError,
    SpecReject,
    SpecSet,
)

KNOWN_OPENSLO_KINDS = (
    "SLO",
    "SLI",
    "AlertPolicy",
    "AlertCondition",
    "Service",
    "AlertNotificationTarget",
    "DataSource",
)

__all__ = [
    "SPAN_SOURCE",
    "SloSpec",
    "SpanFilter",
    "SpecError",
    "SpecReject",
    "SpecSet",
    "detect_document",
    "load_spec_dir",
    "parse_specs",
]


def detect_document(doc: Any) -> str:
    """openslo | slo-generator | slo-generator-config | sloth | sli-mapping | sloth-generated |
    unknown."""
    if not isinstance(doc, dict):
        return "unknown"
    api = str(doc.get("apiVersion", ""))
    if api.startswith("openslo/"):
        return "openslo"
    if is_mapping(doc):
        return "sli-mapping"
    if api.startswith("sloth.slok.dev/") and doc.get("kind") == "PrometheusServiceLevel":
        return "sloth"
    if api.startswith("sre.google.com/") and doc.get("kind") == "ServiceLevelObjective":
        return "slo-generator"
    if "error_budget_policies" in doc or ("backends" in doc and "exporters" in doc):
        return "slo-generator-config"
    if str(doc.get("version", "")).startswith("prometheus/"):
        return "sloth"
    if "groups" in doc and isinstance(doc["groups"], list):
        return "sloth-generated"
    return "unknown"


def load_documents(text: str, source_file: str) -> list[Any]:
    try:
        return [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise SpecError(f"{source_file}: not valid YAML ({exc})") from None


def parse_specs(files: dict[str, str]) -> SpecSet:
    """Parse every SLO document of ``files`` (name -> YAML text) into evaluable SLOs and rejects.

    OpenSLO SLI, AlertPolicy and AlertCondition documents may live in any file of the set;
    a slo-generator shared config (config.yaml with error_budget_policies) serves every
    slo-generator SLO of the set.
    """
    result = SpecSet()
    docs: list[tuple[str, str, dict]] = []
    for source_file, text in sorted(files.items()):
        try:
            loaded = load_documents(text, source_file)
        except SpecError as exc:
            result.rejects.append(SpecReject(source_file, "", str(exc)))
            continue
        for doc in loaded:
            docs.append((source_file, detect_document(doc), doc))

    slis: dict[str, dict] = {}
    conditions: dict[str, dict] = {}
    generator_config: dict[str, Any] | None = None
    for _source_file, kind, doc in docs:
        if kind == "openslo" and doc.get("kind") == "SLI":
            slis[(doc.get("metadata") or {}).get("name", "")] = doc
        elif kind == "openslo" and doc.get("kind") == "AlertCondition":
            conditions[(doc.get("metadata") or {}).get("name", "")] = doc
        elif kind == "slo-generator-config":
            generator_config = doc
    for source_file, kind, doc in docs:
        if kind == "openslo" and doc.get("kind") == "AlertPolicy":
            name = (doc.get("metadata") or {}).get("name", "")
            try:
                result.policies[name] = alert_policy(doc, conditions, f"AlertPolicy {name}")
            except SpecError as exc:
                result.rejects.append(SpecReject(source_file, name, str(exc)))

    objectives: list = []
    mappings: list[tuple[str, dict]] = []
    for source_file, kind, doc in docs:
        name = str(((doc.get("metadata") or {}) if isinstance(doc, dict) else {}).get("name", ""))
        try:
            if kind == "openslo" and doc.get("kind") == "SLO":
                found = openslo_objectives(doc, slis, source_file)
                policy_name = found[0].alert_policy_name
                if policy_name:
                    if policy_name not in result.policies:
                        raise SpecError(
                            f"SLO {name}: alert policy {policy_name!r} is not defined (or was "
                            "rejected)"
                        )
                    found = [replace(o, policy=result.policies[policy_name]) for o in found]
                objectives.extend(found)
            elif kind == "openslo" and doc.get("kind") not in KNOWN_OPENSLO_KINDS:
                raise SpecError(
                    f"{source_file}: OpenSLO kind {doc.get('kind')!r} is not one cicl reads "
                    f"({', '.join(KNOWN_OPENSLO_KINDS)})"
                )
            elif kind == "slo-generator":
                objectives.append(slo_generator_slo(doc, generator_config, source_file))
            elif kind == "sloth":
                objectives.extend(sloth_slos(doc, source_file))
            elif kind == "sli-mapping":
                mappings.append((source_file, doc))
            elif kind == "sloth-generated":
                raise SpecError(
                    f"{source_file}: a Prometheus rules file generated by Sloth, not an SLO spec; "
                    "give the Sloth spec it was generated from"
                )
            elif kind == "unknown":
                raise SpecError(
                    f"{source_file}: not an SLO spec (expected apiVersion openslo/v1, "
                    "openslo/v1alpha, sre.google.com/v2, sloth.slok.dev/v1, cicl.io/v1 "
                    "SliMapping, or version prometheus/v1)"
                )
        except (SpecError, KeyError, TypeError, ValueError) as exc:
            result.rejects.append(SpecReject(source_file, name, str(exc)))

    seen: dict[str, str] = {}
    unique = []
    for objective in objectives:
        if objective.name in seen:
            result.rejects.append(
                SpecReject(
                    objective.source_file,
                    objective.name,
                    f"duplicate SLO name (first in {seen[objective.name]})",
                )
            )
            continue
        seen[objective.name] = objective.source_file
        unique.append(objective)
    result.objectives, mapping_rejects = apply_mappings(unique, mappings)
    result.rejects.extend(mapping_rejects)
    return result


def load_spec_dir(path: Path | str) -> SpecSet:
    """Every *.yaml / *.yml file under ``path`` (file names relative to it)."""
    root = Path(path)
    files = {
        str(p.relative_to(root)): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix in (".yaml", ".yml")
    }
    return parse_specs(files)
