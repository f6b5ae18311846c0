"""Writes `infra/<environment>/`: `tofu show -json` plans, their readable text, apply logs and the
daily drift checks of the platform's OpenTofu stack (GKE, Cloud SQL, Redis, secrets)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from demo import story
from demo.history_plan import at
from demo.landing_writer import WrittenFile, write_file

TOFU_VERSION = "1.8.5"
PROVIDER = "registry.opentofu.org/hashicorp/google"
ENVIRONMENTS = ("dev", "staging", "production")
PROJECT = {
    "dev": "coditect-flow-dev",
    "staging": "coditect-flow-stg",
    "production": "coditect-flow-prod",
}
CLUSTER = {"dev": "gke-dev", "staging": "gke-staging", "production": "gke-prod"}
DRIFTED_AT = at("2026-10-29T16:42")  # someone resized the production node pool by hand


@dataclass(frozen=True)
class Change:
    address: str
    actions: tuple[str, ...]
    after: dict[str, Any] | None  # attribute updates (or the new resource); None = deleted
    replace_paths: tuple[str, ...] = ()


def _initial_state(env: str) -> dict[str, dict[str, Any]]:
    project, cluster = PROJECT[env], CLUSTER[env]
    loc = f"projects/{project}/locations/us-central1"
    return {
        "google_compute_network.vpc": {
            "name": "flow-vpc",
            "auto_create_subnetworks": False,
            "id": f"projects/{project}/global/networks/flow-vpc",
        },
        "google_container_cluster.primary": {
            "name": cluster,
            "location": "us-central1",
            "release_channel": [{"channel": "REGULAR"}],
            "id": f"{loc}/clusters/{cluster}",
        },
        "google_container_node_pool.primary": {
            "name": "primary",
            "cluster": cluster,
            "node_count": 3,
            "node_config": [{"machine_type": "e2-standard-8"}],
            "id": f"{loc}/clusters/{cluster}/nodePools/primary",
        },
        "google_container_node_pool.llm_workers": {
            "name": "llm-workers",
            "cluster": cluster,
            "node_count": 2,
            "node_config": [{"machine_type": "g2-standard-8"}],
            "id": f"{loc}/clusters/{cluster}/nodePools/llm-workers",
        },
        "google_sql_database_instance.main": {
            "name": "flow-main",
            "database_version": "POSTGRES_16",
            "settings": [{"tier": "db-custom-2-7680"}],
            "id": "flow-main",
        },
        "google_artifact_registry_repository.flow": {
            "repository_id": "flow",
            "format": "DOCKER",
            "id": f"{loc}/repositories/flow",
        },
        'google_secret_manager_secret.provider_keys["openai"]': {
            "secret_id": "openai-api-key",
            "id": f"projects/{project}/secrets/openai-api-key",
        },
        'google_secret_manager_secret.provider_keys["anthropic"]': {
            "secret_id": "anthropic-api-key",
            "id": f"projects/{project}/secrets/anthropic-api-key",
        },
        "google_service_account.runtime": {
            "account_id": "flow-runtime",
            "id": f"projects/{project}/serviceAccounts/flow-runtime@{project}.iam.gserviceaccount.com",
        },
        "google_project_iam_member.legacy_ci_editor": {
            "role": "roles/editor",
            "member": f"serviceAccount:legacy-ci@{project}.iam.gserviceaccount.com",
            "id": f"{project}/roles/editor/serviceAccount:legacy-ci@{project}.iam.gserviceaccount.com",
        },
    }


def _changes(env: str) -> dict[str, list[Change]]:
    project = PROJECT[env]
    return {
        "redis-cache": [
            Change(
                "google_redis_instance.cache",
                ("create",),
                {
                    "name": "flow-cache",
                    "tier": "STANDARD_HA",
                    "memory_size_gb": 5,
                    "id": f"projects/{project}/locations/us-central1/instances/flow-cache",
                },
            ),
            Change("google_container_node_pool.primary", ("update",), {"node_count": 4}),
        ],
        "llm-pool": [
            Change(
                "google_container_node_pool.llm_workers",
                ("create", "delete"),
                {"node_config": [{"machine_type": "g2-standard-12"}]},
                ("node_config",),
            ),
            Change(
                'google_secret_manager_secret.provider_keys["gemini"]',
                ("create",),
                {"secret_id": "gemini-api-key", "id": f"projects/{project}/secrets/gemini-api-key"},
            ),
        ],
        "db-tier": [
            Change(
                "google_sql_database_instance.main",
                ("update",),
                {"settings": [{"tier": "db-custom-4-15360"}]},
            ),
            Change("google_project_iam_member.legacy_ci_editor", ("delete",), None),
        ],
    }


# (environment, change set, planned at, apply outcome)
SCHEDULE = (
    ("dev", "redis-cache", "2026-10-12T08:10", "ok"),
    ("staging", "redis-cache", "2026-10-13T08:20", "ok"),
    ("production", "redis-cache", "2026-10-14T08:05", "ok"),
    ("dev", "llm-pool", "2026-10-20T08:15", "ok"),
    ("staging", "llm-pool", "2026-10-21T08:25", "ok"),
    ("production", "llm-pool", "2026-10-22T08:05", "quota"),
    ("production", "llm-pool", "2026-10-23T08:10", "ok"),
    ("dev", "db-tier", "2026-10-28T08:15", "ok"),
    ("staging", "db-tier", "2026-10-29T08:20", "ok"),
)
QUOTA_ERROR = (
    "error creating NodePool: googleapi: Error 403: Insufficient regional quota to satisfy "
    "request: resource \"NVIDIA_L4_GPUS\": request requires '2.0' and is short '1.0'. project "
    "has a quota of '4.0' with '3.0' available."
)


def _split(address: str) -> dict[str, Any]:
    base, _, index = address.partition("[")
    rtype, name = base.split(".", 1)
    out = {"address": address, "mode": "managed", "type": rtype, "name": name}
    if index:
        out["index"] = index.rstrip("]").strip('"')
    return out


def _plan_document(
    env: str, state: dict, changes: list[Change], when: datetime
) -> tuple[dict, dict]:
    """The plan of applying ``changes`` to ``state``, and the state after it."""
    after_state = copy.deepcopy(state)
    by_address = {c.address: c for c in changes}
    resource_changes = []
    for address in sorted(set(state) | set(by_address)):
        change = by_address.get(address)
        before = state.get(address)
        if change is None:
            actions, after = ["no-op"], before
        elif change.after is None:
            actions, after = ["delete"], None
            del after_state[address]
        else:
            after = {**(before or {}), **change.after}
            actions = list(change.actions)
            after_state[address] = after
        record = {
            **_split(address),
            "provider_name": PROVIDER,
            "change": {
                "actions": actions,
                "before": before,
                "after": after,
                "after_unknown": {"id": True} if actions == ["create"] else {},
                "before_sensitive": {} if before is not None else False,
                "after_sensitive": {} if after is not None else False,
            },
        }
        if change and change.replace_paths:
            record["change"]["replace_paths"] = [[p] for p in change.replace_paths]
            record["action_reason"] = "replace_because_cannot_update"
        resource_changes.append(record)
    planned = [
        {
            **_split(a),
            "provider_name": PROVIDER,
            "schema_version": 0,
            "values": v,
            "sensitive_values": {},
        }
        for a, v in sorted(after_state.items())
    ]
    document = {
        "format_version": "1.2",
        "terraform_version": TOFU_VERSION,
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": resource_changes,
        "configuration": {
            "provider_config": {
                "google": {
                    "name": "google",
                    "full_name": PROVIDER,
                    "expressions": {"project": {"constant_value": PROJECT[env]}},
                }
            },
            "root_module": {},
        },
        "timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "applyable": True,
        "complete": True,
        "errored": False,
    }
    return document, after_state


SYMBOL = {"create": "+", "update": "~", "delete": "-", "create,delete": "+/-"}
VERB = {
    "create": "will be created",
    "update": "will be updated in-place",
    "delete": "will be destroyed",
    "create,delete": "must be replaced",
}


def _counts(changes: list[Change]) -> tuple[int, int, int]:
    add = sum(1 for c in changes if "create" in c.actions)
    change = sum(1 for c in changes if c.actions == ("update",))
    destroy = sum(1 for c in changes if "delete" in c.actions)
    return add, change, destroy


def readable_plan(state: dict, changes: list[Change]) -> bytes:
    """What `tofu show tfplan` prints for the plan."""
    lines = [
        "OpenTofu used the selected providers to generate the following execution",
        "plan. Resource actions are indicated with the following symbols:",
        "  + create",
        "  ~ update in-place",
        "  - destroy",
        "+/- create replacement and then destroy",
        "",
        "OpenTofu will perform the following actions:",
        "",
    ]
    for c in changes:
        key = ",".join(c.actions)
        info = _split(c.address)
        lines.append(f"  # {c.address} {VERB[key]}")
        lines.append(f'  {SYMBOL[key]} resource "{info["type"]}" "{info["name"]}" {{')
        before = state.get(c.address, {})
        for attr, value in (c.after or before).items():
            old = before.get(attr)
            if c.actions == ("create",):
                lines.append(f"      + {attr} = {orjson.dumps(value).decode()}")
            elif c.after is None:
                lines.append(f"      - {attr} = {orjson.dumps(old).decode()} -> null")
            elif old != value:
                note = " # forces replacement" if attr in c.replace_paths else ""
                lines.append(
                    f"      ~ {attr} = {orjson.dumps(old).decode()} -> {orjson.dumps(value).decode()}{note}"
                )
        lines.append("        # (unchanged attributes hidden)" if c.actions != ("create",) else "")
        lines.append("    }")
        lines.append("")
    add, change, destroy = _counts(changes)
    lines.append(f"Plan: {add} to add, {change} to change, {destroy} to destroy.")
    return ("\n".join(line for line in lines) + "\n").encode()


def _duration(seconds: int) -> str:
    return f"{seconds // 60}m{seconds % 60}s" if seconds >= 60 else f"{seconds}s"


def apply_log(state: dict, changes: list[Change], outcome: str) -> bytes:
    """The text `tofu apply tfplan` prints."""
    lines = []
    failed = False
    for index, c in enumerate(changes):
        current = (state.get(c.address) or {}).get("id", "")
        new_id = (c.after or {}).get("id", current)
        took = 14 + 37 * index
        if c.actions == ("create",):
            lines += [f"{c.address}: Creating...", f"{c.address}: Still creating... [10s elapsed]"]
            lines.append(f"{c.address}: Creation complete after {_duration(took)} [id={new_id}]")
        elif c.actions == ("update",):
            lines.append(f"{c.address}: Modifying... [id={current}]")
            lines.append(
                f"{c.address}: Modifications complete after {_duration(took)} [id={current}]"
            )
        elif c.actions == ("delete",):
            lines.append(f"{c.address}: Destroying... [id={current}]")
            lines.append(f"{c.address}: Destruction complete after {_duration(took)}")
        else:
            lines.append(f"{c.address}: Creating...")
            if outcome == "quota":
                info = _split(c.address)
                lines += [
                    "╷",
                    f"│ Error: {QUOTA_ERROR}",
                    "│ ",
                    f"│   with {c.address},",
                    f'│   on gke.tf line 58, in resource "{info["type"]}" "{info["name"]}":',
                    f'│   58: resource "{info["type"]}" "{info["name"]}" {{',
                    "│ ",
                    "╵",
                ]
                failed = True
                break
            lines.append(
                f"{c.address}: Creation complete after {_duration(took + 240)} [id={current}]"
            )
            lines.append(f"{c.address} (deposed object 0d1c7e2a): Destroying... [id={current}]")
            lines.append(f"{c.address}: Destruction complete after {_duration(took)}")
    if not failed:
        add, change, destroy = _counts(changes)
        lines += [
            "",
            f"Apply complete! Resources: {add} added, {change} changed, {destroy} destroyed.",
        ]
    return ("\n".join(lines) + "\n").encode()


def drift_record(env: str, day: datetime) -> dict[str, Any]:
    drifted = []
    if env == "production" and day > DRIFTED_AT:
        drifted.append(
            {
                "address": story.DRIFTED_RESOURCE,
                "type": "google_container_node_pool",
                "provider": PROVIDER,
                "actions": ["update"],
                "changed_attributes": ["node_count"],
            }
        )
    return {
        "kind": "cicl.drift_check/v1",
        "environment": env,
        "checked_at": day.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "workspace": CLUSTER[env],
        "drifted": drifted,
    }


def _dumps(document: Any) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


def apply_log_path(env: str, planned_at: str) -> str:
    """The landing path of the apply log of the SCHEDULE entry planned at ``planned_at``."""
    applied = at(planned_at) + timedelta(minutes=40)
    return f"infra/{env}/apply-{applied:%Y-%m-%dT%H%MZ}.log"


def write_infra(root: Path) -> list[WrittenFile]:
    written = []
    states = {env: _initial_state(env) for env in ENVIRONMENTS}
    for env, change_set, planned_at, outcome in SCHEDULE:
        when = at(planned_at)
        stamp = f"{when:%Y-%m-%dT%H%MZ}"
        changes = _changes(env)[change_set]
        plan, after = _plan_document(env, states[env], changes, when)
        folder = f"infra/{env}"
        written.append(write_file(root, f"{folder}/plan-{stamp}.json", _dumps(plan)))
        written.append(
            write_file(
                root, f"{folder}/plan-readable-{stamp}.txt", readable_plan(states[env], changes)
            )
        )
        applied = when + timedelta(minutes=40)
        log = apply_log(states[env], changes, outcome)
        written.append(write_file(root, f"{folder}/apply-{applied:%Y-%m-%dT%H%MZ}.log", log))
        if outcome == "ok":
            states[env] = after
    day = story.HISTORY_START.replace(hour=6)
    while day < story.TRAFFIC_END:
        for env in ENVIRONMENTS:
            name = f"infra/{env}/drift-{day:%Y-%m-%d}.json"
            written.append(write_file(root, name, _dumps(drift_record(env, day))))
        day += timedelta(days=1)
    return written
