"""OpenTofu / Terraform `show -json` plans -> infra_plans, infra_plan_changes, infra_plan_checks.

Refresh-only plans are drift checks as well: their `resource_drift` entries also become drift
observations. Attribute values are never copied out of a plan (they may be secrets); only the
names of top-level attributes that differ.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

from cicl_assets.infra.drift import drift_check_rows
from cicl_assets.infra.naming import environment_from_path, folder_of, time_from_name
from cicl_assets.infra.retention_policy import plan_expiry
from cicl_assets.ingest.content import ParseError, Sniff
from cicl_assets.ingest.json_documents import load_json_object
from cicl_assets.ingest.values import checked_time

_PLAN_KEYS = re.compile(rb'"(planned_values|resource_changes|resource_drift)"\s*:')
_SORTED_START = re.compile(rb'\s*\{\s*"configuration"\s*:\s*\{\s*"(provider_config|root_module)"')
_REFRESH_ONLY_NAME = re.compile(r"refresh[-_]?only", re.IGNORECASE)

ACTION_COUNTS = {
    "create": "create_count",
    "update": "update_count",
    "delete": "delete_count",
    "replace": "replace_count",
    "no-op": "noop_count",
    "read": "read_count",
}


def detect_plan(sniff: Sniff) -> bool:
    if not sniff.looks_json or b"cicl.drift_check/v1" in sniff.head:
        return False
    head = sniff.head
    if b'"format_version"' in head and _PLAN_KEYS.search(head):
        return True
    # Key-sorted output (jq -S, test goldens) starts with a configuration that may fill the head.
    return _SORTED_START.match(head) is not None


def detect_binary_plan(sniff: Sniff) -> bool:
    return sniff.head.startswith(b"PK\x03\x04") and b"tfplan" in sniff.head


def parse_binary_plan(data: bytes, source_file: str) -> Iterator[tuple[str, list]]:
    raise ParseError(
        "this is a binary plan file (tfplan zip); land the output of `tofu show -json tfplan` "
        "instead"
    )
    yield  # pragma: no cover


def normalise_actions(actions: list[str]) -> tuple[str, str | None]:
    """(action, replace order) from a plan's action list."""
    if actions == ["delete", "create"]:
        return "replace", "delete_before_create"
    if actions == ["create", "delete"]:
        return "replace", "create_before_destroy"
    if len(actions) == 1:
        return actions[0], None
    return "+".join(actions), None


