"""config/policies/delivery.yaml: the thresholds of the delivery evaluations, as data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from cicl_assets.learning.failure_modes.merge import MergeSettings

POLICY_FILE = Path("policies") / "delivery.yaml"


@dataclass(frozen=True)
class DeliveryPolicy:
    incident_window: timedelta = timedelta(hours=24)
    incident_merge_gap: timedelta = timedelta(minutes=30)
    default_branches: tuple[str, ...] = ("main", "master")
    flaky_window_runs: int = 20
    infrastructure_failure_share: float = 0.5
    recovery_passes: int = 10
    recovery_days: int = 14
    baseline_days: int = 7
    jump_ratio: float = 3.0
    min_count: int = 5
    failure_max_p: float = 0.01
    failure_attribution: timedelta = timedelta(hours=24)
    merge: MergeSettings = field(default_factory=MergeSettings)


def _section(doc: dict[str, Any], name: str) -> dict[str, Any]:
    value = doc.get(name) or {}
    if not isinstance(value, dict):
        raise ValueError(f"{POLICY_FILE}: '{name}' must be a mapping")
    return value


def load_policy(config_dir: Path) -> DeliveryPolicy:
    """The policy in ``config_dir``; the defaults above where the file or a key is absent."""
    path = config_dir / POLICY_FILE
    doc = yaml.safe_load(path.read_text()) if path.exists() else {}
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    dora, flaky, modes = (_section(doc, s) for s in ("dora", "flaky", "failure_modes"))
    base = DeliveryPolicy()
    merge = modes.get("merge") or {}
    if not isinstance(merge, dict):
        raise ValueError(f"{path}: failure_modes.merge must be a mapping")
    min_cluster_size = int(merge.get("min_cluster_size", base.merge.min_cluster_size))
    if min_cluster_size < 2:
        raise ValueError(f"{path}: failure_modes.merge.min_cluster_size must be at least 2")
    max_distance = float(merge.get("max_distance", base.merge.max_distance))
    if not 0 <= max_distance < 1:
        raise ValueError(f"{path}: failure_modes.merge.max_distance must be in [0, 1)")
    share = float(flaky.get("infrastructure_failure_share", base.infrastructure_failure_share))
    if not 0 < share <= 1:
        raise ValueError(f"{path}: flaky.infrastructure_failure_share must be in (0, 1]")
    return DeliveryPolicy(
        incident_window=timedelta(hours=float(dora.get("incident_window_hours", 24))),
        incident_merge_gap=timedelta(minutes=float(dora.get("incident_merge_gap_minutes", 30))),
        default_branches=tuple(flaky.get("default_branches", base.default_branches)),
        flaky_window_runs=int(flaky.get("window_runs", base.flaky_window_runs)),
        infrastructure_failure_share=share,
        recovery_passes=int(flaky.get("recovery_passes", base.recovery_passes)),
        recovery_days=int(flaky.get("recovery_days", base.recovery_days)),
        baseline_days=int(modes.get("baseline_days", base.baseline_days)),
        jump_ratio=float(modes.get("jump_ratio", base.jump_ratio)),
        min_count=int(modes.get("min_count", base.min_count)),
        failure_max_p=float(modes.get("max_p", base.failure_max_p)),
        failure_attribution=timedelta(hours=float(modes.get("attribution_hours", 24))),
        merge=MergeSettings(
            enabled=bool(merge.get("enabled", base.merge.enabled)),
            min_cluster_size=min_cluster_size,
            max_distance=max_distance,
            max_signatures=int(merge.get("max_signatures", base.merge.max_signatures)),
        ),
    )
