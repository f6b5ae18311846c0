"""Writes `audit/`: one cicl.audit_step/v1 line per CI/CD step, plus GCP Cloud Audit Log entries
and Kubernetes audit events from the production project and cluster."""

from __future__ import annotations

import base64
import random
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from demo.ci_files import iso
from demo.history_plan import CiRun, Deployment, History, at
from demo.infra_files import CLUSTER, DRIFTED_AT, PROJECT, SCHEDULE, apply_log_path
from demo.landing_writer import WrittenFile, write_file

# A value that must never reach the warehouse in clear text (ingestion redacts it).
PLANTED_SECRET = "sk-demo-4f9c1e7a2b6d8e0f3a5c7b9d1e2f4a6c"
OUTCOME = {"success": "success", "failed": "failure", "skipped": "skipped"}


def _event_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _step(
    rng: random.Random,
    time: datetime,
    step: str,
    run: CiRun,
    environment: str | None,
    actor: str,
    outcome: str,
    details: dict[str, Any],
) -> dict[str, Any]:
    return {
        "kind": "cicl.audit_step/v1",
        "event_id": _event_id(rng),
        "time": iso(time),
        "step": step,
        "pipeline_run_id": run.run_id,
        "commit": run.commit,
        "image_digest": run.digest,
        "environment": environment,
        "actor": actor,
        "outcome": outcome,
        "details": details,
    }


def audit_steps(history: History, seed: int) -> list[dict[str, Any]]:
    """Every CI stage of every run and every step of every deployment, in time order."""
    rng = random.Random(f"{seed}:audit")
    events = []
    for run in history.runs:
        for stage in run.stages:
            details: dict[str, Any] = {"pipeline": run.service, "branch": run.branch}
            if stage.name == "container-scan" and run.scan_critical:
                details["findings"] = {"CRITICAL": 1, "HIGH": 1, "LOW": 2}
                details["policy"] = "no CRITICAL vulnerabilities"
            if stage.name == "container-scan" and run.waived_critical:
                details["findings"] = {"CRITICAL": 1, "HIGH": 1, "LOW": 2}
                details["waived"] = ["CVE-2024-45492"]
            if stage.name == "sign" and run.unsigned:
                details["reason"] = "signing key unavailable: KMS permission denied"
            events.append(
                _step(
                    rng,
                    stage.finished,
                    stage.name,
                    run,
                    None,
                    "ci-bot",
                    OUTCOME[stage.status],
                    details,
                )
            )
    for d in history.deployments:
        events += _deployment_steps(rng, d)
    events += post_apply_steps(seed)
    events.sort(key=lambda e: (e["time"], e["pipeline_run_id"], e["step"]))
    return events


def _deployment_steps(rng: random.Random, d: Deployment) -> list[dict[str, Any]]:
    details = {"deployment_id": d.deployment_id, "service": d.run.service, "version": d.run.version}
    out = []
    if d.approver and d.approved_at:
        window = (
            {"start": iso(d.change_window[0]), "end": iso(d.change_window[1])}
            if d.change_window
            else None
        )
        out.append(
            _step(
                rng,
                d.approved_at,
                "approval",
                d.run,
                d.environment,
                d.approver,
                "success",
                {**details, "change_window": window},
            )
        )
    step = "rollback" if d.rollback_of else "deploy"
    extra = {"rollback_of": d.rollback_of} if d.rollback_of else {}
    out.append(
        _step(
            rng,
            d.finished - timedelta(minutes=2),
            step,
            d.run,
            d.environment,
            d.actor,
            "success",
            {**details, **extra},
        )
    )
    healthy = d.status != "rolled_back"
    ingress = "ok" if healthy else "5xx rate 12.4% over 10m"
    outcome = "success" if healthy else "failure"
    host = f"{d.run.service}.{d.environment}.coditect.example"
    for step, result, extra in (
        ("health-check", outcome, {"checks": {"rollout": "ok", "ingress": ingress}}),
        ("ingress-check", outcome, {"host": host, "checks": {"tls": "ok", "http": ingress}}),
        (
            "summary-published",
            "success",
            {"summary": f"https://deploys.coditect.example/{d.deployment_id}"},
        ),
    ):
        out.append(
            _step(rng, d.finished, step, d.run, d.environment, "deploy-bot", result,
                  {**details, **extra})
        )  # fmt: skip
    return out


