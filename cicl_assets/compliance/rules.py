"""The gate's rules: pure functions from one deployment's facts to the reasons it fails.

Each rule returns a list of reasons in words (empty: the rule holds). ``judge`` applies the
rules the deployment's environment requires (config/policies/gates.yaml) and gives the verdict.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cicl_assets.compliance.policy import ChangeWindows, EnvironmentGate, GatePolicy, Waiver

DEPLOY_STEPS = ("deploy", "rollback")


@dataclass(frozen=True)
class DeployFacts:
    """What the warehouse knows about one deployment, gathered for the rules."""

    deployment: Mapping[str, Any]
    runs: Sequence[Mapping[str, Any]] = ()  # ci_runs rows of the run(s) that built the digest
    findings: Sequence[Mapping[str, Any]] = ()  # open ci_findings of those runs
    tests: Mapping[str, int] = field(default_factory=dict)  # test cases by status
    sbom: bool = False
    earlier: Sequence[Mapping[str, Any]] = ()  # deployments of the same digest before this one
    audit: Sequence[Mapping[str, Any]] = ()  # cicl_ci audit events of the runs and the deploy


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "an unknown time"


def _stages(run: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    raw = run.get("stages")
    try:
        stages = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return []
    return [s for s in stages or [] if isinstance(s, Mapping)]


def ci_stage_reasons(runs: Sequence[Mapping[str, Any]], stages: Mapping[str, Sequence[str]]):
    """Each required CI stage ran and passed in a run that built the digest."""
    if not runs:
        return ["no CI run built this image digest"]
    seen: dict[str, str] = {}
    for run in runs:
        for stage in _stages(run):
            name, status = str(stage.get("name")), str(stage.get("status"))
            if seen.get(name) != "success":
                seen[name] = status
    reasons = []
    for label, names in stages.items():
        found = [seen[n] for n in names if n in seen]
        if not found:
            reasons.append(f"CI stage {label} is missing")
        elif "success" not in found:
            reasons.append(f"CI stage {label} did not pass ({found[0]})")
    return reasons


def _finding(f: Mapping[str, Any]) -> str:
    package = f.get("package_name")
    version = f.get("installed_version")
    where = f" in {package} {version}".rstrip() if package else ""
    return f"{f.get('severity')} {f.get('rule_id')}{where} ({f.get('tool')})"


def scan_reasons(
    findings: Sequence[Mapping[str, Any]],
    gate: EnvironmentGate,
    waivers: Sequence[Waiver],
    service: str | None,
    at: datetime | None,
) -> tuple[list[str], list[str]]:
    """(reasons, waived): open findings of a blocking severity without a valid waiver. A waiver
    that expired before the deployment started does not count, and says so."""
    reasons, waived, seen = [], [], set()
    for f in sorted(findings, key=lambda f: (str(f.get("severity")), str(f.get("rule_id")))):
        if f.get("severity") not in gate.block or f.get("status", "open") != "open":
            continue
        key = (f.get("rule_id"), f.get("package_name"), f.get("installed_version"))
        if key in seen:
            continue
        seen.add(key)
        covering = [w for w in waivers if w.covers(f.get("rule_id"), service)]
        valid = [w for w in covering if at is not None and at < w.expires]
        if valid:
            w = valid[0]
            waived.append(f"{_finding(f)} waived by {w.owner} until {_when(w.expires)}")
        elif covering:
            w = max(covering, key=lambda w: w.expires)
            reasons.append(
                f"{_finding(f)} blocks: its waiver by {w.owner} expired {_when(w.expires)}"
            )
        else:
            reasons.append(f"{_finding(f)} blocks and has no waiver")
    return reasons, waived


def sbom_reasons(has_sbom: bool) -> list[str]:
    return [] if has_sbom else ["no SBOM describes this image digest"]


def attestation_reasons(status: str | None) -> list[str]:
    if status == "verified":
        return []
    words = {
        "attested-unverified": "its attestation did not verify against a trusted key",
        "no-attestation": "no attestation names this image digest",
        "no-digest": "the deployment names no image digest",
    }
    return [words.get(str(status), f"attestation status {status}")]


def approval_reasons(deployment: Mapping[str, Any]) -> list[str]:
    """Approved by a named person, before it started, who is not the one who triggered it."""
    approver, approved_at = deployment.get("approver"), deployment.get("approved_at")
    started, actor = deployment.get("started_at"), deployment.get("actor")
    reasons = []
    if not approver:
        reasons.append("no approver")
    if approved_at is None:
        reasons.append("no approval time")
    elif started is not None and approved_at > started:
        reasons.append(f"approved at {_when(approved_at)}, after it started at {_when(started)}")
    if approver and actor and approver.strip().lower() == actor.strip().lower():
        reasons.append(f"approved by {approver}, who also triggered it")
    return reasons


def window_reasons(deployment: Mapping[str, Any], windows: ChangeWindows) -> list[str]:
    """The start lies in a weekly window of the policy's time zone and on no freeze day. The
    record's own change window is a claim: it is named when it disagrees with the policy."""
    started = deployment.get("started_at")
    if started is None:
        return ["no start time to check against the change windows"]
    local = started.astimezone(windows.time_zone)
    where = f"started {local:%a %Y-%m-%d %H:%M} {windows.time_zone.key}"
    reasons = []
    frozen = [f for f in windows.freezes if f.first <= local.date() <= f.last]
    if frozen:
        reasons.append(f"{where}, inside the freeze {frozen[0].first} to {frozen[0].last}")
    inside = any(
        local.weekday() in w.days and w.start <= local.time().replace(tzinfo=None) < w.end
        for w in windows.weekly
    )
    if not inside:
        reasons.append(f"{where}, outside every weekly change window")
    claim_start, claim_end = (
        deployment.get("change_window_start"),
        deployment.get("change_window_end"),
    )
    if reasons and claim_start and claim_end and claim_start <= started <= claim_end:
        reasons.append(
            f"its record claims the window {_when(claim_start)} to {_when(claim_end)}, "
            "which the policy does not grant"
        )
    return reasons


