"""demo.after_release: the platform runs what the base and release commits hold, around a
deployment just after the release, the same traffic whenever the release is deployed."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from demo import after_release
from demo.platform_repo import _git, model_groups_yaml, workflow_yaml, write_platform_repo
from demo.release_traffic import plan_around, running_at
from demo.traffic_plan import Running

RID = "0123456789abcdef0123"
RELEASED = "2026-12-01T10:40:07Z"


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """The seeded platform repository, one release commit on it (template v7, drafting 2:8),
    and the release's manifest in a local outbox."""
    root = tmp_path_factory.mktemp("after")
    repo = root / "platform"
    _, base = write_platform_repo(repo)
    (repo / "workflows/support-reply.yaml").write_text(workflow_yaml("support-reply", "v7"))
    routing = model_groups_yaml().replace("weight: 7", "weight: 2", 1).replace("weight: 3", "weight: 8", 1)  # fmt: skip
    (repo / "routing/model_groups.yaml").write_text(routing)
    _git(repo, "add", "--all")
    _git(repo, "commit", "--quiet", "--no-gpg-sign", "-m", "release")
    head = _git(repo, "rev-parse", "HEAD")
    predicate = {
        "release_id": RID,
        "platform_repo": str(repo),
        "branch": f"cicl/release-{RID}",
        "base_commit": base,
        "release_commit": head,
        "released_at": RELEASED,
    }
    statement = {"predicate": predicate}
    envelope = {"payload": base64.b64encode(json.dumps(statement).encode()).decode()}
    (root / "outbox" / "releases").mkdir(parents=True)
    (root / "outbox" / "releases" / f"{RID}.intoto.json").write_text(json.dumps(envelope))
    return dict(root=root, repo=repo, base=base, head=head)


BEFORE = Running(
    mixes=(
        (("invoice-triage", "classify"), (("gcp.gemini", 6.0), ("openai", 4.0))),
        (("support-reply", "draft-reply"), (("anthropic", 7.0), ("openai", 3.0))),
    ),
    degraded=frozenset({"support-reply"}),
)
AFTER = Running(
    mixes=(
        (("invoice-triage", "classify"), (("gcp.gemini", 6.0), ("openai", 4.0))),
        (("support-reply", "draft-reply"), (("anthropic", 2.0), ("openai", 8.0))),
    ),
    degraded=frozenset(),
)


@pytest.mark.parametrize(("commit", "expected"), [("base", BEFORE), ("head", AFTER)])
def test_the_platform_runs_what_the_commit_holds(release, commit, expected):
    assert running_at(release["repo"], release[commit]) == expected


def test_hours_count_from_the_deployment_so_any_deploy_time_gives_the_same_traffic():
    one = plan_around(datetime(2026, 12, 1, 10, 48, tzinfo=UTC), BEFORE, AFTER, 7, 2, 3, 5)
    later = datetime(2027, 3, 9, 17, 3, 30, tzinfo=UTC)
    two = plan_around(later, BEFORE, AFTER, 7, 2, 3, 5)
    assert [p.running for p in one] == [BEFORE, BEFORE, AFTER, AFTER, AFTER]
    assert [p.start for p in two] == [later + timedelta(hours=k) for k in range(-2, 3)]
    assert [p.hour_index for p in one] == [100_000, 100_001, 100_002, 100_003, 100_004]
    assert [len(p.runs) for p in one] == [5] * 5
    for a, b in zip(one, two, strict=True):
        shift = int((b.start - a.start).total_seconds()) * 1_000_000_000
        assert [(r.workflow, r.start_ns + shift, r.failure) for r in a.runs] == [
            (r.workflow, r.start_ns, r.failure) for r in b.runs
        ]
    assert plan_around(later, BEFORE, AFTER, 8, 2, 3, 5)[0].runs != two[0].runs


def test_lands_the_deployment_with_the_manifest_id_and_the_traffic_around_it(release, capsys):
    root = release["root"]
    landing = root / "landing"
    argv = ["--landing", str(landing), "--outbox", str(root / "outbox"), "--release", RID]
    short = ["--hours", "1", "--before-hours", "1", "--runs-per-hour", "3", "--workers", "1"]
    assert after_release.main(argv + short) == 0
    record = orjson.loads((landing / "deployments/production/dep-prod-release-0123456789ab.json").read_bytes())  # fmt: skip
    assert {k: record[k] for k in ("environment", "commit", "status", "release_manifest")} == {
        "environment": "production",
        "commit": release["head"],
        "status": "succeeded",
        "release_manifest": RID,
    }
    assert (record["started_at"], record["finished_at"]) == (
        "2026-12-01T10:45:07Z",
        "2026-12-01T10:48:07Z",
    )
    otel = sorted(p.relative_to(landing).as_posix() for p in (landing / "otel").rglob("*.*"))
    assert otel and all(p.startswith(f"otel/release-{RID}/2026/12/01/") for p in otel)
    assert {p.split("/")[-1].split("-", 1)[0] for p in otel} == {"09", "10"}
    out = capsys.readouterr().out
    assert f"of release {RID} to production, finished 2026-12-01T10:48:07Z" in out
    # the manifest's path works as well as its id, and lands the same files
    before = {p: p.read_bytes() for p in landing.rglob("*") if p.is_file()}
    path = str(root / "outbox" / "releases" / f"{RID}.intoto.json")
    assert after_release.main([*argv[:4], "--release", path, *short]) == 0
    assert {p: p.read_bytes() for p in landing.rglob("*") if p.is_file()} == before


def test_an_unknown_release_says_where_it_looked(release):
    root = release["root"]
    with pytest.raises(SystemExit, match="no release manifest nope: not a file, nor releases/nope"):
        after_release.main(
            ["--landing", str(root / "l2"), "--outbox", str(root / "outbox"), "--release", "nope"]
        )


@pytest.mark.parametrize(
    ("deployed", "now", "expected"),
    [
        ("2026-12-01T10:48:00", "2026-12-01T10:49:00", 12),  # 13h12m left, less the records' trail
        ("2026-12-01T00:10:00", "2026-12-01T00:11:00", 23),
        ("2026-12-01T23:40:00", "2026-12-01T23:41:00", 0),
        ("2026-12-01T10:48:00", "2026-12-03T09:00:00", 24),  # later, the whole day after is past
    ],
)
def test_no_traffic_is_dated_past_the_end_of_today(deployed, now, expected):
    at = datetime.fromisoformat(deployed).replace(tzinfo=UTC)
    assert (
        after_release.hours_today(at, 24, datetime.fromisoformat(now).replace(tzinfo=UTC))
        == expected
    )