# What each completed apply is verified on (config/policies/gates.yaml post_apply_verifications).
VERIFIED = {
    "gke-cluster": ("google_container_cluster.primary", {"status": "RUNNING", "nodes": "ready"}),
    "cloud-sql-instance": ("google_sql_database_instance.main", {"state": "RUNNABLE"}),
    "redis-instance": ("google_redis_instance.cache", {"state": "READY"}),
}


def post_apply_steps(seed: int) -> list[dict[str, Any]]:
    """A post-apply-verify step per target after every completed apply; the apply that stopped
    on the GPU quota error was never verified (infra_apply_evidence names it)."""
    rng = random.Random(f"{seed}:post-apply")
    out = []
    for env, change_set, planned_at, outcome in SCHEDULE:
        if outcome != "ok":
            continue
        log = apply_log_path(env, planned_at)
        done = at(planned_at) + timedelta(minutes=45)
        for n, (target, (resource, checks)) in enumerate(VERIFIED.items()):
            out.append(
                {
                    "kind": "cicl.audit_step/v1",
                    "event_id": _event_id(rng),
                    "time": iso(done + timedelta(minutes=n)),
                    "step": "post-apply-verify",
                    "pipeline_run_id": f"infra-{env}-{planned_at[:10]}-{change_set}",
                    "commit": None,
                    "image_digest": None,
                    "environment": env,
                    "actor": "infra-bot",
                    "outcome": "success",
                    "details": {
                        "apply_log": log,
                        "target": target,
                        "resource": resource,
                        "checks": checks,
                    },
                }
            )
    return out


def _gcp_entry(
    when: datetime,
    principal: str,
    method: str,
    service: str,
    resource_name: str,
    resource: dict[str, Any],
    request: dict[str, Any],
    insert_id: str,
) -> dict[str, Any]:
    project = PROJECT["production"]
    return {
        "insertId": insert_id,
        "logName": f"projects/{project}/logs/cloudaudit.googleapis.com%2Factivity",
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "authenticationInfo": {"principalEmail": principal},
            "authorizationInfo": [
                {
                    "granted": True,
                    "permission": method.rsplit(".", 1)[-1],
                    "resource": resource_name,
                }
            ],
            "methodName": method,
            "request": request,
            "requestMetadata": {
                "callerIp": "10.128.0.17",
                "callerSuppliedUserAgent": "google-cloud-sdk gcloud/498.0.0",
                "requestAttributes": {"time": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")},
            },
            "resourceName": resource_name,
            "serviceName": service,
        },
        "receiveTimestamp": (when + timedelta(milliseconds=412)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "resource": resource,
        "severity": "NOTICE",
        "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }


def gcp_audit_entries() -> list[dict[str, Any]]:
    project, cluster = PROJECT["production"], CLUSTER["production"]
    pool = f"projects/{project}/locations/us-central1/clusters/{cluster}/nodePools/primary"
    return [
        _gcp_entry(
            DRIFTED_AT,
            "oncall-sre@coditect.example",
            "google.container.v1.ClusterManager.SetNodePoolSize",
            "container.googleapis.com",
            pool,
            {
                "type": "gke_nodepool",
                "labels": {
                    "project_id": project,
                    "cluster_name": cluster,
                    "nodepool_name": "primary",
                    "location": "us-central1",
                },
            },
            {
                "@type": "type.googleapis.com/google.container.v1.SetNodePoolSizeRequest",
                "name": pool,
                "nodeCount": 6,
            },
            "1x9k2ue3b7c",
        ),
        _gcp_entry(
            at("2026-10-23T08:52"),
            f"tofu-apply@{project}.iam.gserviceaccount.com",
            "google.cloud.secretmanager.v1.SecretManagerService.CreateSecret",
            "secretmanager.googleapis.com",
            f"projects/{project}/secrets/gemini-api-key",
            {
                "type": "audited_resource",
                "labels": {
                    "project_id": project,
                    "service": "secretmanager.googleapis.com",
                    "method": "google.cloud.secretmanager.v1.SecretManagerService.CreateSecret",
                },
            },
            {
                "@type": "type.googleapis.com/google.cloud.secretmanager.v1.CreateSecretRequest",
                "parent": f"projects/{project}",
                "secretId": "gemini-api-key",
            },
            "-r3k0a8d1q2m",
        ),
    ]


def _k8s_event(
    rng: random.Random,
    when: datetime,
    verb: str,
    user: str,
    resource: str,
    namespace: str,
    name: str,
    code: int,
    request: dict[str, Any] | None = None,
    level: str = "Metadata",
) -> dict[str, Any]:
    uri = (
        f"/apis/apps/v1/namespaces/{namespace}/{resource}/{name}"
        if resource == "deployments"
        else f"/api/v1/namespaces/{namespace}/{resource}"
    )
    event = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": level,
        "auditID": _event_id(rng),
        "stage": "ResponseComplete",
        "requestURI": uri,
        "verb": verb,
        "user": {"username": user, "groups": ["system:authenticated"]},
        "sourceIPs": ["10.128.0.34"],
        "userAgent": "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46",
        "objectRef": {
            "resource": resource,
            "namespace": namespace,
            "name": name,
            "apiVersion": "v1" if resource == "secrets" else "apps/v1",
        },
        "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "stageTimestamp": (when + timedelta(milliseconds=7)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "annotations": {
            "authorization.k8s.io/decision": "allow",
            "authorization.k8s.io/reason": "",
        },
    }
    if request is not None:
        event["requestObject"] = request
    return event


