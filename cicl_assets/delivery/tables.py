"""The delivery group's warehouse tables: commits as pushed, commits, DORA metrics."""

import pyarrow as pa

from cicl_assets.warehouse.tables import UTC_TS, TableSpec

COMMIT_PUSHES = TableSpec(
    name="commit_pushes",
    description=(
        "One row per commit in a GitHub push webhook or GitLab push hook landed under "
        "deployments/: sha, repository, branch, author, commit time, push time and the "
        "message's first line with secret-looking parts redacted."
    ),
    schema=pa.schema(
        [
            ("sha", pa.string()),
            ("repo", pa.string()),
            ("branch", pa.string()),
            ("author", pa.string()),
            ("committed_at", UTC_TS),
            ("pushed_at", UTC_TS),
            ("message", pa.string()),
            ("provider", pa.string()),
            ("source_file", pa.string()),
        ]
    ),
    time_column="committed_at",
    cluster_by=("repo", "branch"),
    column_docs={
        "author": "the commit author's login or name as the provider sent it",
        "pushed_at": "when the push reached the provider (GitHub's repository.pushed_at); "
        "null for GitLab, whose push hook carries no push time",
        "message": "the first line of the commit message, secrets redacted",
    },
)

COMMITS = TableSpec(
    name="commits",
    description=(
        "One row per commit sha any pipeline record names: commits from push webhooks with "
        "their commit time, and the commits CI runs and deployments name, whose commit time "
        "stays null until a push names them."
    ),
    schema=pa.schema(
        [
            ("sha", pa.string()),
            ("repo", pa.string()),
            ("branch", pa.string()),
            ("author", pa.string()),
            ("committed_at", UTC_TS),
            ("pushed_at", UTC_TS),
            ("message", pa.string()),
            ("first_seen_at", UTC_TS),
            ("named_by", pa.string()),
            ("source_file", pa.string()),
        ]
    ),
    time_column="first_seen_at",
    cluster_by=("repo",),
    column_docs={
        "first_seen_at": "the commit time when known, else the earliest CI run or deploy naming it",
        "named_by": "comma-separated record kinds that name the commit: push, ci_run, deployment",
        "source_file": "the push file when a push names the commit, else the first record's file",
    },
)
