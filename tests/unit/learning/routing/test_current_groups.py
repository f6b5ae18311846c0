"""Routing proposals start from the weights in production: the platform repository's
routing/model_groups.yaml at HEAD when a repository is configured and holds it, else
config/routing.yaml."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import dagster as dg
import pytest

from cicl_assets.learning.routing.assets import routing_proposals
from cicl_assets.learning.routing.groups import current_groups
from cicl_assets.platform_repo import open_platform_repo
from cicl_assets.resources import CiclConfig
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse

CONFIG = Path(__file__).resolve().parents[4] / "config"
# A release moved drafting to an even split and left one group.
RELEASED = """model_list:
  - model_name: drafting
    litellm_params: {model: anthropic/claude-sonnet-4, weight: 5}
  - model_name: drafting
    litellm_params: {model: openai/gpt-4.1, weight: 5}
"""
CONFIG_SHARES = {
    "drafting": {"anthropic/claude-sonnet-4": 0.7, "openai/gpt-4.1": 0.3},
    "classification": {"gemini/gemini-2.5-pro": 0.6, "openai/gpt-4.1": 0.4},
    "general": {
        "openai/gpt-4.1": 0.4,
        "anthropic/claude-sonnet-4": 0.3,
        "gemini/gemini-2.5-pro": 0.3,
    },
}


def _repo(root: Path, files: dict[str, str]) -> tuple[Path, str]:
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, env=env, check=True, timeout=60
        )
        return done.stdout.decode().strip()

    root.mkdir(parents=True)
    git("init", "--quiet", "--initial-branch=main")
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    git("add", "--all")
    git("commit", "--quiet", "--no-gpg-sign", "-m", "seed")
    return root, git("rev-parse", "HEAD")


@pytest.fixture(scope="module")
def repos(tmp_path_factory) -> dict[str, tuple[Path, str]]:
    root = tmp_path_factory.mktemp("platform")
    return {
        "released": _repo(root / "released", {"routing/model_groups.yaml": RELEASED}),
        "without": _repo(root / "without", {"README.md": "no routing here\n"}),
    }


def _shares(groups) -> dict[str, dict[str, float]]:
    return {g.name: {k: round(v, 6) for k, v in g.shares.items()} for g in groups}


@pytest.mark.parametrize(
    ("repo", "shares", "where"),
    [
        (None, CONFIG_SHARES, "config"),
        (
            "released",
            {"drafting": {"anthropic/claude-sonnet-4": 0.5, "openai/gpt-4.1": 0.5}},
            "repo",
        ),
        ("without", CONFIG_SHARES, "config"),
    ],
)
def test_the_groups_proposals_start_from(repos, tmp_path, repo, shares, where):
    platform = None
    if repo is not None:
        platform = open_platform_repo(str(repos[repo][0]), tmp_path / "mirror")
    groups, read = current_groups(CONFIG, platform)
    assert _shares(groups) == shares
    expected = (
        f"routing/model_groups.yaml at {repos[repo][1][:12]}"
        if where == "repo"
        else str(CONFIG / "routing.yaml")
    )
    assert read == expected


def test_the_asset_says_which_file_it_read(repos, tmp_path):
    path, head = repos["released"]
    config = CiclConfig(
        config_dir=str(CONFIG), platform_repo_uri=str(path), state_dir=str(tmp_path)
    )
    result = dg.materialize(
        [routing_proposals],
        partition_key="2026-11-05",
        resources={
            "warehouse": DuckDBWarehouse(path=str(tmp_path / "w.duckdb")),
            "cicl_config": config,
        },
    )
    [event] = result.asset_materializations_for_node("routing_proposals")
    assert event.metadata["groups"].value == 1
    assert event.metadata["model_groups_from"].value == f"routing/model_groups.yaml at {head[:12]}"
