"""Writes `deployments/`: cicl.deployment/v1 records, and GitHub deployment webhooks for the
gateway's dev deployments (that repository reports through GitHub Deployments)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from demo import story
from demo.ci_files import iso
from demo.history_plan import Deployment
from demo.landing_writer import WrittenFile, write_file

GITHUB_REPO = {
    "id": 731904112,
    "node_id": "R_kgDOK6AKcA",
    "name": "flow",
    "full_name": "coditect/flow",
    "private": True,
    "html_url": "https://github.com/coditect/flow",
    "url": "https://api.github.com/repos/coditect/flow",
    "default_branch": "main",
}
DEPLOY_BOT = {"login": "flow-deploy[bot]", "id": 149015002, "type": "Bot", "site_admin": False}


def deployment_record(d: Deployment) -> dict[str, Any]:
    record = {
        "kind": "cicl.deployment/v1",
        "deployment_id": d.deployment_id,
        "environment": d.environment,
        "service": d.run.service,
        "version": d.run.version,
        "commit": d.run.commit,
        "image_digest": d.run.digest,
        "status": d.status,
        "started_at": iso(d.started),
        "finished_at": iso(d.finished),
        "pipeline_run_id": d.run.run_id,
        "actor": d.actor,
        "approver": d.approver,
        "approved_at": iso(d.approved_at) if d.approved_at else None,
        "change_window": (
            {"start": iso(d.change_window[0]), "end": iso(d.change_window[1])}
            if d.change_window
            else None
        ),
        "rollback_of": d.rollback_of,
    }
    if d.deployment_id == story.SLOW_DEPLOY_DEPLOYMENT_ID:
        record["changes"] = [story.TEMPLATE_CHANGE]
    return record


def github_number(d: Deployment) -> int:
    return 1_800_000_000 + int(d.deployment_id.rsplit("-", 1)[1])


def _github_deployment(d: Deployment) -> dict[str, Any]:
    number = github_number(d)
    url = f"https://api.github.com/repos/coditect/flow/deployments/{number}"
    return {
        "url": url,
        "id": number,
        "sha": d.run.commit,
        "ref": d.run.branch,
        "task": "deploy",
        "payload": {
            "service": d.run.service,
            "image": f"{d.run.image}@{d.run.digest}",
            "version": d.run.version,
            "pipeline_run_id": d.run.run_id,
            "deployment_id": d.deployment_id,
        },
        "original_environment": d.environment,
        "environment": d.environment,
        "description": f"{d.run.service} {d.run.version}",
        "creator": DEPLOY_BOT,
        "created_at": iso(d.started),
        "updated_at": iso(d.finished),
        "statuses_url": f"{url}/statuses",
        "repository_url": GITHUB_REPO["url"],
        "transient_environment": False,
        "production_environment": d.environment == "production",
    }


def github_payloads(d: Deployment) -> dict[str, dict[str, Any]]:
    """The `deployment` (created) and `deployment_status` (success) webhook payloads."""
    deployment = _github_deployment(d)
    state = "success" if d.status == "succeeded" else "failure"
    status = {
        "url": f"{deployment['url']}/statuses/{deployment['id'] + 7}",
        "id": deployment["id"] + 7,
        "state": state,
        "creator": DEPLOY_BOT,
        "description": f"Deployed {d.run.version} to {d.environment}",
        "environment": d.environment,
        "target_url": f"https://{d.run.service}.dev.coditect.example",
        "created_at": iso(d.finished),
        "updated_at": iso(d.finished),
        "deployment_url": deployment["url"],
        "repository_url": GITHUB_REPO["url"],
    }
    return {
        "deployment": {
            "action": "created",
            "deployment": deployment,
            "repository": GITHUB_REPO,
            "sender": DEPLOY_BOT,
        },
        "deployment_status": {
            "action": "created",
            "deployment_status": status,
            "deployment": deployment,
            "repository": GITHUB_REPO,
            "sender": DEPLOY_BOT,
        },
    }


def _dumps(document: Any) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


def write_deployments(root: Path, deployments: list[Deployment]) -> list[WrittenFile]:
    written = []
    for d in deployments:
        if d.via_github:
            for event, payload in github_payloads(d).items():
                name = (
                    f"deployments/github/{d.started:%Y-%m-%dT%H%MZ}-{d.deployment_id}-{event}.json"
                )
                written.append(write_file(root, name, _dumps(payload)))
        else:
            name = f"deployments/{d.environment}/{d.deployment_id}.json"
            written.append(write_file(root, name, _dumps(deployment_record(d))))
    return written
