"""What an in-toto statement says: statement and predicate types, subject digests, and the
builder, source and invocation of SLSA provenance v0.1 (Cloud Build), v0.2 and v1."""

from __future__ import annotations

import re
from typing import Any

from cicl_assets.ci.security_json import as_dict, iter_dicts, text_of
from cicl_assets.ingest.values import parse_time, sha256_digest

INTOTO_PAYLOAD = "application/vnd.in-toto+json"
COSIGN_VULN = "https://cosign.sigstore.dev/attestation/vuln/v1"


def statement_type(value: Any) -> str | None:
    text = text_of(value) or ""
    match = re.search(r"in-toto\.io/Statement/(v[\d.]+)", text)
    return f"in-toto {match.group(1)}" if match else text or None


def subject_digest(digests: Any) -> str | None:
    digests = as_dict(digests)
    if digests.get("sha256"):
        return sha256_digest(digests["sha256"]) or f"sha256:{digests['sha256']}"
    for alg, value in digests.items():
        if isinstance(value, str) and value:
            return f"{alg}:{value}"
    return None


def _git_uri(uri: Any) -> tuple[str | None, str | None]:
    """``git+https://github.com/o/r@refs/heads/main`` -> (https://github.com/o/r, refs/...)."""
    text = text_of(uri)
    if not text:
        return None, None
    text = text.removeprefix("git+")
    if "@" in text and not text.startswith("git@"):
        repo, _, ref = text.rpartition("@")
        return repo, ref or None
    return text, None


def _commit(digests: Any) -> str | None:
    digests = as_dict(digests)
    return text_of(digests.get("sha1")) or text_of(digests.get("gitCommit"))


def provenance_fields(predicate_type: str | None, predicate: dict[str, Any]) -> dict[str, Any]:
    """Builder, build type, source and invocation from SLSA v0.1, v0.2 or v1 provenance."""
    out: dict[str, Any] = {}
    if "buildDefinition" in predicate or "runDetails" in predicate:
        definition = as_dict(predicate.get("buildDefinition"))
        run = as_dict(predicate.get("runDetails"))
        meta = as_dict(run.get("metadata"))
        params = as_dict(definition.get("externalParameters"))
        workflow = as_dict(params.get("workflow"))
        source = as_dict(params.get("source"))
        deps = list(iter_dicts(definition.get("resolvedDependencies")))
        repo, ref = _git_uri(source.get("uri"))
        if workflow:
            repo = text_of(workflow.get("repository")) or repo
            ref = text_of(workflow.get("ref")) or ref
        first_dep = deps[0] if deps else {}
        dep_repo, dep_ref = _git_uri(first_dep.get("uri"))
        path = text_of(workflow.get("path")) or text_of(params.get("configPath"))
        ref = ref or dep_ref
        out = {
            "builder_id": text_of(as_dict(run.get("builder")).get("id")),
            "build_type": text_of(definition.get("buildType")),
            "source_repo": repo or dep_repo,
            "source_commit": _commit(source.get("digest")) or _commit(first_dep.get("digest")),
            "invocation_ref": f"{path}@{ref}" if path and ref else path or ref,
            "build_started_at": parse_time(meta.get("startedOn")),
            "build_finished_at": parse_time(meta.get("finishedOn")),
        }
    elif "builder" in predicate:
        invocation = as_dict(predicate.get("invocation"))
        config = as_dict(invocation.get("configSource"))
        recipe = as_dict(predicate.get("recipe"))
        materials = list(iter_dicts(predicate.get("materials")))
        meta = as_dict(predicate.get("metadata"))
        repo, ref = _git_uri(config.get("uri"))
        mat_repo, mat_ref = _git_uri(materials[0].get("uri")) if materials else (None, None)
        entry = text_of(config.get("entryPoint")) or text_of(recipe.get("entryPoint"))
        ref = ref or mat_ref
        out = {
            "builder_id": text_of(as_dict(predicate.get("builder")).get("id")),
            "build_type": text_of(predicate.get("buildType")) or text_of(recipe.get("type")),
            "source_repo": repo or mat_repo,
            "source_commit": _commit(config.get("digest"))
            or (_commit(materials[0].get("digest")) if materials else None),
            "invocation_ref": f"{entry}@{ref}" if entry and ref else entry or ref,
            "build_started_at": parse_time(meta.get("buildStartedOn")),
            "build_finished_at": parse_time(meta.get("buildFinishedOn")),
        }
    elif predicate_type == COSIGN_VULN:
        scanner = as_dict(predicate.get("scanner"))
        out = {"builder_id": text_of(scanner.get("uri"))}
    return out


def predicate_of(statement: dict[str, Any]) -> dict[str, Any]:
    for key in ("predicate", "slsaProvenance", "slsaProvenanceZeroTwo"):
        if isinstance(statement.get(key), dict):
            return statement[key]
    return {}