def _has_true(value: Any) -> bool:
    if value is True:
        return True
    if isinstance(value, dict):
        return any(_has_true(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_true(v) for v in value)
    return False


def changed_attributes(change: dict[str, Any]) -> list[str]:
    """Top-level attribute names whose value differs before/after (or becomes unknown)."""
    before, after = change.get("before"), change.get("after")
    unknown = change.get("after_unknown")
    names: set[str] = set()
    if isinstance(unknown, dict):
        names |= {k for k, v in unknown.items() if _has_true(v)}
    if isinstance(before, dict) and isinstance(after, dict):
        names |= {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    elif isinstance(after, dict):
        names |= {k for k, v in after.items() if v is not None}
    elif isinstance(before, dict):
        names |= {k for k, v in before.items() if v is not None}
    return sorted(names)


def _change_row(rc: Any, where: str, is_drift: bool) -> dict[str, Any]:
    if not isinstance(rc, dict) or not isinstance(rc.get("address"), str):
        raise ParseError(f"{where}: not a resource change (no 'address')")
    change = rc.get("change")
    actions = change.get("actions") if isinstance(change, dict) else None
    if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
        raise ParseError(f"{where} ({rc['address']}): missing or malformed 'change.actions'")
    action, order = normalise_actions(actions)
    index = rc.get("index")
    return {
        "address": rc["address"],
        "previous_address": rc.get("previous_address"),
        "module_address": rc.get("module_address"),
        "mode": rc.get("mode"),
        "type": rc.get("type"),
        "name": rc.get("name"),
        "index_key": None if index is None else json.dumps(index),
        "provider_name": rc.get("provider_name"),
        "actions": action,
        "replace_order": order,
        "raw_actions": json.dumps(actions),
        "action_reason": rc.get("action_reason"),
        "replace_paths": (
            json.dumps(change["replace_paths"]) if change.get("replace_paths") is not None else None
        ),
        "is_drift": is_drift,
        "sensitive": _has_true(change.get("before_sensitive"))
        or _has_true(change.get("after_sensitive")),
        "changed_attributes": json.dumps(changed_attributes(change)),
    }


def _check_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for i, check in enumerate(doc.get("checks") or []):
        if not isinstance(check, dict):
            raise ParseError(f"checks[{i}]: not an object")
        address = check.get("address") or {}
        instances = check.get("instances") or []
        problems = [
            p.get("message")
            for inst in instances
            if isinstance(inst, dict)
            for p in inst.get("problems") or []
            if isinstance(p, dict)
        ]
        problems += [p.get("message") for p in check.get("problems") or [] if isinstance(p, dict)]
        rows.append(
            {
                "address": address.get("to_display") if isinstance(address, dict) else address,
                "kind": address.get("kind") if isinstance(address, dict) else None,
                "status": check.get("status"),
                "instances": len(instances),
                "problems": json.dumps(problems),
            }
        )
    for i, cond in enumerate(doc.get("condition_results") or []):
        if not isinstance(cond, dict):
            raise ParseError(f"condition_results[{i}]: not an object")
        if cond.get("unknown"):
            status = "unknown"
        else:
            status = "pass" if cond.get("result") is True else "fail"
        message = cond.get("error_message")
        rows.append(
            {
                "address": cond.get("address"),
                "kind": cond.get("condition_type"),
                "status": status,
                "instances": 1,
                "problems": json.dumps([message] if message else []),
            }
        )
    return rows


def is_refresh_only(doc: dict[str, Any], source_file: str) -> bool:
    """show -json has no refresh-only flag: the file name says so, or drift without changes."""
    if _REFRESH_ONLY_NAME.search(source_file.rsplit("/", 1)[-1]):
        return True
    return "resource_changes" not in doc and bool(doc.get("resource_drift"))


def parse_plan(data: bytes, source_file: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    doc = load_json_object(data)
    for key in ("resource_changes", "resource_drift", "checks", "condition_results"):
        if key in doc and doc[key] is not None and not isinstance(doc[key], list):
            raise ParseError(f"'{key}' must be a list, found {type(doc[key]).__name__}")
    plan_id = "sha256:" + hashlib.sha256(data).hexdigest()
    environment = environment_from_path(source_file, "infra")
    try:
        planned_at = checked_time(doc.get("timestamp"), "timestamp") or time_from_name(source_file)
    except ValueError as exc:
        raise ParseError(f"timestamp: {exc}") from None
    expires_at, basis = plan_expiry(planned_at)
    errored = bool(doc.get("errored"))
    common = {
        "plan_id": plan_id,
        "environment": environment,
        "planned_at": planned_at,
        "expires_at": expires_at,
    }
    plan_meta = {
        "terraform_version": doc.get("terraform_version"),
        "format_version": doc.get("format_version"),
        "errored": errored,
    }
    changes = [
        {**common, **plan_meta, **_change_row(rc, f"resource_changes[{i}]", False)}
        for i, rc in enumerate(doc.get("resource_changes") or [])
    ]
    drift = [
        {**common, **plan_meta, **_change_row(rc, f"resource_drift[{i}]", True)}
        for i, rc in enumerate(doc.get("resource_drift") or [])
    ]
    checks = [{**common, **row} for row in _check_rows(doc)]
    counts = dict.fromkeys(ACTION_COUNTS.values(), 0)
    for row in changes:
        column = ACTION_COUNTS.get(row["actions"])
        if column:
            counts[column] += 1
    outputs = doc.get("output_changes") or {}
    refresh_only = is_refresh_only(doc, source_file)
    plan = {
        **common,
        **plan_meta,
        **counts,
        "plan_file": source_file,
        "plan_folder": folder_of(source_file),
        "is_refresh_only": refresh_only,
        "applyable": doc.get("applyable"),
        "complete": doc.get("complete"),
        "resource_changes": len(changes),
        "drift_changes": len(drift),
        "output_changes": sum(
            1
            for oc in outputs.values()
            if isinstance(oc, dict) and oc.get("actions") not in (["no-op"], None)
        ),
        "checks_failed": sum(1 for c in checks if c["status"] in ("fail", "error")),
        "retention_basis": basis,
    }
    yield "infra_plans", [plan]
    yield "infra_plan_changes", changes + drift
    yield "infra_plan_checks", checks
    if refresh_only:
        observed = [
            {
                "address": row["address"],
                "type": row["type"],
                "provider": row["provider_name"],
                "actions": json.loads(row["raw_actions"]),
                "changed_attributes": json.loads(row["changed_attributes"]),
            }
            for row in drift
        ]
        check, observations = drift_check_rows(
            check_id=f"{plan_id}:0",
            environment=environment,
            workspace=None,
            checked_at=planned_at,
            drifted=observed,
            input_format="tofu-refresh-only-plan",
        )
        yield "infra_drift_checks", [check]
        yield "infra_drift_observations", observations
