"""regression_partitions_sensor: the days new spans land on whose regressions were not
evaluated since, one run per range; nothing when nothing new landed."""

import json

import dagster as dg

from sensors.regression_partitions import regression_partitions_sensor

START = "dagster/asset_partition_range_start"
END = "dagster/asset_partition_range_end"


def spans_landed(instance, days: str) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization("otel_spans", metadata={"data_days": days})
    )


def evaluated(instance, *days: str) -> None:
    for day in days:
        instance.report_runless_asset_event(
            dg.AssetMaterialization("cl_regressions", partition=day)
        )


def tick(instance, cursor=None) -> tuple[list[tuple[str, str, str]], str | None]:
    result = regression_partitions_sensor(dg.build_sensor_context(instance=instance, cursor=cursor))
    requests = [
        (r.run_key.rsplit(":", 1)[0], r.tags[START], r.tags[END]) for r in result.run_requests
    ]
    return requests, result.cursor


def test_new_days_launch_one_run_per_range_then_nothing():
    with dg.instance_for_test() as instance:
        assert tick(instance)[0] == []
        spans_landed(instance, "2026-11-02,2026-11-03,2026-11-05")
        requests, cursor = tick(instance)
        assert requests == [
            ("regression-days:2026-11-02:2026-11-03", "2026-11-02", "2026-11-03"),
            ("regression-days:2026-11-05:2026-11-05", "2026-11-05", "2026-11-05"),
        ]
        assert json.loads(cursor)["after_storage_id"] is not None
        # Nothing new since the cursor: nothing launched.
        assert tick(instance, cursor)[0] == []
        # Late data for the 3rd.
        spans_landed(instance, "2026-11-03")
        assert tick(instance, cursor)[0] == [
            ("regression-days:2026-11-03:2026-11-03", "2026-11-03", "2026-11-03")
        ]


def test_days_evaluated_after_their_spans_landed_are_not_launched_again():
    with dg.instance_for_test() as instance:
        spans_landed(instance, "2026-11-02,2026-11-03")
        # `make run` evaluated the 2nd in process after ingesting; a fresh daemon starts.
        evaluated(instance, "2026-11-02")
        assert tick(instance)[0] == [
            ("regression-days:2026-11-03:2026-11-03", "2026-11-03", "2026-11-03")
        ]
        evaluated(instance, "2026-11-03")
        assert tick(instance)[0] == []
