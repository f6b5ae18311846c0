from datetime import UTC, datetime
from pathlib import Path

import pytest

from cicl_assets.deployments.stream import DEPLOYMENTS_STREAM
from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.formats import detect_format

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "deployments"


def parse(data: bytes, path: str):
    fmt = detect_format(DEPLOYMENTS_STREAM.formats, Sniff.of(data))
    assert fmt is not None
    tables = list(fmt.parse(data, path))
    return fmt.name, tables


def t(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# file -> (format, [(sha, repo, branch, author, committed_at, pushed_at, message)])
EXPECTED = {
    "octokit-push__with-new-branch.payload.json": (
        "github-push",
        [
            (
                "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
                "Codertocat/Hello-World",
                "master",
                "Codertocat",
                t(2019, 5, 15, 15, 19, 25),
                t(2019, 5, 15, 15, 20, 57),
                "Initial commit",
            )
        ],
    ),
    "gogitlab__push.json": (
        "gitlab-push",
        [
            (
                "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
                "mike/diaspora",
                "master",
                "Jordi Mallach",
                t(2011, 12, 12, 12, 27, 31),
                None,
                "Merge branch 'some-feature' into 'master'",
            ),
            (
                "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
                "mike/diaspora",
                "master",
                "GitLab dev user",
                t(2012, 1, 3, 21, 36, 29),
                None,
                "fixed readme",
            ),
        ],
    ),
    "cicl-github-push-two-commits.json": (
        "github-push",
        [
            (
                "1a2b3c4d5e6f708192a3b4c5d6e7f80910111213",
                "coditect/flow",
                "main",
                "ana-silva",
                t(2026, 11, 3, 7, 41, 12),
                t(2026, 11, 3, 9, 5, 30),
                "Retry budget per provider",
            ),
            (
                "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
                "coditect/flow",
                "main",
                "Ben Okafor",
                t(2026, 11, 3, 9, 5, 0),
                t(2026, 11, 3, 9, 5, 30),
                "Rotate the staging key token=[REDACTED]",
            ),
        ],
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_push_payloads_become_one_row_per_commit(name):
    fmt, tables = parse((FIXTURES / name).read_bytes(), f"deployments/{name}")
    expected_format, expected_rows = EXPECTED[name]
    assert fmt == expected_format
    assert [table for table, _ in tables] == ["commit_pushes"]
    rows = tables[0][1]
    assert [
        (
            r["sha"],
            r["repo"],
            r["branch"],
            r["author"],
            r["committed_at"],
            r["pushed_at"],
            r["message"],
        )
        for r in rows
    ] == expected_rows
    assert {r["source_file"] for r in rows} == {f"deployments/{name}"}


BROKEN = [
    (
        b'{"ref": "refs/heads/main", "pusher": {"name": "x"}, "commits": [{"id": "abc", '
        b'"timestamp": "2026-11-03T09:00:00Z"}], "repository": {"full_name": "o/r"}}',
        "commits[0].id: commit 'abc' is not a 40-hex SHA-1",
    ),
    (
        b'{"ref": "refs/heads/main", "pusher": {"name": "x"}, "commits": [{"id": "'
        + b"a" * 40
        + b'"}], "repository": {"full_name": "o/r"}}',
        "commits[0].timestamp is missing (a timestamp is required)",
    ),
    (
        b'{"object_kind": "push", "ref": "refs/heads/main", "commits": {}, "project": {}}',
        "'commits' is not a list of commits",
    ),
    (
        b'{"object_kind": "push", "ref": "refs/heads/main", "commits": [], "project": {}}',
        "the push names no repository (repository.full_name / project path)",
    ),
]


@pytest.mark.parametrize(("data", "message"), BROKEN)
def test_broken_pushes_are_refused_with_a_reason(data, message):
    fmt = detect_format(DEPLOYMENTS_STREAM.formats, Sniff.of(data))
    with pytest.raises(ParseError) as raised:
        list(fmt.parse(data, "deployments/p.json"))
    assert str(raised.value) == message


def test_a_push_without_commits_lands_nothing():
    data = (
        b'{"object_kind": "push", "ref": "refs/tags/v1", "commits": [], "project": '
        b'{"path_with_namespace": "g/p"}}'
    )
    assert parse(data, "deployments/p.json") == ("gitlab-push", [("commit_pushes", [])])
