"""Candidates that change production behaviour: provider routing (a day's routing proposals as
new LiteLLM weights) and workflow templates (a longer timeout and a fallback for steps whose
provider slowed or fails more, a prompt template put back after quality fell)."""

from __future__ import annotations

import json
import math
from datetime import timedelta
from typing import Any

import yaml

from cicl_assets.candidates.edits import number, set_step_key, set_weights
from cicl_assets.candidates.reads import Inputs
from cicl_assets.candidates.snapshot import Snapshot
from cicl_assets.candidates.table import Proposal
from cicl_assets.learning.routing.groups import ModelGroup, parse_groups
from cicl_assets.platform_repo import MODEL_GROUPS, WORKFLOWS

PROVIDER_METRICS = {"latency_ms": "latency_regression", "error_rate": "error_regression"}
TIMEOUT_STEP_S = 5
# A template change explains a quality fall that starts within this window of its commit.
TEMPLATE_WINDOW = timedelta(hours=24)
IMPACT_COLUMNS = ("latency_p50_ms", "error_rate", "cost_per_1k_calls", "quality")


def since(finding: dict[str, Any]) -> str:
    if finding["deployment_id"]:
        what = " ".join(v for v in (finding["deployed_service"], finding["service_version"]) if v)
        return (
            f"since {finding['deployment_id']} ({what})"
            if what
            else f"since {finding['deployment_id']}"
        )
    return f"since {finding['change_at']:%Y-%m-%d %H:%M} UTC"