def promotion_reasons(
    deployment: Mapping[str, Any], earlier: Sequence[Mapping[str, Any]], source: str | None
) -> list[str]:
    """The same digest was deployed successfully to ``source`` before this one started."""
    started = deployment.get("started_at")
    passed = [
        d
        for d in earlier
        if d.get("environment") == source
        and d.get("status") == "succeeded"
        and d.get("image_digest") == deployment.get("image_digest")
        and (started is None or (d.get("started_at") and d["started_at"] < started))
    ]
    return [] if passed else [f"the image digest was not deployed successfully to {source} first"]


def _events_of(deployment_id: str, audit: Sequence[Mapping[str, Any]]) -> list[Mapping]:
    out = []
    for event in audit:
        details = event.get("details")
        try:
            parsed = json.loads(details) if isinstance(details, str) else details or {}
        except ValueError:
            parsed = {}
        # cicl.audit_step/v1 events keep the step's own details one level down.
        inner = parsed.get("details") if isinstance(parsed, Mapping) else None
        found = {d.get("deployment_id") for d in (parsed, inner) if isinstance(d, Mapping)}
        if deployment_id in found:
            out.append(event)
    return out


def post_deploy_reasons(
    deployment: Mapping[str, Any], audit: Sequence[Mapping[str, Any]], steps: Sequence[str]
) -> list[str]:
    """Each post-deploy step (service health, ingress) was recorded for this deployment and
    succeeded."""
    events = _events_of(str(deployment.get("deployment_id")), audit)
    reasons = []
    for step in steps:
        found = [e for e in events if e.get("action") == step]
        if not found:
            reasons.append(f"post-deploy step {step} is missing")
        elif not any(e.get("outcome") == "success" for e in found):
            reasons.append(f"post-deploy step {step} failed")
    return reasons


def audit_reasons(
    deployment: Mapping[str, Any],
    runs: Sequence[Mapping[str, Any]],
    audit: Sequence[Mapping[str, Any]],
) -> list[str]:
    """Every stage of the building runs, and the deployment itself, has an audit event."""
    by_run = {(e.get("pipeline_run_id"), e.get("action")) for e in audit}
    reasons = []
    for run in runs:
        run_id = run.get("pipeline_run_id")
        missing = [
            str(s.get("name")) for s in _stages(run) if (run_id, s.get("name")) not in by_run
        ]
        if missing:
            reasons.append(f"run {run_id} has no audit event for stage(s) {', '.join(missing)}")
    # A provider may name the deployment its own way (GitHub's numeric id): a deploy step of
    # a building run in the same environment is then the deployment's event.
    events = _events_of(str(deployment.get("deployment_id")), audit) or [
        e
        for e in audit
        if e.get("pipeline_run_id") in {r.get("pipeline_run_id") for r in runs}
        and e.get("environment") == deployment.get("environment")
    ]
    if not any(e.get("action") in DEPLOY_STEPS for e in events):
        reasons.append("the deployment itself has no audit event")
    return reasons


@dataclass(frozen=True)
class Verdict:
    verdict: str  # pass | fail
    checks: dict[str, list[str]]  # check -> reasons (empty: holds); only the required ones
    waived: list[str]

    @property
    def reasons(self) -> list[str]:
        return [f"{check}: {r}" for check, rs in self.checks.items() for r in rs]


def judge(facts: DeployFacts, policy: GatePolicy, windows: ChangeWindows) -> Verdict:
    """The verdict on one deployment under its environment's gate."""
    d = facts.deployment
    gate = policy.gate(d.get("environment"))
    if gate is None:
        return Verdict("fail", {"policy": [f"no gate for environment {d.get('environment')}"]}, [])
    scan, waived = scan_reasons(
        facts.findings, gate, policy.waivers, d.get("service"), d.get("started_at")
    )
    rules = {
        "ci_stages": lambda: ci_stage_reasons(facts.runs, policy.ci_stages),
        "scan": lambda: scan,
        "sbom": lambda: sbom_reasons(facts.sbom),
        "attestation": lambda: attestation_reasons(d.get("attestation_status")),
        "approval": lambda: approval_reasons(d),
        "change_window": lambda: window_reasons(d, windows),
        "promotion": lambda: promotion_reasons(d, facts.earlier, gate.promoted_from),
        "post_deploy": lambda: post_deploy_reasons(d, facts.audit, policy.post_deploy_steps),
        "audit": lambda: audit_reasons(d, facts.runs, facts.audit),
    }
    checks = {name: rules[name]() for name in gate.requires}
    failed = any(checks.values())
    return Verdict("fail" if failed else "pass", checks, waived if "scan" in checks else [])