def k8s_audit_events(history: History, seed: int) -> list[dict[str, Any]]:
    """Production cluster events: a Secret created by hand (its data is in the event) and the
    image updates of production deployments."""
    rng = random.Random(f"{seed}:k8s")
    secret_value = base64.b64encode(PLANTED_SECRET.encode()).decode()
    events = [
        _k8s_event(
            rng,
            at("2026-10-23T09:14"),
            "create",
            "oncall-sre@coditect.example",
            "secrets",
            "flow",
            "provider-keys-override",
            201,
            {
                "kind": "Secret",
                "apiVersion": "v1",
                "metadata": {"name": "provider-keys-override", "creationTimestamp": None},
                "data": {"openai-api-key": secret_value},
                "type": "Opaque",
            },
            level="RequestResponse",
        )
    ]
    for d in history.deployments:
        if d.environment != "production":
            continue
        patch = {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {"name": d.run.service, "image": f"{d.run.image}@{d.run.digest}"}
                        ]
                    }
                }
            }
        }
        events.append(
            _k8s_event(
                rng,
                d.started + timedelta(minutes=1),
                "patch",
                "system:serviceaccount:flow:deploy-bot",
                "deployments",
                "flow",
                d.run.service,
                200,
                patch,
                level="Request",
            )
        )
    return sorted(events, key=lambda e: e["requestReceivedTimestamp"])


def _lines(records: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def write_audit(root: Path, history: History, seed: int) -> list[WrittenFile]:
    written = []
    by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in audit_steps(history, seed):
        by_day[event["time"][:10]].append(event)
    for day, events in sorted(by_day.items()):
        written.append(write_file(root, f"audit/cicd/steps-{day}.jsonl", _lines(events)))
    for entry in gcp_audit_entries():
        when = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00"))
        folder = f"audit/gcp/cloudaudit.googleapis.com/activity/{when:%Y/%m/%d}"
        name = f"{folder}/{when:%H}:00:00_{when:%H}:59:59_S0.json"
        written.append(write_file(root, name, _lines([entry])))
    by_k8s_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in k8s_audit_events(history, seed):
        by_k8s_day[event["requestReceivedTimestamp"][:10]].append(event)
    for day, events in sorted(by_k8s_day.items()):
        written.append(
            write_file(root, f"audit/k8s/{CLUSTER['production']}/audit-{day}.jsonl", _lines(events))
        )
    return written
