"""The regression detectors' thresholds, read from config/learning/regressions.yaml."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

CONFIG_FILE = Path("learning") / "regressions.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateThresholds(_Strict):
    min_ratio: float = Field(2.0, ge=1.0)
    min_increase: float = Field(0.02, ge=0.0)
    min_events: int = Field(5, ge=1)


class DriftThresholds(_Strict):
    max_p_value: float = Field(0.001, gt=0, le=1)
    window: int = Field(50, ge=4)
    min_segment_hours: int = Field(3, ge=1)
    min_magnitude: float = Field(0.15, ge=0)
    min_samples_per_hour: int = Field(5, ge=1)
    attribution_hours: float = Field(12.0, ge=0)


class BurstThresholds(_Strict):
    baseline_hours: int = Field(24, ge=1)
    max_p_value: float = Field(1e-6, gt=0, le=1)


class Thresholds(_Strict):
    before_hours: float = Field(24.0, gt=0)
    after_hours: float = Field(24.0, gt=0)
    max_p_value: float = Field(1e-4, gt=0, le=1)
    min_samples: int = Field(20, ge=2)
    min_ratio: float = Field(1.15, ge=1.0)
    min_score_drop: float = Field(0.1, ge=0.0)
    recovery_hours: int = Field(3, ge=1)
    rates: RateThresholds = RateThresholds()
    drift: DriftThresholds = DriftThresholds()
    burst: BurstThresholds = BurstThresholds()

    @property
    def history_hours(self) -> float:
        """How far before a partition's day its run reads: a deploy's windows on both sides."""
        return self.before_hours + self.after_hours


def load_thresholds(config_dir: Path) -> Thresholds:
    """The thresholds in ``config_dir``; the defaults when the file is absent."""
    path = config_dir / CONFIG_FILE
    if not path.exists():
        return Thresholds()
    document = yaml.safe_load(path.read_text()) or {}
    try:
        return Thresholds.model_validate(document)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
