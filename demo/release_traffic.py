"""The platform's traffic around a release's deployment, simulated from what the platform repository
holds: before the deployment the base commit's model groups and workflow templates, after it the
release commit's. Whatever a release changes there has its effect (a prompt template put back
restores quality; new weights move a step's calls between providers), and nothing else changes:
workflow-runtime stays at 1.8.0, whose anthropic calls are slow.

The hours are counted from the deployment, not from the clock, and drawn from a seed mixed with
the release id: the same release deployed at any time gets the same traffic relative to its
deployment, and no two releases' traffic shares a trace id.
"""

from __future__ import annotations

import hashlib
import random
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from demo import story
from demo.platform_repo import STEP_GROUPS, TEMPLATE_STEP
from demo.traffic_plan import (
    BASE_RUN_FAILURE_RATE,
    WORKFLOW_MIX,
    HourPlan,
    PlannedRun,
    Running,
)

# The draft-reply template the workflow-runtime 1.8.0 release shipped (story 3).
DEGRADED_TEMPLATE = f"{TEMPLATE_STEP[1]}@v8"
# LiteLLM's provider prefixes -> the demo's gen_ai.provider.name
PROVIDER_NAMES = {"anthropic": "anthropic", "openai": "openai", "gemini": "gcp.gemini"}
# Far past the story's 96 hours, so no file kind or id stream lines up with the story's.
FIRST_HOUR_INDEX = 100_000


def _show(repo: Path, commit: str, path: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "show", f"{commit}:{path}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise ValueError(f"{repo}: cannot read {path} at {commit[:12]}: {done.stderr.strip()}")
    return done.stdout


def running_at(repo: Path, commit: str) -> Running:
    """The model groups' weights and the workflow templates of ``commit``, as the emitter runs
    them."""
    groups: dict[str, list[tuple[str, float]]] = {}
    for entry in yaml.safe_load(_show(repo, commit, "routing/model_groups.yaml"))["model_list"]:
        params = entry["litellm_params"]
        provider = PROVIDER_NAMES[params["model"].split("/", 1)[0]]
        groups.setdefault(entry["model_name"], []).append((provider, float(params["weight"])))
    mixes = tuple(
        (step, tuple(groups[group]))
        for step, group in sorted(STEP_GROUPS.items())
        if group in groups
    )
    degraded = set()
    for workflow in story.WORKFLOWS:
        doc = yaml.safe_load(_show(repo, commit, f"workflows/{workflow}.yaml"))
        for step in doc.get("steps", []):
            if (workflow, step["name"]) == TEMPLATE_STEP and step.get(
                "prompt_template"
            ) == DEGRADED_TEMPLATE:
                degraded.add(workflow)
    return Running(mixes=mixes, degraded=frozenset(degraded))


def release_seed(seed: int, release_id: str) -> int:
    return int(hashlib.sha256(f"{seed}:{release_id}".encode()).hexdigest()[:12], 16)


def plan_around(
    deployed_at: datetime,
    before: Running,
    after: Running,
    seed: int,
    before_hours: int,
    after_hours: int,
    runs_per_hour: int,
) -> list[HourPlan]:
    """Hours ``deployed_at + k h`` for k in [-before_hours, after_hours), ``runs_per_hour`` runs
    each in the story's workflow mix, running ``before`` then ``after``."""
    workflows = list(WORKFLOW_MIX)
    weights = [WORKFLOW_MIX[w] for w in workflows]
    plans = []
    for k in range(-before_hours, after_hours):
        index = FIRST_HOUR_INDEX + before_hours + k
        start = deployed_at + timedelta(hours=k)
        rng = random.Random(f"{seed}:plan:{index}")
        start_ns = int(start.timestamp() * 1e6) * 1000
        offsets = sorted(rng.randrange(3_600_000_000) * 1000 for _ in range(runs_per_hour))
        runs = []
        for i, (offset, workflow) in enumerate(
            zip(offsets, rng.choices(workflows, weights=weights, k=runs_per_hour), strict=True)
        ):
            failure = ""
            if rng.random() < BASE_RUN_FAILURE_RATE[workflow]:
                failure = rng.choice(("timeout", "tool_error"))
            runs.append(PlannedRun(i, workflow, start_ns + offset, failure))
        plans.append(HourPlan(index, start, seed, tuple(runs), before if k < 0 else after))
    return plans
