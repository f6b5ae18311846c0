"""The Dagster webserver serves the code location: start it on a free port, read the asset graph
through GraphQL and compare it with the Definitions loaded in-process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import requests

import definitions
from cicl_assets.instance import open_instance
from tests.browser import CHROMIUM_ARGS, chromium_path
from tests.webserver import webserver as serve

ROOT = Path(__file__).resolve().parents[2]

ASSET_GRAPH_QUERY = """
{
  assetNodes {
    assetKey { path }
    groupName
    description
    kinds
    owners { ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
  }
  repositoriesOrError {
    ... on RepositoryConnection { nodes { name jobs { name } sensors { name } } }
  }
}
"""


BACKFILL = ("2026-11-02", "2026-11-03")
PARTITIONS_QUERY = """
{
  assetNodes(assetKeys: [{path: ["slo_minute_counts"]}, {path: ["slo_status"]}]) {
    assetKey { path }
    partitionDefinition { type }
    assetPartitionStatuses {
      ... on TimePartitionStatuses { ranges { status startKey endKey } }
    }
  }
  runsOrError(filter: {tags: [{key: "dagster/asset_partition_range_start", value: "@FIRST@"}]}) {
    ... on Runs { results { jobName status tags { key value } } }
  }
  repositoriesOrError { ... on RepositoryConnection { nodes { name } } }
}
""".replace("@FIRST@", BACKFILL[0])


def _instance_config(home: Path) -> None:
    """The instance `make ui` starts the webserver on: the config its Makefile rule writes, and
    the storage it creates first (without it, the backfill started beside the webserver below
    races it to create the same tables)."""
    subprocess.run(
        ["make", "-s", f"DAGSTER_HOME={home}", f"{home}/dagster.yaml"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=60,
    )
    open_instance(str(home)).dispose()


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    home = tmp_path_factory.mktemp("dagster_home")  # fresh: no one has seen the dialog here
    _instance_config(home)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "CICL_DUCKDB_PATH": str(home / "warehouse.duckdb"),
        "CICL_LANDING_URI": str(home / "landing"),
    }
    # A backfill from the command line, beside the server's start-up: its runs and the
    # partitions they materialised are what the UI must show.
    backfill = subprocess.Popen(
        [sys.executable, "scripts/cicl.py", "backfill", "--from", BACKFILL[0], "--to", BACKFILL[1]],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    with serve(env, home / "webserver.log") as url:
        out, _ = backfill.communicate(timeout=300)
        assert backfill.returncode == 0, out[-3000:]
        yield url


def _graphql(url: str, query: str) -> dict:
    deadline = time.monotonic() + 120
    while True:  # the code location loads in the background after the server answers
        body = requests.post(f"{url}/graphql", json={"query": query}, timeout=30).json()
        assert "errors" not in body, body
        repos = body["data"]["repositoriesOrError"].get("nodes")
        if repos or time.monotonic() > deadline:
            return body["data"]
        time.sleep(1)


@pytest.mark.ui
def test_ui_serves_every_asset_with_group_description_and_owner(webserver):
    data = _graphql(webserver, ASSET_GRAPH_QUERY)
    served = {"/".join(n["assetKey"]["path"]): n for n in data["assetNodes"]}
    expected = {
        key.to_user_string() for key in definitions.defs.resolve_asset_graph().get_all_asset_keys()
    }
    assert set(served) == expected
    assert {"otel_spans", "ci_test_cases", "infra_plan_changes", "deployments"} <= set(served)
    assert {"audit_events", "slo_status", "slo_breach_report"} <= set(served)
    for key, node in served.items():
        assert node["groupName"] and node["groupName"] != "default", key
        assert node["description"], f"{key} has no description"
        assert node["owners"], f"{key} has no owner"
        assert node["kinds"], f"{key} has no kinds"
    repo = data["repositoriesOrError"]["nodes"][0]
    assert "landing_batch" in {j["name"] for j in repo["jobs"]}
    assert "landing_arrivals_sensor" in {s["name"] for s in repo["sensors"]}


@pytest.mark.ui
def test_ui_shows_the_day_partitions_and_a_command_line_backfill(webserver):
    """The daily partitions of the SLO assets, the days `cicl.py backfill --from --to`
    materialised, and its runs: one per job for the whole range."""
    data = _graphql(webserver, PARTITIONS_QUERY)
    for node in data["assetNodes"]:
        key = node["assetKey"]["path"][0]
        assert node["partitionDefinition"]["type"] == "TIME_WINDOW", key
        ranges = node["assetPartitionStatuses"]["ranges"]
        assert ranges == [
            {"status": "MATERIALIZED", "startKey": BACKFILL[0], "endKey": BACKFILL[1]}
        ], key
    assert len(data["assetNodes"]) == 2
    runs = data["runsOrError"]["results"]
    jobs = sorted(r["jobName"] for r in runs)
    assert {"slo_counts_by_day", "slo_status_by_day"} <= set(jobs)
    assert len(jobs) == len(set(jobs))  # one run per job for the range
    for run in runs:
        tags = {t["key"]: t["value"] for t in run["tags"]}
        assert (run["status"], tags["dagster/asset_partition_range_end"]) == (
            "SUCCESS",
            BACKFILL[1],
        ), run["jobName"]


def _rendered_dom(url: str, tmp_path: Path) -> str:
    """The page as a real headless browser renders it, after the UI's scripts ran."""
    result = subprocess.run(
        [
            chromium_path(),
            "--headless",
            *CHROMIUM_ARGS,
            f"--user-data-dir={tmp_path / 'chromium'}",
            "--virtual-time-budget=20000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.ui
def test_a_browser_renders_an_asset_page_with_its_grain(webserver, tmp_path):
    _graphql(webserver, ASSET_GRAPH_QUERY)  # wait until the code location is loaded
    dom = _rendered_dom(f"{webserver}/assets/otel_spans", tmp_path)
    graph = definitions.defs.resolve_asset_graph()
    grain = graph.get(dg.AssetKey("otel_spans")).description.splitlines()[0]
    assert grain.startswith("One row per")
    assert grain in dom
    assert "telemetry" in dom


COMMUNITY_DIALOG = ("Join the Dagster community", "Notify me about Dagster security updates")


@pytest.mark.ui
def test_a_fresh_instance_shows_no_community_dialog(webserver, tmp_path):
    data = _graphql(webserver, "{ shouldShowNux " + ASSET_GRAPH_QUERY.strip()[1:])
    assert data["shouldShowNux"] is False
    # The dialog opens a second after the page loads, over every page, when the instance lets it.
    dom = _rendered_dom(f"{webserver}/assets/otel_spans", tmp_path)
    assert "telemetry" in dom
    assert [text for text in COMMUNITY_DIALOG if text in dom] == []
