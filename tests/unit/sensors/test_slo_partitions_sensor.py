"""The days a `cicl.py run` refreshes are those its own ingest named: materializations of the
data-day sources (otel_spans, slo_reports) stored after the newest one of either before it."""

import dagster as dg
import pytest

from sensors.slo_partitions import latest_day_source_id, touched_days


def landed(instance, asset: str, days: str) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset, metadata={"data_days": days})
    )


# One ingest run materializes both sources; the order they are stored in is the steps' order.
FIRST_RUN = {
    "spans then reports": [("otel_spans", "2026-11-05"), ("slo_reports", "2026-11-02")],
    "reports then spans": [("slo_reports", "2026-11-02"), ("otel_spans", "2026-11-05")],
}


@pytest.mark.parametrize(
    ("first_run", "second_run", "expected"),
    [
        # Nothing new landed: no day, whichever source was stored last the run before.
        ("spans then reports", [("otel_spans", ""), ("slo_reports", "")], []),
        ("reports then spans", [("slo_reports", ""), ("otel_spans", "")], []),
        # A late slo/ file for an old day: that day only.
        ("spans then reports", [("otel_spans", ""), ("slo_reports", "2026-10-30")], ["10-30"]),
        # A new hour of spans and late external counts.
        (
            "spans then reports",
            [("otel_spans", "2026-11-05,2026-11-06"), ("slo_reports", "2026-11-01")],
            ["11-01", "11-05", "11-06"],
        ),
    ],
)
def test_a_run_touches_only_the_days_its_own_ingest_named(first_run, second_run, expected):
    with dg.instance_for_test() as instance:
        assert latest_day_source_id(instance) is None
        for asset, days in FIRST_RUN[first_run]:
            landed(instance, asset, days)
        before = latest_day_source_id(instance)
        for asset, days in second_run:
            landed(instance, asset, days)
        touched, newest = touched_days(instance, before)
        assert [d.isoformat()[5:] for d in touched] == expected
        assert newest == latest_day_source_id(instance)
