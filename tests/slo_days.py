"""Materialize the day-partitioned SLO assets over a range of days, as one run per job would."""

from __future__ import annotations

from datetime import date

import dagster as dg

from cicl_assets.partitions import range_tags
from cicl_assets.slo.assets import slo_minute_counts, slo_status


def materialize_days(resources: dict, first: date, last: date) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [slo_minute_counts, slo_status], resources=resources, tags=range_tags(first, last)
    )
