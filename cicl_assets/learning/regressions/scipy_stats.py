"""``scipy.stats``, imported on first use: its import costs every cicl process seconds, and most
runs (a sensor tick, an ingest-only run) never test a distribution."""

from __future__ import annotations

from functools import cache
from types import ModuleType


@cache
def stats() -> ModuleType:
    from scipy import stats as module

    return module
