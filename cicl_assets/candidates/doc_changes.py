"""Candidates that change how people and CI work, not what production does: runbook sections
for failure modes, and flaky tests put in quarantine."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from cicl_assets.candidates.platform_changes import since
from cicl_assets.candidates.reads import Inputs
from cicl_assets.candidates.snapshot import Snapshot
from cicl_assets.candidates.table import Proposal
from cicl_assets.platform_repo import QUARANTINE, RUNBOOKS

MARKER = "<!-- cicl:failure-mode {} -->"
_MARKED = re.compile(r"^<!-- cicl:failure-mode ([0-9a-f]+) -->$")


def _listed(values: str | None) -> str:
    items = json.loads(values or "[]")
    return ", ".join(items) if items else "none recorded"


def _resolved_before(finding: dict, inputs: Inputs) -> str:
    earlier = [
        r
        for r in inputs.resolved
        if r["series_key"] == finding["series_key"] and r["resolved_at"] is not None
    ]
    if not earlier:
        return "not seen resolved before; record here what fixes it."
    last = max(earlier, key=lambda r: r["resolved_at"])
    fixes = [
        d
        for d in inputs.deploys
        if d["service"] == finding["service_name"]
        and last["change_at"] <= d["started_at"] <= last["resolved_at"]
    ]
    when = f"it began {last['change_at']:%Y-%m-%d %H:%M} and stopped {last['resolved_at']:%Y-%m-%d %H:%M} UTC"
    if fixes:
        d = fixes[-1]
        return f"{when}, after {d['deployment_id']} ({d['service']} {d['version']})."
    return f"{when}, with no deploy of {finding['service_name']} in between."


def section(finding: dict[str, Any], mode: dict[str, Any], inputs: Inputs) -> str:
    evidence = json.loads(finding["evidence"] or "{}")
    traces = evidence.get("trace_ids") or json.loads(mode["example_trace_ids"] or "[]")
    tests = evidence.get("test_names") or json.loads(mode["example_tests"] or "[]")
    what = "a new failure" if mode["new"] else "a jump in a known failure"
    lines = [
        f"## {mode['signature']}",
        MARKER.format(mode["mode_id"]),
        "",
        f"- **Signature:** `{mode['signature']}`",
        f"- **Symptoms:** {what}: {mode['count']} occurrences on {mode['day']:%Y-%m-%d} "
        f"against {mode['baseline_daily_mean']:g} a day before, seen in {mode['sources']}",
        f"- **First seen:** {mode['first_seen_at']:%Y-%m-%d %H:%M} UTC, "
        + since(finding).replace("since", "after", 1)
        if finding["deployment_id"]
        else f"- **First seen:** {mode['first_seen_at']:%Y-%m-%d %H:%M} UTC",
        f"- **Affected services:** {_listed(mode['services'])}",
        f"- **Affected workflows:** {_listed(mode['workflows'])}",
        f"- **Providers involved:** {_listed(mode['providers'])}",
        "- **Example traces:** " + (", ".join(f"`{t}`" for t in traces) or "none"),
    ]
    if tests:
        lines.append("- **Example tests:** " + ", ".join(f"`{t}`" for t in tests))
    lines += [
        f"- **What resolved it last time:** {_resolved_before(finding, inputs)}",
        f"- **Finding:** `{finding['finding_id']}` in cl_findings",
    ]
    return "\n".join(lines) + "\n"


def with_section(text: str, mode_id: str, body: str) -> str:
    """``text`` with the section of ``mode_id`` replaced by ``body``, or ``body`` appended."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        match = _MARKED.match(line.strip())
        if match and match[1] == mode_id and i > 0 and lines[i - 1].startswith("## "):
            end = i + 1
            while end < len(lines) and not lines[end].startswith("## "):
                end += 1
            tail = "".join(lines[end:])
            return "".join(lines[: i - 1]) + body + ("\n" + tail if tail else "")
    return text.rstrip("\n") + "\n\n" + body


