"""The reviewer's walk-through (README) as a reviewer types it, on the demo's stories: list the
candidates with `cicl.py candidates`, approve the routing change (two reviewers) and the
support-reply template (one) with `cicl.py review`, ship them with `cicl.py release`, deploy the
release with its manifest id and let traffic flow, then `cicl.py outcomes`: the template
improved, the routing change had no effect on the slow model's own latency.

The stories the candidates come from, the deployment and the traffic after it are written as
rows (tests/review_home.py, traffic.py): ingesting the days of demo traffic that make them, and
what `make after-release` lands (tests/unit/demo/test_after_release.py checks its files), is a
`make demo`'s work, not a test's."""

from __future__ import annotations

import sys
from datetime import timedelta

import pytest

from cicl_assets.signer import Ed25519Signer, trust_entry
from tests.cicl_runs import CICL, cicl_run
from tests.integration.release.traffic import write_deployment, write_traffic
from tests.review_home import review_home
from tests.signing_keys import SINCE, write_trust

ROUTING, SUPPORT = "routing/model_groups.yaml", "workflows/support-reply.yaml"


@pytest.fixture(scope="module")
def walk(tmp_path_factory):
    root = tmp_path_factory.mktemp("walk")
    home = review_home(root)
    signer = Ed25519Signer.generate()
    trust = write_trust(root / "trust.yaml", trust_entry(signer.public_key(), SINCE))
    env = {**home.env, "CICL_SIGNING_KEY": signer.private_key_pem(), "CICL_TRUST_FILE": str(trust)}

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
    deployed = release["released_at"] + timedelta(minutes=5)
    write_deployment(home.warehouse, "dep-prod-walk", deployed, None, release["manifest_id"])
    write_traffic(home.warehouse, deployed, relevance=(0.52, 0.86))
    steps["outcomes"] = cicl("outcomes")
    steps["again"] = cicl("release")
    return dict(home=home, ids=ids, steps=steps, release=release)


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


def test_outcomes_wait_for_the_deployment_then_show_one_improved_and_one_no_effect(walk):
    waiting = walk["steps"]["not_deployed"]
    assert waiting.returncode == 0, waiting.stderr[-3000:]
    assert waiting.stdout.splitlines() == [
        "outcomes measured: 0 (0 improved, 0 no_effect, 0 worse, 0 not_measured); "
        "releases not yet in production: 1"
    ]
    done, ids = walk["steps"]["outcomes"], walk["ids"]
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0] == (
        "outcomes measured: 2 (1 improved, 1 no_effect, 0 worse, 0 not_measured); "
        "releases not yet in production: 0"
    )
    assert lines[1] == f"{ids[ROUTING][:12]}  no_effect    {ROUTING}"
    assert lines[3] == f"{ids[SUPPORT][:12]}  improved     {SUPPORT}"
    assert lines[4] == (
        f"    The workflow_template change to {SUPPORT} improved: median relevance score "
        "0.53 -> 0.87 (p=3e-33), 96 samples before and 96 after the deployment."
    )
