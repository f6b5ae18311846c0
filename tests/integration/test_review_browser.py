"""A reviewer in a real browser: headless Chromium (Debian's, through Playwright) drives the real
webserver. Open a candidate's partition, read its page, open the launchpad, enter the config,
materialize; the decision row and its audit event follow. A refused decision shows its reason
on the run's page. A screenshot of the page is saved under the test's tmp dir on failure."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.browser import launch
from tests.cicl_runs import REPO
from tests.review_home import ReviewHome, review_home
from tests.webserver import webserver

RUN_TIMEOUT_S = 90
# Runs start as soon as they are launched, without the daemon's queue.
RUN_NOW = """run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, ReviewHome]]:
    home = review_home(tmp_path_factory.mktemp("review_ui"))
    with (home.home / "dagster.yaml").open("a") as config:
        config.write(RUN_NOW)
    with webserver(home.env, home.home / "webserver.log") as url:
        yield url, home


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = launch(p)
        yield launched
        launched.close()


@contextmanager
def page_of(browser, tmp_path: Path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    try:
        yield page
    except BaseException:
        page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
        raise
    finally:
        page.close()


def decide_in_launchpad(page, url: str, candidate_id: str, reviewer: str, decision: str, why: str):
    page.goto(f"{url}/assets/candidate_review?view=partitions&partition={candidate_id}")
    page.get_by_text("Materialize…").first.click()
    page.get_by_text("Launchpad (configure assets)").wait_for()
    partition = page.get_by_placeholder("Partition")
    partition.click()
    partition.fill(candidate_id)
    page.keyboard.press("Enter")
    page.get_by_text(f"partition: {candidate_id}").wait_for()
    page.locator(".CodeMirror").first.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(
        "ops:\n  candidate_review:\n    config:\n"
        f"      decision: {decision}\n      reviewer: {reviewer}\n      justification: {why}\n"
    )
    page.get_by_text("No errors").wait_for()
    page.get_by_role("button", name="Materialize").last.click()


def finished_run(home: ReviewHome, candidate_id: str, after: int):
    """The run of ``candidate_id`` launched after ``after`` runs existed, once it finished."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    with home.instance() as instance:
        while time.monotonic() < deadline:
            runs = [
                r for r in instance.get_runs()
                if r.tags.get("dagster/partition") == candidate_id
            ][: max(0, len(instance.get_runs()) - after)]  # fmt: skip
            if runs and runs[0].is_finished:
                return runs[0]
            time.sleep(1)
    pytest.fail(f"no finished run of {candidate_id} within {RUN_TIMEOUT_S}s")


def run_count(home: ReviewHome) -> int:
    with home.instance() as instance:
        return len(instance.get_runs())


@pytest.mark.ui
def test_a_reviewer_reads_a_candidate_and_approves_it_in_the_launchpad(served, browser, tmp_path):
    url, home = served
    workflow = home.candidates["workflow_template"]
    target = home.warehouse.query(
        "SELECT target_file FROM improvement_candidates WHERE candidate_id = @id", {"id": workflow}
    ).to_pylist()[0]["target_file"]
    with page_of(browser, tmp_path) as page:
        # The candidate's page: its partition's observation in the asset's events.
        page.goto(f"{url}/assets/candidate_review?view=events")
        page.get_by_text(workflow).first.click()
        page.get_by_text(f"Partition {workflow} observed").wait_for()
        page.get_by_text("[Show Markdown]").first.click()
        page.get_by_text(f"diff --git a/{target} b/{target}").wait_for()
        assert page.locator("img[src^='data:image/png;base64,']").count() >= 1
        page.keyboard.press("Escape")
        before = run_count(home)
        decide_in_launchpad(
            page, url, workflow, "dana", "approve", "timeouts fit the slower provider"
        )
        run = finished_run(home, workflow, before)
    assert run.status.value == "SUCCESS"
    [row] = home.warehouse.query(
        "SELECT reviewer, decision, justification, candidate_status_after, run_id, "
        "authenticated_identity, audit_event_hash FROM candidate_decisions WHERE candidate_id = @id",
        {"id": workflow},
    ).to_pylist()
    assert row == {
        "reviewer": "dana",
        "decision": "approve",
        "justification": "timeouts fit the slower provider",
        "candidate_status_after": "approved",
        "run_id": run.run_id,
        "authenticated_identity": None,
        "audit_event_hash": row["audit_event_hash"],
    }
    [event] = home.warehouse.query(
        "SELECT action, actor, hash FROM audit_events WHERE resource = @r",
        {"r": f"improvement_candidates/{workflow}"},
    ).to_pylist()
    assert (event["action"], event["actor"], event["hash"]) == (
        "candidate_approve",
        "dana",
        row["audit_event_hash"],
    )


@pytest.mark.ui
def test_a_refused_decision_shows_its_reason_on_the_run_page(served, browser, tmp_path):
    url, home = served
    routing = home.candidates["provider_routing"]
    reason = (
        "Decision refused, nothing recorded: sam may not decide provider_routing candidates "
        f"({REPO / 'config' / 'reviewers.yaml'} lets them decide runbook, test_quarantine): ask "
        "one of dana, lee"
    )
    with page_of(browser, tmp_path) as page:
        before = run_count(home)
        decide_in_launchpad(page, url, routing, "sam", "approve", "looks fine")
        run = finished_run(home, routing, before)
        assert run.status.value == "FAILURE"
        page.goto(f"{url}/runs/{run.run_id}")
        page.get_by_text(reason).first.wait_for()
    recorded = home.warehouse.query(
        "SELECT count(*) AS n FROM candidate_decisions WHERE candidate_id = @id", {"id": routing}
    ).to_pylist()
    assert recorded == [{"n": 0}]
