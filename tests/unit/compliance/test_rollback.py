"""Last known good and the rollback check, on deployment histories of our own."""

from datetime import UTC, datetime, timedelta

from cicl_assets.compliance.rollback import check_rollbacks, known_good, rollback_targets

T0 = datetime(2026, 10, 1, 9, tzinfo=UTC)


def dep(
    n: int, digest: str, status="succeeded", verdict="pass", rollback_of=None, env="production"
):
    start = T0 + timedelta(days=n)
    return {
        "deployment_id": f"d{n}",
        "service": "svc",
        "environment": env,
        "version": f"1.{n}",
        "image_digest": digest,
        "status": status,
        "verdict": verdict,
        "started_at": start,
        "finished_at": start + timedelta(minutes=10),
        "rollback_of": rollback_of,
    }


def test_known_good_skips_failed_evidence_failed_changes_and_undone_deploys():
    rows = [
        dep(1, "sha256:a"),
        dep(2, "sha256:b", verdict="fail"),
        dep(3, "sha256:c"),
        dep(4, "sha256:d", status="rolled_back"),
        dep(5, "sha256:c", rollback_of="d4"),
        dep(6, "sha256:e"),
        dep(7, "sha256:a", rollback_of="d6"),
        dep(8, "sha256:x", env="staging"),
    ]
    assert {k: [r["deployment_id"] for r in v] for k, v in known_good(rows).items()} == {
        ("svc", "production"): ["d1", "d3", "d5", "d7"],
        ("svc", "staging"): ["d8"],
    }
    # Before d7 named d6 in rollback_of, d6 was known good.
    assert [
        r["deployment_id"] for r in known_good(rows, rows[6]["started_at"])[("svc", "production")]
    ] == ["d1", "d3", "d5", "d6"]
    now = T0 + timedelta(days=30)
    assert [
        (r["environment"], r["image_digest"], r["deployment_id"])
        for r in rollback_targets(rows, now)
    ] == [
        ("production", "sha256:a", "d7"),
        ("staging", "sha256:x", "d8"),
    ]


def test_a_rollback_to_a_known_good_digest_and_one_to_a_digest_that_was_not():
    rows = [
        dep(1, "sha256:a"),
        dep(2, "sha256:b", status="rolled_back"),
        dep(3, "sha256:a", rollback_of="d2"),
        dep(4, "sha256:c", verdict="fail"),
        dep(5, "sha256:b", rollback_of="d4"),
    ]
    checks = check_rollbacks(rows)
    assert [
        (c["deployment_id"], c["from_digest"], c["to_digest"], c["known_good_digest"], c["ok"])
        for c in checks
    ] == [
        ("d3", "sha256:b", "sha256:a", "sha256:a", True),
        ("d5", "sha256:c", "sha256:b", "sha256:a", False),
    ]
    assert checks[0]["finding"] is None
    assert checks[1]["finding"] == (
        "d5 rolled svc back to sha256:b..., which was not known good; the last known-good "
        "digest was sha256:a... (d3)"
    )


def test_a_rollback_with_no_known_good_digest_before_it():
    rows = [dep(1, "sha256:a", verdict="fail"), dep(2, "sha256:z", rollback_of="d1")]
    (check,) = check_rollbacks(rows)
    assert (check["ok"], check["known_good_digest"]) == (False, None)
    assert check["finding"] == (
        "d2 rolled svc back to sha256:z..., which was not known good; no known-good digest existed"
    )
