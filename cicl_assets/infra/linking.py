"""Point each plan at the plan-readable.txt that sits beside it in the landing zone."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

from cicl_assets.warehouse.base import Warehouse

_STRIP = re.compile(r"(\.json|\.txt|\.gz)+$|[-_.]?(plan[-_.]?)?readable|[-_.]?plan|[-_.]?tfplan")


def _stem(path: str) -> str:
    return _STRIP.sub("", path.rsplit("/", 1)[-1].lower())


def match_readable(plan_files: Sequence[str], artifact_paths: Sequence[str]) -> dict[str, str]:
    """plan file -> readable artifact in the same folder.

    The folder's only artifact when there is one; otherwise the one whose name, less the
    plan/readable words and extensions, equals the plan's (plan-2026-11-03.json and
    plan-2026-11-03-readable.txt).
    """
    by_folder: dict[str, list[str]] = defaultdict(list)
    for a in artifact_paths:
        by_folder[a.rsplit("/", 1)[0] if "/" in a else ""].append(a)
    plans_by_folder: dict[str, list[str]] = defaultdict(list)
    for p in plan_files:
        plans_by_folder[p.rsplit("/", 1)[0] if "/" in p else ""].append(p)
    links = {}
    for folder, plans in plans_by_folder.items():
        candidates = by_folder.get(folder, [])
        for plan in plans:
            same = [a for a in candidates if _stem(a) == _stem(plan)]
            if len(same) == 1:
                links[plan] = same[0]
            elif len(candidates) == 1 and len(plans) == 1:
                links[plan] = candidates[0]
    return links


def link_readable_artifacts(warehouse: Warehouse) -> int:
    """Fill infra_plans.readable_artifact_path where it is missing; returns plans linked."""
    plans = (
        warehouse.query(
            "SELECT DISTINCT plan_file FROM infra_plans WHERE readable_artifact_path IS NULL"
        )
        .column("plan_file")
        .to_pylist()
    )
    if not plans:
        return 0
    artifacts = warehouse.query("SELECT DISTINCT artifact_path FROM infra_plan_artifacts")
    links = match_readable(plans, artifacts.column("artifact_path").to_pylist())
    for plan, artifact in links.items():
        warehouse.execute(
            "UPDATE infra_plans SET readable_artifact_path = @artifact WHERE plan_file = @plan",
            {"artifact": artifact, "plan": plan},
        )
    return len(links)
