"""The scale benchmark's short form (`make bench` runs it at 2, 16 and 128 days): one day of a
few spans an hour, its first, no-op and incremental runs, the table and the plot. No timing is
asserted: the machine's load decides those; what the runs did is exact."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import scale

RUNS_PER_HOUR = 5


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("results")
    work = tmp_path_factory.mktemp("work")
    assert (
        scale.main(
            [
                "--days",
                "1",
                "--runs-per-hour",
                str(RUNS_PER_HOUR),
                "--out",
                str(out),
                "--work",
                str(work),
            ]
        )
        == 0
    )
    return {"json": json.loads((out / "scale.json").read_text()), "png": (out / "scale.png")}


def test_each_run_did_what_its_kind_says(report):
    rows = report["json"]["rows"]
    assert [(r["days"], r["run"], r["files"], r["spans"], r["landing"], r["slo_status_days"]) for r in rows] == [
        (1, "first", 24, 360, "landing files: 24 listed, 24 read (24 ingested, 0 rejected), 0 unchanged and not read", "2026-11-05"),
        (1, "no-op", 24, 360, "landing files: 24 listed, 0 read (0 ingested, 0 rejected), 24 unchanged and not read", "none"),
        (1, "incremental", 25, 375, "landing files: 25 listed, 1 read (1 ingested, 0 rejected), 24 unchanged and not read", "2026-11-06"),
    ]  # fmt: skip


def test_the_timings_and_memory_are_sane(report):
    for r in report["json"]["rows"]:
        assert 0 <= r["steps_s"] <= r["work_s"] < r["wall_s"], r
        assert 0 < r["startup_s"] < r["wall_s"], r
        assert 50 < r["peak_rss_mb"] < 8000, r
        assert 0 < r["cpu_s"], r
    # Nothing new: no Dagster run at all (no ingest step, no candidates' refresh); the others
    # ingest, then run the days they touched.
    runs = {r["run"]: (r["dagster_runs"], r["steps_s"] > 0) for r in report["json"]["rows"]}
    assert runs["no-op"] == (0, False)
    assert (runs["first"][0] > 1, runs["incremental"][0] > 1) == (True, True)


def test_the_goals_are_judged_and_the_plot_is_a_png(report):
    goals = report["json"]["goals"]
    assert [g.split(":")[0] for g in goals] == ["no-op at 1 d"]
    assert report["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report["png"].stat().st_size > 5000
