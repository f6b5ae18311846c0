"""The reviewer's walk-through (README) as a reviewer types it, on the demo's stories: list the
candidates with `cicl.py candidates`, approve the routing change (two reviewers) and the
support-reply template (one) with `cicl.py review`, ship them with `cicl.py release` on the
demo's data clock, land what the platform sends after deploying the release with
`python -m demo.after_release` (what `make after-release` runs), ingest it with `cicl.py run`,
then `cicl.py outcomes`: the template improved, the routing change had no effect on the slow
model's own latency.

The stories the candidates come from are written as rows (tests/review_home.py): ingesting the
days of demo traffic that make them is a `make demo`'s work, not a test's. Their last span,
where the demo's traffic ends, is landed as a file and ingested, so the data clock (which finds
its day in ``ingested_files``) dates the release there whatever the hour the test runs.

On the BigQuery emulator only the outcome step runs again, on the tables it reads copied from
this walk-through's warehouse: a second whole walk-through would measure nothing new."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cicl_assets.candidates.table import IMPROVEMENT_CANDIDATES
from cicl_assets.deployments.tables import DEPLOYMENTS
from cicl_assets.feedback.table import USER_FEEDBACK
from cicl_assets.learning.findings import CL_FINDINGS
from cicl_assets.release.tables import IMPROVEMENT_RELEASES
from cicl_assets.signer import Ed25519Signer, trust_entry
from cicl_assets.telemetry.logs_table import EVAL_SCORES
from cicl_assets.telemetry.spans_table import OTEL_SPANS
from cicl_assets.warehouse.base import Warehouse
from demo import story
from tests.cicl_runs import CICL, cicl_run, environment
from tests.review_home import review_home
from tests.signing_keys import SINCE, write_trust
from tests.unit.release.spans_file import land_and_ingest, spans_request

ROUTING, SUPPORT = "routing/model_groups.yaml", "workflows/support-reply.yaml"
# The stories' newest span: the data clock dates the release here.
LAST_SPAN_AT = story.TRAFFIC_END - timedelta(seconds=3)
# The stories' last span, landed as production's arrive and ingested before the walk-through.
LAST_FILE = "2026/11/05/23-flow-gateway.pb"
# What the outcome step reads; of the time-series tables, the days around the release only.
OUTCOME_INPUTS = (IMPROVEMENT_RELEASES, IMPROVEMENT_CANDIDATES, CL_FINDINGS, DEPLOYMENTS,
                  OTEL_SPANS, EVAL_SCORES, USER_FEEDBACK)  # fmt: skip
AROUND = timedelta(days=2)
# What `python -m demo.after_release` lands for this release: its traffic files (and the
# deployment record), 24 h each side of the deployment.
AFTER_FILES, AFTER_SPANS = 286, 12470


@pytest.fixture(scope="module")
def walk(tmp_path_factory):
    root = tmp_path_factory.mktemp("walk")
    home = review_home(root)
    last = spans_request(
        "flow-gateway", story.ENVIRONMENT, "POST /v1/workflows/invoice-triage/runs", [LAST_SPAN_AT]
    )
    landed = land_and_ingest(home.warehouse, Path(home.env["CICL_LANDING_URI"]), LAST_FILE, last)
    assert landed.files_ingested == 1
    signer = Ed25519Signer.generate()
    trust = write_trust(root / "trust.yaml", trust_entry(signer.public_key(), SINCE))
    env = {**home.env, "CICL_SIGNING_KEY": signer.private_key_pem(), "CICL_TRUST_FILE": str(trust),
           "CICL_RELEASE_CLOCK": "data"}  # fmt: skip

    def cicl(*args: str):
        return cicl_run(env, [sys.executable, str(CICL), *args])

    steps = {"candidates": cicl("candidates")}
    # "<id>  <kind>  <file>  approvals 0/2", as the reviewer reads it
    listed = [line.split() for line in steps["candidates"].stdout.splitlines()[1::2]]
    ids = {
        f: cid for cid, kind, f, *_ in listed if kind in ("provider_routing", "workflow_template")
    }
    why = "anthropic is 2.5x slower since 1.8.0"
    steps["routing_dana"] = cicl("review", ids[ROUTING][:12], "--approve", "--reviewer", "dana",
                                 "--justification", why)  # fmt: skip
    steps["routing_lee"] = cicl("review", ids[ROUTING][:12], "--approve", "--reviewer", "lee",
                                "--justification", why)  # fmt: skip
    steps["support_dana"] = cicl("review", ids[SUPPORT][:12], "--approve", "--reviewer", "dana",
                                 "--justification", "relevance fell from 0.86 to 0.52")  # fmt: skip
    steps["release"] = cicl("release")
    steps["not_deployed"] = cicl("outcomes")
    [release] = home.warehouse.query("SELECT * FROM improvement_releases").to_pylist()
    steps["after_release"] = cicl_run(env, [sys.executable, "-m", "demo.after_release",
        "--landing", env["CICL_LANDING_URI"], "--outbox", env["CICL_OUTBOX_URI"],
        "--release", release["manifest_id"]])  # fmt: skip
    steps["run"] = cicl("run")
    steps["outcomes"] = cicl("outcomes")
    steps["again"] = cicl("release")
    return dict(home=home, env=env, ids=ids, steps=steps, release=release)


def test_the_reviewer_lists_what_waits_for_a_decision(walk):
    listed, ids = walk["steps"]["candidates"], walk["ids"]
    assert listed.returncode == 0, listed.stderr[-3000:]
    lines = listed.stdout.splitlines()
    assert f"{ids[ROUTING]}  provider_routing  {ROUTING}  approvals 0/2" in lines
    assert f"{ids[SUPPORT]}  workflow_template {SUPPORT}  approvals 0/1" in lines


def test_the_reviewers_approve_from_the_command_line(walk):
    steps, ids = walk["steps"], walk["ids"]
    for name in ("routing_dana", "routing_lee", "support_dana"):
        assert steps[name].returncode == 0, steps[name].stderr[-3000:]
    assert "it is now open, approvals 1/2 (dana)" in steps["routing_dana"].stdout
    assert f"lee approved candidate {ids[ROUTING]}" in steps["routing_lee"].stdout
    assert "it is now approved, approvals 2/2" in steps["routing_lee"].stdout
    assert "it is now approved, approvals 1/1" in steps["support_dana"].stdout


def test_release_prints_the_branch_the_manifest_and_the_check(walk):
    done, r = walk["steps"]["release"], walk["release"]
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == [
        f"release {r['release_id']}: 2 candidates on branch cicl/release-{r['release_id']} "
        f"({r['release_commit']}, base {r['base_commit']})",
        f"manifest: {r['manifest_path']} (manifest id {r['release_id']})",
        "check release_diff_is_approved passed: every release changes only what was approved",
    ]
    again = walk["steps"]["again"]
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.splitlines() == [
        "nothing released: no approved candidate awaits release",
        "check release_diff_is_approved passed: every release changes only what was approved",
    ]


def test_the_release_is_dated_on_the_data_clock_whatever_the_hour(walk):
    assert walk["release"]["released_at"] == datetime(2026, 11, 5, 23, 59, 57, tzinfo=UTC)


def test_after_release_lands_the_deployment_and_a_full_day_each_side(walk):
    done, r = walk["steps"]["after_release"], walk["release"]
    assert done.returncode == 0, done.stderr[-3000:]
    rid, dep = r["release_id"], f"dep-prod-release-{r['release_id'][:12]}"
    assert done.stdout.splitlines() == [
        f"deployments/production/{dep}.json: {dep} of release {rid} to production, "
        f"finished 2026-11-06T00:07:57Z (release_manifest {rid})",
        f"{walk['home'].env['CICL_LANDING_URI']}: {AFTER_SPANS} spans in {AFTER_FILES} files "
        f"under otel/release-{rid}/ and feedback/release-{rid}/, 24 h before the deployment "
        f"(base {r['base_commit'][:12]}) and 24 h after (release {r['release_commit'][:12]})",
    ]
    run = walk["steps"]["run"]
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.splitlines()[0] == (
        f"landing files: {AFTER_FILES + 2} listed, {AFTER_FILES + 1} read ({AFTER_FILES + 1} "
        "ingested, 0 rejected), 1 unchanged and not read"
    )


def test_outcomes_wait_for_the_deployment_then_show_one_improved_and_one_no_effect(walk):
    waiting = walk["steps"]["not_deployed"]
    assert waiting.returncode == 0, waiting.stderr[-3000:]
    assert waiting.stdout.splitlines() == [
        "outcomes measured: 0 (0 improved, 0 no_effect, 0 worse, 0 not_measured); "
        "releases not yet in production: 1"
    ]
    done, ids = walk["steps"]["outcomes"], walk["ids"]
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == [
        "outcomes measured: 2 (1 improved, 1 no_effect, 0 worse, 0 not_measured); "
        "releases not yet in production: 0",
        f"{ids[ROUTING][:12]}  no_effect    {ROUTING}",
        f"    The provider_routing change to {ROUTING} had no effect the detectors can tell: "
        "p50 latency 5.5 s -> 5.5 s, 433 samples before and 362 after the deployment.",
        f"{ids[SUPPORT][:12]}  improved     {SUPPORT}",
        f"    The workflow_template change to {SUPPORT} improved: median relevance score "
        "0.52 -> 0.87 (p=5e-49), 150 samples before and 145 after the deployment.",
    ]


def copy_outcome_inputs(duck: Warehouse, bq: Warehouse, release: dict) -> dict[str, int]:
    """What the outcome step reads, from the walk-through's warehouse into ``bq``: the release,
    its candidates and their findings, the deployments, and the days of traffic around the
    release only (time-series tables are read by day)."""
    since, until = release["released_at"] - AROUND, release["released_at"] + AROUND
    copied = {}
    for spec in OUTCOME_INPUTS:
        held = duck.table_schema(spec.name)
        columns = ", ".join(n for n in spec.schema.names if n in held.names)
        where, params = "", {}
        if spec.time_column:
            where = f" WHERE {spec.time_column} >= @since AND {spec.time_column} < @until"
            params = {"since": since, "until": until}
        rows = duck.query(f"SELECT {columns} FROM {spec.name}{where}", params)
        bq.ensure_table(spec)
        copied[spec.name] = bq.append(spec, spec.conform(rows))
    return copied


@pytest.mark.bigquery
def test_bigquery_measures_the_same_outcomes(walk, bigquery_warehouse, tmp_path):
    """`cicl.py outcomes` on the BigQuery emulator, from the tables the outcome step reads
    (loaded from the walk-through's warehouse, not a second demo): the same lines."""
    copied = copy_outcome_inputs(walk["home"].warehouse, bigquery_warehouse, walk["release"])
    assert copied["improvement_releases"] == 1
    assert copied["otel_spans"] == AFTER_SPANS + 1
    env = environment(
        tmp_path / "home",
        {
            "CICL_WAREHOUSE": "bigquery",
            "CICL_BQ_PROJECT": bigquery_warehouse.project,
            "CICL_BQ_DATASET": bigquery_warehouse.dataset,
            "CICL_BQ_LOCATION": bigquery_warehouse.location,
            "CICL_REDACTION_KEY": "a redaction key for the emulator's tables only",
            **{k: walk["env"][k] for k in ("CICL_PLATFORM_REPO", "CICL_SIGNING_KEY", "CICL_TRUST_FILE")},
        },
    )  # fmt: skip
    done = cicl_run(env, [sys.executable, str(CICL), "outcomes"])
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines()[0] == (
        "outcomes measured: 2 (1 improved, 1 no_effect, 0 worse, 0 not_measured); "
        "releases not yet in production: 0"
    )
    assert done.stdout.splitlines() == walk["steps"]["outcomes"].stdout.splitlines()
