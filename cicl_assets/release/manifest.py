"""The release manifest (an in-toto statement about the release commit, in a DSSE envelope
signed with cicl's key) and the release commit's message: both list each candidate, the
decisions that approved it and the evidence it rests on."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from typing import Any

from cicl_assets.compliance.bundles import canonical, envelope, statement
from cicl_assets.signer import Signer

MANIFEST_PREDICATE = "https://cicl.dev/release-manifest/v1"
FOLDER = "releases"
OUTBOX_BRANCH = "cicl-releases"


def manifest_name(release_id: str) -> str:
    return f"{FOLDER}/{release_id}.intoto.json"


def diff_digest(diff: str) -> str:
    return "sha256:" + hashlib.sha256(diff.encode()).hexdigest()


def _time(at: datetime | None) -> str | None:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ") if at is not None else None


def _decision(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "decision_id": d["decision_id"],
        "decision": d["decision"],
        "decided_by": d["decided_by"],
        "reviewer": d["reviewer"],
        "justification": d["justification"],
        "authenticated_identity": d.get("authenticated_identity"),
        "decided_at": _time(d["decided_at"]),
        "audit_event_hash": d.get("audit_event_hash"),
    }


def manifest_statement(
    release: dict[str, Any],
    candidates: list[dict[str, Any]],
    decisions: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    """The statement: its subject is the release branch at the release commit."""
    return statement(
        f"gitCommit:{release['release_commit']}",
        release["branch"],
        MANIFEST_PREDICATE,
        {
            "release_id": release["release_id"],
            "platform_repo": release["platform_repo"],
            "branch": release["branch"],
            "base_commit": release["base_commit"],
            "release_commit": release["release_commit"],
            "released_at": _time(release["released_at"]),
            "candidates": [
                {
                    "candidate_id": c["candidate_id"],
                    "kind": c["kind"],
                    "target_file": c["target_file"],
                    "title": c["title"],
                    "diff_digest": diff_digest(c["diff"]),
                    "base_commit": c["base_commit"],
                    "base_blob": c["base_blob"],
                    "finding_ids": json.loads(c["finding_ids"] or "[]"),
                    "expected_impact": json.loads(c["expected_impact"] or "{}"),
                    "approved_at": _time(c["status_changed_at"]),
                    "decisions": [_decision(d) for d in decisions.get(c["candidate_id"], [])],
                }
                for c in candidates
            ],
            "skipped": json.loads(release["skipped"] or "{}"),
        },
    )


def signed_manifest(doc: dict[str, Any], signer: Signer) -> bytes:
    return canonical(envelope(doc, signer)) + b"\n"


def read_manifest(data: bytes) -> dict[str, Any]:
    """The statement inside a manifest envelope (its signature is checked by the reader who
    trusts the key, not here)."""
    return json.loads(base64.b64decode(json.loads(data)["payload"]))


def commit_message(
    release_id: str,
    candidates: list[dict[str, Any]],
    decisions: dict[str, list[dict[str, Any]]],
) -> str:
    """One paragraph per candidate: what it changes, who approved it and why, its evidence."""
    count = f"{len(candidates)} approved change{'s' if len(candidates) != 1 else ''}"
    parts = [f"cicl release {release_id}: {count}", ""]
    for c in candidates:
        parts.append(f"* {c['title']}")
        parts.append(f"  candidate {c['candidate_id']} ({c['kind']}, {c['target_file']})")
        for d in decisions.get(c["candidate_id"], []):
            parts.append(
                f"  decision: {d['decision']} by {d['reviewer']} ({d['decided_by']}) at "
                f"{_time(d['decided_at'])}: {d['justification']}"
            )
        findings = json.loads(c["finding_ids"] or "[]")
        parts.append(
            "  evidence: improvement_candidates/"
            + c["candidate_id"]
            + (f"; cl_findings {', '.join(findings)}" if findings else "")
        )
        parts.append(f"  why: {c['rationale']}")
        parts.append("")
    parts.append(f"Release manifest: {manifest_name(release_id)} (manifest id {release_id})")
    return "\n".join(parts) + "\n"