def provider_findings(inputs: Inputs) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Open regressions of a provider's calls as a whole (not of one step or workflow), worse
    than before, by (provider, model)."""
    out: dict[tuple[str, str], list[dict]] = {}
    for f in inputs.findings:
        if (
            PROVIDER_METRICS.get(f["metric"]) == f["kind"]
            and f["gen_ai_provider"]
            and f["gen_ai_model"]
            and not (f["workflow"] or f["span_name"] or f["service_name"])
            and (f["effect_ratio"] or 0) > 1
        ):
            out.setdefault((f["gen_ai_provider"], f["gen_ai_model"]), []).append(f)
    return out


def _groups(snapshot: Snapshot) -> list[ModelGroup]:
    text = snapshot.text(MODEL_GROUPS)
    return parse_groups(text, MODEL_GROUPS) if text else []


def routing_proposals(inputs: Inputs, snapshot: Snapshot) -> list[Proposal]:
    """One candidate for routing/model_groups.yaml from the latest day's proposals whose current
    weights are the file's (a proposal computed against other weights would move the wrong
    numbers)."""
    text = snapshot.text(MODEL_GROUPS)
    if text is None or not inputs.proposals:
        return []
    groups = parse_groups(text, MODEL_GROUPS)
    in_file = {(g.name, d.name): d.weight for g in groups for d in g.deployments}
    deployments = {d.name: d for g in groups for d in g.deployments}
    hit = provider_findings(inputs)
    weights: dict[tuple[str, str], float] = {}
    used, sentences, impact, finding_ids = [], [], {}, set()
    for p in inputs.proposals:
        current = {
            (e["model_name"], e["litellm_params"]["model"]): float(e["litellm_params"]["weight"])
            for e in json.loads(p["current_weights"])
        }
        if any(in_file.get(k) != w for k, w in current.items()):
            continue
        for e in json.loads(p["proposed_weights"]):
            weights[(e["model_name"], e["litellm_params"]["model"])] = e["litellm_params"]["weight"]
        used.append(p)
        moved = [
            line.rstrip(".")
            for line in p["reasons"].splitlines()
            if "within its constraints" not in line
        ]
        sentences.append(f"{p['title']} ({'; '.join(moved)})")
        for column in IMPACT_COLUMNS:
            now, then = p[f"expected_{column}_current"], p[f"expected_{column}_proposed"]
            if now is not None:
                impact[f"{p['model_group']}.{column}"] = {"now": now, "expected": then}
        evidence = json.loads(p["evidence"] or "{}")
        for name, judged in evidence.items():
            d = deployments.get(name)
            if d is not None and judged.get("violation_ratio", 1) > 1:
                finding_ids.update(f["finding_id"] for f in hit.get((d.provider, d.model), []))
    if not used:
        return []
    biggest = max(
        abs(w - in_file[k]) / sum(v for (g, _), v in in_file.items() if g == k[0])
        for k, w in weights.items()
    )
    return [
        Proposal(
            kind="provider_routing",
            target_file=MODEL_GROUPS,
            new_text=set_weights(text, weights),
            title="routing: " + "; ".join(p["title"] for p in used),
            rationale="; ".join(sentences) + ".",
            finding_ids=tuple(sorted(finding_ids)),
            evidence={
                "routing_proposals": sorted(p["proposal_id"] for p in used),
                "cl_findings": sorted(finding_ids),
            },
            expected_impact=impact,
            risk="high" if biggest >= 0.2 else "medium",
            affects_production=True,
        )
    ]


def fallback_for(step: dict, groups: list[ModelGroup], avoid: set[str]) -> tuple[str, str] | None:
    """The deployment a step falls back to: of its model group first, else of any group; never a
    provider with an open regression; the most weight wins, then the name."""
    score: dict[tuple[str, str], tuple[int, float]] = {}
    for g in groups:
        for d in g.deployments:
            if d.provider in avoid or d.provider == step.get("provider"):
                continue
            own, weight = score.get((d.provider, d.model), (0, 0.0))
            score[(d.provider, d.model)] = (
                max(own, int(g.name == step.get("model_group"))),
                weight + d.weight,
            )
    if not score:
        return None
    return min(score, key=lambda k: (-score[k][0], -score[k][1], k))


def _template_change(snapshot: Snapshot, path: str, step: str, finding: dict) -> tuple | None:
    """(commit, old template, new template) of the commit that changed ``step``'s prompt template
    within TEMPLATE_WINDOW before the quality fall began, when one did."""
    for change in snapshot.history(path):
        if not finding["change_at"] - TEMPLATE_WINDOW <= change.at <= finding["change_at"]:
            continue
        before = snapshot.text_at(path, f"{change.commit}^")
        after = snapshot.text_at(path, change.commit)
        if before is None or after is None:
            continue
        old, new = _templates(before).get(step), _templates(after).get(step)
        if old and new and old != new:
            return change, old, new
    return None


def _templates(text: str) -> dict[str, str]:
    doc = yaml.safe_load(text) or {}
    return {s["name"]: s["prompt_template"] for s in doc.get("steps", []) if "prompt_template" in s}


def workflow_proposals(inputs: Inputs, snapshot: Snapshot) -> list[Proposal]:
    groups = _groups(snapshot)
    hit = provider_findings(inputs)
    avoid = {provider for provider, _ in hit}
    quality = [f for f in inputs.findings if f["kind"] == "quality_regression" and f["workflow"]]
    out = []
    for path in snapshot.paths(WORKFLOWS):
        text = snapshot.text(path) or ""
        doc = yaml.safe_load(text) or {}
        name = doc.get("name") or path.rsplit("/", 1)[-1].removesuffix(".yaml")
        new, titles, sentences, impact, fids = text, [], [], {}, set()
        for step in doc.get("steps", []):
            if step.get("kind") != "llm":
                continue
            found = hit.get((step.get("provider"), step.get("model")), [])
            slow = [f for f in found if f["metric"] == "latency_ms"]
            failing = [f for f in found if f["metric"] == "error_rate"]
            label = f"{step['provider']}/{step['model']}"
            if slow:
                f = max(slow, key=lambda r: r["effect_ratio"])
                old = float(step.get("timeout_s") or 0)
                longer = TIMEOUT_STEP_S * math.ceil(old * f["effect_ratio"] / TIMEOUT_STEP_S)
                if old and longer > old:
                    new = set_step_key(new, step["name"], "timeout_s", number(longer))
                    titles.append(f"{step['name']} timeout {number(old)} -> {number(longer)} s")
                    sentences.append(
                        f"{label} calls take {f['effect_ratio']:.1f}x as long {since(f)} (p50 "
                        f"{f['baseline_value']:,.0f} -> {f['current_value']:,.0f} ms), so "
                        f"{step['name']}'s timeout grows with them"
                    )
                    impact[f"{step['name']}.timeout_over_p50"] = {
                        "now": round(old * 1000 / f["current_value"], 2),
                        "expected": round(longer * 1000 / f["current_value"], 2),
                    }
                    fids.add(f["finding_id"])
            if failing:
                f = max(failing, key=lambda r: r["effect_ratio"])
                sentences.append(
                    f"{label} calls fail {f['effect_ratio']:.1f}x as often {since(f)} "
                    f"({f['baseline_value']:.1%} -> {f['current_value']:.1%})"
                )
                impact[f"{step['name']}.error_rate"] = {
                    "now": f["current_value"],
                    "expected": f["baseline_value"],
                }
                fids.add(f["finding_id"])
            if (slow or failing) and not step.get("fallback"):
                fallback = fallback_for(step, groups, avoid)
                if fallback:
                    value = f"{{provider: {fallback[0]}, model: {fallback[1]}}}"
                    new = set_step_key(new, step["name"], "fallback", value)
                    titles.append(f"{step['name']} falls back to {fallback[0]}/{fallback[1]}")
                    sentences.append(
                        f"{step['name']} falls back to {fallback[0]}/{fallback[1]}, which has no "
                        "open regression"
                    )
            for f in (q for q in quality if q["workflow"] == name):
                change = _template_change(snapshot, path, step["name"], f)
                if change is None or _templates(new).get(step["name"]) != change[2]:
                    continue
                commit, before, after = change
                new = set_step_key(new, step["name"], "prompt_template", before)
                titles.append(f"{step['name']} prompt template back to {before}")
                sentences.append(
                    f"{f['metric']} of {name} fell {f['baseline_value']:.2f} -> "
                    f"{f['current_value']:.2f} {since(f)}, which shipped commit "
                    f"{commit.commit[:12]} ({commit.subject}): {step['name']} goes back from "
                    f"{after} to {before}"
                )
                impact[f"{name}.{f['metric']}"] = {
                    "now": f["current_value"],
                    "expected": f["baseline_value"],
                }
                fids.add(f["finding_id"])
        if new == text:
            continue
        out.append(
            Proposal(
                kind="workflow_template",
                target_file=path,
                new_text=new,
                title=f"{name}: " + ", ".join(titles),
                rationale="; ".join(sentences) + ".",
                finding_ids=tuple(sorted(fids)),
                evidence={"cl_findings": sorted(fids)},
                expected_impact=impact,
                risk="medium",
                affects_production=True,
            )
        )
    return out