def runbook_proposals(inputs: Inputs, snapshot: Snapshot) -> list[Proposal]:
    by_service: dict[str, list[dict]] = {}
    for f in inputs.findings:
        if f["kind"] == "failure_mode" and f["finding_id"] in inputs.modes:
            by_service.setdefault(f["service_name"] or "unknown-service", []).append(f)
    out = []
    for service, findings in sorted(by_service.items()):
        topic = re.sub(r"[^a-z0-9-]+", "-", service.lower()).strip("-")
        path = f"{RUNBOOKS}/{topic}.md"
        old = snapshot.text(path)
        new = old if old is not None else f"# {service} runbook\n"
        findings = sorted(findings, key=lambda f: (f["change_at"], f["finding_id"]))
        for f in findings:
            mode = inputs.modes[f["finding_id"]]
            new = with_section(new, mode["mode_id"], section(f, mode, inputs))
        if new == old:
            continue
        signatures = [inputs.modes[f["finding_id"]]["signature"] for f in findings]
        out.append(
            Proposal(
                kind="runbook",
                target_file=path,
                new_text=new,
                title=f"runbook {service}: {len(findings)} failure mode section(s)",
                rationale=(
                    f"{service} shows failure modes its runbook does not describe yet: "
                    + "; ".join(
                        f"{s} ({since(f)})" for s, f in zip(signatures, findings, strict=True)
                    )
                    + "."
                ),
                finding_ids=tuple(sorted(f["finding_id"] for f in findings)),
                evidence={
                    "cl_findings": sorted(f["finding_id"] for f in findings),
                    "failure_modes": sorted(
                        [
                            f"{inputs.modes[f['finding_id']]['day']:%Y-%m-%d}/"
                            f"{inputs.modes[f['finding_id']]['mode_id']}"
                            for f in findings
                        ]
                    ),
                },
                expected_impact={
                    f"{inputs.modes[f['finding_id']]['mode_id']}.occurrences_per_day": {
                        "now": f["current_value"],
                        "expected": f["baseline_value"] or 0.0,
                    }
                    for f in findings
                },
                risk="low",
                affects_production=False,
            )
        )
    return out


def _quarantine_text(old: str | None, entries: list[dict[str, str]]) -> str:
    header = [ln for ln in (old or "").splitlines() if ln.startswith("#")]
    lines = [*header, "quarantined:" if entries else "quarantined: []"]
    for e in sorted(entries, key=lambda e: e["test"]):
        lines.append(f"  - test: {json.dumps(e['test'])}")
        lines += [f"    {k}: {json.dumps(e[k])}" for k in ("reason", "finding") if e.get(k)]
    return "\n".join(lines) + "\n"


def quarantine_proposals(inputs: Inputs, snapshot: Snapshot) -> list[Proposal]:
    flaky = [f for f in inputs.findings if f["kind"] == "flaky_test"]
    if not flaky:
        return []
    old = snapshot.text(QUARANTINE)
    doc = yaml.safe_load(old or "") or {}
    entries = [dict(e) for e in doc.get("quarantined") or []]
    listed = {e.get("test") for e in entries}
    added = []
    for f in sorted(flaky, key=lambda f: f["series_key"]):
        test = f["series_key"].removeprefix("test=")
        if test in listed:
            continue
        entries.append(
            {
                "test": test,
                "reason": f"flaky since {f['change_at']:%Y-%m-%d}: it passes and fails on the "
                "same code",
                "finding": f["finding_id"],
            }
        )
        added.append((test, f))
    if not added:
        return []
    caused = sum(int((inputs.flaky.get(t) or {}).get("failed_runs_caused") or 0) for t, _ in added)
    return [
        Proposal(
            kind="test_quarantine",
            target_file=QUARANTINE,
            new_text=_quarantine_text(old, entries),
            title=f"quarantine {len(added)} flaky test(s)",
            rationale=(
                "These tests pass and fail on the same code and failed builds that had nothing "
                "wrong: " + "; ".join(f["title"] for _, f in added) + "."
            ),
            finding_ids=tuple(sorted(f["finding_id"] for _, f in added)),
            evidence={
                "cl_findings": sorted(f["finding_id"] for _, f in added),
                "flaky_tests": sorted(t for t, _ in added),
            },
            expected_impact={"failed_runs_per_30_days": {"now": float(caused), "expected": 0.0}},
            risk="medium",
            affects_production=False,
        )
    ]
