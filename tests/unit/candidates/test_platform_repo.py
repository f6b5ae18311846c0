"""The platform repository through git, its setting, and the edits candidates make."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cicl_assets.candidates.edits import set_step_key, set_weights, unified_diff
from cicl_assets.platform_repo import PlatformRepoError, is_local, mirror, open_platform_repo
from cicl_assets.settings import Settings, SettingsError
from demo.platform_repo import write_platform_repo

WORKFLOW = """name: w
steps:
  - name: a
    kind: llm
    timeout_s: 30
  - name: b
    kind: tool
"""


@pytest.mark.parametrize(
    ("uri", "local"),
    [
        (".cicl/platform", True),
        ("/srv/platform", True),
        ("file:///srv/platform", True),
        ("https://github.com/org/platform.git", False),
        ("ssh://git@host/org/platform.git", False),
        ("git@github.com:org/platform.git", False),
    ],
)
def test_which_repositories_are_read_in_place(uri, local):
    assert is_local(uri) is local


@pytest.mark.parametrize(
    ("text", "step", "key", "value", "expected"),
    [
        (WORKFLOW, "a", "timeout_s", "75", WORKFLOW.replace("timeout_s: 30", "timeout_s: 75")),
        (WORKFLOW, "a", "fallback", "{provider: openai, model: gpt-4.1}",
         WORKFLOW.replace("timeout_s: 30\n", "timeout_s: 30\n    fallback: {provider: openai, model: gpt-4.1}\n")),
        (WORKFLOW, "b", "retries", "1", WORKFLOW + "    retries: 1\n"),
    ],
)  # fmt: skip
def test_a_step_key_is_replaced_or_added_in_its_own_block(text, step, key, value, expected):
    assert set_step_key(text, step, key, value) == expected


def test_weights_change_only_the_named_deployments():
    text = (
        "model_list:\n  - model_name: g\n    litellm_params:\n      model: a/x\n      weight: 7\n"
        "  - model_name: g\n    litellm_params:\n      model: b/y\n      weight: 3\n"
        "  - model_name: h\n    litellm_params:\n      model: a/x\n      weight: 1\n"
    )
    out = set_weights(text, {("g", "a/x"): 5.0, ("g", "b/y"): 4.25})
    assert out == text.replace("weight: 7", "weight: 5").replace("weight: 3", "weight: 4.25")


def test_a_new_file_is_a_diff_from_dev_null():
    assert unified_diff("runbooks/x.md", None, "# x\n") == (
        "diff --git a/runbooks/x.md b/runbooks/x.md\nnew file mode 100644\n"
        "--- /dev/null\n+++ b/runbooks/x.md\n@@ -0,0 +1 @@\n+# x\n"
    )
    assert unified_diff("a", "same\n", "same\n") == ""


def test_the_repository_is_read_at_head_and_never_written(tmp_path):
    write_platform_repo(tmp_path / "repo")
    repo = open_platform_repo(f"file://{tmp_path / 'repo'}", tmp_path / "mirror")
    head = repo.head()
    assert repo.read("workflows/support-reply.yaml", head).count("draft-reply@v8") == 1
    assert repo.read("workflows/none.yaml", head) is None
    assert repo.list("workflows", head) == [
        "workflows/code-review.yaml", "workflows/contract-summary.yaml",
        "workflows/invoice-triage.yaml", "workflows/support-reply.yaml",
    ]  # fmt: skip
    assert [c.subject[:13] for c in repo.history("workflows/support-reply.yaml", head)] == [
        "support-reply",
        "Workflow temp",
    ]
    assert not (tmp_path / "mirror").exists()
    with pytest.raises(PlatformRepoError, match="not a git repository"):
        open_platform_repo(str(tmp_path), tmp_path / "mirror")


def test_a_remote_repository_is_read_through_its_mirror_fetched_before_each_read(tmp_path):
    origin = tmp_path / "origin"
    write_platform_repo(origin)
    first = mirror(f"file://{origin}", tmp_path / "mirror")
    head = first.head()
    assert (first.remote, (tmp_path / "mirror" / "HEAD").is_file()) == (True, True)
    (origin / "runbooks" / "x.md").write_text("# x\n")
    subprocess.run(["git", "-C", str(origin), "add", "-A"], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(origin),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "x",
        ],
        check=True,
    )
    again = mirror(f"file://{origin}", tmp_path / "mirror")
    assert again.head() != head
    assert again.read("runbooks/x.md", again.head()) == "# x\n"
    # The origin's history is untouched: the mirror only reads it.
    assert again.read("runbooks/x.md", head) is None


def test_paths_relative_to_where_cicl_started_are_read(tmp_path, monkeypatch):
    # `make demo` names the demo's repository `.cicl/platform`, relative to the project.
    write_platform_repo(tmp_path / ".cicl" / "platform")
    monkeypatch.chdir(tmp_path)
    local = open_platform_repo(".cicl/platform", Path(".cicl/mirror"))
    remote = mirror(f"file://{tmp_path / '.cicl' / 'platform'}", Path(".cicl/mirror"))
    assert local.head() == remote.head()
    assert local.read("workflows/support-reply.yaml", local.head()).count("draft-reply@v8") == 1
    assert (tmp_path / ".cicl" / "mirror" / "HEAD").is_file()


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("https://github.com/org/platform.git", None),
        ("{tmp}", "CICL_PLATFORM_REPO: '{tmp}' is not a git repository (make demo seeds one)"),
        ("{tmp}/repo", None),
        ("file://{tmp}/repo", None),
    ],
)
def test_the_platform_repository_setting(tmp_path, value, error):
    write_platform_repo(tmp_path / "repo")
    env = {"CICL_PLATFORM_REPO": value.format(tmp=tmp_path)}
    if error is None:
        assert Settings.from_env(env).platform_repo == env["CICL_PLATFORM_REPO"]
    else:
        with pytest.raises(SettingsError, match="invalid setting") as raised:
            Settings.from_env(env)
        assert error.format(tmp=tmp_path) in str(raised.value)
