"""Who may decide which kinds of improvement candidate: ``config/reviewers.yaml``.

The file names the reviewers (each with the kinds they may decide and the authenticated
identities that are theirs), how many distinct approvals a kind needs (default 1), and the
documentation-only kinds the policy approves by itself. It is data a person edits: every
mistake is reported with the file and the entry, and nothing loads half a policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cicl_assets.candidates.table import KINDS

REVIEWERS_FILE = "reviewers.yaml"
ANY_KIND = "*"
# Kinds whose candidates change documentation only: the only ones the policy may approve.
DOCUMENTATION_KINDS = ("runbook",)
POLICY_REVIEWER = "policy:auto_approve"


class ReviewPolicyError(ValueError):
    """reviewers.yaml cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Reviewer:
    name: str
    kinds: frozenset[str]
    identities: frozenset[str]

    def may_decide(self, kind: str) -> bool:
        return ANY_KIND in self.kinds or kind in self.kinds

    def kinds_text(self) -> str:
        return "every kind" if ANY_KIND in self.kinds else ", ".join(sorted(self.kinds))


@dataclass(frozen=True)
class ReviewPolicy:
    reviewers: tuple[Reviewer, ...]
    approvals: Mapping[str, int]
    default_approvals: int
    auto_approve: frozenset[str]
    origin: str

    def approvals_needed(self, kind: str) -> int:
        return self.approvals.get(kind, self.default_approvals)

    def reviewer(self, name: str) -> Reviewer | None:
        """The reviewer a typed name means (case and surrounding blanks do not matter)."""
        wanted = name.strip().casefold()
        return next((r for r in self.reviewers if r.name.casefold() == wanted), None)

    def who_may_decide(self, kind: str) -> list[str]:
        return [r.name for r in self.reviewers if r.may_decide(kind)]

    def approves_by_itself(self, candidate: Mapping[str, Any]) -> bool:
        """Whether the policy approves ``candidate`` with no reviewer: its kind is listed under
        auto_approve and it does not change production behaviour."""
        return candidate["kind"] in self.auto_approve and not candidate["affects_production"]


def _names(value: Any, where: str, allowed: tuple[str, ...] | None) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ReviewPolicyError(f"{where} is a list of names")
    names = frozenset(v.strip() for v in value)
    unknown = sorted(names - set(allowed)) if allowed is not None else []
    if unknown:
        raise ReviewPolicyError(
            f"{where}: {', '.join(unknown)} is not one of {', '.join(allowed or ())}"
        )
    return names


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ReviewPolicyError(f"{where} is a whole number of approvals, at least 1")
    return value


def parse_review_policy(doc: Any, origin: str) -> ReviewPolicy:
    if not isinstance(doc, dict):
        raise ReviewPolicyError(f"{origin}: expected a mapping with reviewers and approvals")
    unknown = sorted(set(doc) - {"reviewers", "approvals", "auto_approve"})
    if unknown:
        raise ReviewPolicyError(f"{origin}: unknown keys {unknown}")
    approvals_doc = doc.get("approvals") or {}
    if not isinstance(approvals_doc, dict):
        raise ReviewPolicyError(f"{origin}: approvals maps a kind (or default) to a number")
    default = _count(approvals_doc.get("default", 1), f"{origin}: approvals.default")
    approvals = {}
    for kind, value in approvals_doc.items():
        if kind == "default":
            continue
        if kind not in KINDS:
            raise ReviewPolicyError(
                f"{origin}: approvals.{kind}: not a candidate kind ({', '.join(KINDS)})"
            )
        approvals[kind] = _count(value, f"{origin}: approvals.{kind}")
    auto = _names(doc.get("auto_approve") or [], f"{origin}: auto_approve", DOCUMENTATION_KINDS)
    reviewers: list[Reviewer] = []
    for i, entry in enumerate(doc.get("reviewers") or []):
        where = f"{origin}: reviewers[{i}]"
        if not isinstance(entry, dict) or not str(entry.get("name") or "").strip():
            raise ReviewPolicyError(f"{where} needs a name")
        name = str(entry["name"]).strip()
        if name.casefold().startswith("policy:"):
            raise ReviewPolicyError(f"{where}: names starting with 'policy:' are the policy's")
        if any(r.name.casefold() == name.casefold() for r in reviewers):
            raise ReviewPolicyError(f"{where}: {name} is listed twice")
        reviewers.append(
            Reviewer(
                name=name,
                kinds=_names(entry.get("kinds"), f"{where}.kinds", (*KINDS, ANY_KIND)),
                identities=_names(entry.get("identities") or [], f"{where}.identities", None),
            )
        )
    return ReviewPolicy(tuple(reviewers), approvals, default, auto, origin)


def load_review_policy(config_dir: Path) -> ReviewPolicy:
    """The review policy in ``config_dir``/reviewers.yaml; without the file nobody may decide."""
    path = Path(config_dir) / REVIEWERS_FILE
    if not path.is_file():
        return ReviewPolicy((), {}, 1, frozenset(), str(path))
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ReviewPolicyError(f"{path}: cannot be read ({exc})") from exc
    return parse_review_policy(doc, str(path))
