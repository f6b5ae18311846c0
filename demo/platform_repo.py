"""The demo's platform repository: the workflow templates, model groups, runbooks and test
quarantine of the simulated platform, in a git repository whose history matches the traffic.

Two commits: the platform as it was when the pipeline history starts, and the workflow-runtime
1.8.0 release's prompt template change (story 3). Authors and dates are fixed, so the same
generator always makes the same commits (the same ids): the candidates' golden diffs name them.
"""

from __future__ import annotations

import os
import subprocess
from datetime import datetime
from pathlib import Path

from demo import story
from demo.traffic_plan import WORKFLOW_STEPS, Step

CONFIG_ROUTING = Path(__file__).resolve().parents[1] / "config" / "routing.yaml"
# Steps whose provider mix is one of the model groups' (config/routing.yaml).
STEP_GROUPS = {("support-reply", "draft-reply"): "drafting", ("invoice-triage", "classify"): "classification"}  # fmt: skip
LONG_STEPS = {"review", "extract-clauses"}
TEMPLATE_STEP = ("support-reply", "draft-reply")
AUTHOR = ("Platform Team", "platform@coditect.example")


def _llm_lines(workflow: str, step: Step, template_version: str) -> list[str]:
    provider = max(step.providers, key=lambda p: p[1])[0]
    lines = [
        f"    provider: {provider}",
        f"    model: {story.PROVIDERS[provider]['model']}",
    ]
    group = STEP_GROUPS.get((workflow, step.name))
    if group:
        lines.append(f"    model_group: {group}")
    version = template_version if (workflow, step.name) == TEMPLATE_STEP else "v1"
    lines += [
        f"    prompt_template: {step.name}@{version}",
        f"    timeout_s: {60 if step.name in LONG_STEPS else 30}",
        "    retries: 2",
        "    fallback: null",
    ]
    return lines


def workflow_yaml(workflow: str, template_version: str) -> str:
    lines = [
        f"# {workflow}: the workflow template the runtime executes. Each LLM step names its",
        "# provider and model (and the model group that routes it, if any), its prompt template,",
        "# a timeout in seconds, retries, and the provider/model to fall back to.",
        f"name: {workflow}",
        "steps:",
    ]
    for step in WORKFLOW_STEPS[workflow]:
        lines += [f"  - name: {step.name}", f"    kind: {step.kind}"]
        if step.kind == "llm":
            lines += _llm_lines(workflow, step, template_version)
        else:
            lines += [f"    tool: {step.tool}", "    timeout_s: 10", "    retries: 1"]
    return "\n".join(lines) + "\n"


def model_groups_yaml() -> str:
    body = [ln for ln in CONFIG_ROUTING.read_text().splitlines() if not ln.startswith("#")]
    header = [
        "# The platform's model groups in LiteLLM's router form: deployments sharing a model_name",
        "# form a group; litellm_params.weight is a deployment's share of the group's traffic.",
    ]
    return "\n".join(header + body) + "\n"


RUNBOOK = """# workflow-runtime runbook

What to do when the workflow runtime fails. One section per failure mode: its signature, what
it looks like, when it was first seen, what it affects and what resolved it before.
"""
QUARANTINE = """# Tests the CI runs but whose failures do not fail a build, each with the reason and the
# finding that put it here. Remove an entry once the test is fixed.
quarantined: []
"""


def files(template_version: str) -> dict[str, str]:
    out = {f"workflows/{w}.yaml": workflow_yaml(w, template_version) for w in story.WORKFLOWS}
    out["routing/model_groups.yaml"] = model_groups_yaml()
    out["runbooks/workflow-runtime.md"] = RUNBOOK
    out["tests/quarantine.yaml"] = QUARANTINE
    return out


COMMITS: list[tuple[datetime, str, dict[str, str]]] = [
    (
        story.HISTORY_START,
        "Workflow templates, model groups, runbooks and test quarantine of the platform",
        files("v7"),
    ),
    (
        story.TEMPLATE_CHANGE_AT,
        "support-reply: draft-reply prompt template v7 -> v8 (workflow-runtime 1.8.0)",
        {"workflows/support-reply.yaml": workflow_yaml("support-reply", "v8")},
    ),
]


def _git(repo: Path, *args: str, at: datetime | None = None) -> str:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(repo),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": AUTHOR[0],
        "GIT_AUTHOR_EMAIL": AUTHOR[1],
        "GIT_COMMITTER_NAME": AUTHOR[0],
        "GIT_COMMITTER_EMAIL": AUTHOR[1],
    }
    if at is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = at.isoformat()
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, env=env, timeout=60, check=True
    )
    return done.stdout.decode().strip()


def write_platform_repo(repo: Path) -> tuple[bool, str]:
    """Create the seeded repository at ``repo``; (created, HEAD). An existing repository is
    left as it is (its history is never rewritten)."""
    if (repo / ".git").exists():
        return False, _git(repo, "rev-parse", "HEAD")
    repo.mkdir(parents=True, exist_ok=True)
    _git(repo, "init", "--quiet", "--initial-branch=main")
    for at, message, changed in COMMITS:
        for path, text in changed.items():
            (repo / path).parent.mkdir(parents=True, exist_ok=True)
            (repo / path).write_text(text)
        _git(repo, "add", "--all")
        _git(repo, "commit", "--quiet", "--no-gpg-sign", "-m", message, at=at)
    return True, _git(repo, "rev-parse", "HEAD")
