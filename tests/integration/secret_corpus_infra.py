"""The secret corpus of the infra and slo streams (OpenTofu plan JSON, readable plans, drift
reports; slo-generator reports) and a rejected file of every stream whose bad value is a
secret; each secret ``MKQ<series><nn>``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.secret_corpus_streams import FIXTURES, m, straddling

# --- infra ------------------------------------------------------------------------------------


def tofu_plan(series: int) -> dict:
    """An OpenTofu ``show -json`` plan whose variables, before/after values (sensitive and
    not), outputs and configuration hold secrets."""
    before = {"name": "db", "password": m(series, 1), "labels": {"env": "prod"}}
    after = {
        "name": "db",
        "password": m(series, 2),
        "labels": {"env": "prod", "note": f"api_key={m(series, 3)}"},
        "connection": f"postgres://app:{m(series, 4)}@db.internal:5432/app",
    }
    return {
        "format_version": "1.2",
        "terraform_version": "1.8.5",
        "variables": {
            "db_password": {"value": m(series, 5)},
            "region": {"value": "europe-west1"},
        },
        "planned_values": {
            "outputs": {"dsn": {"sensitive": True, "value": m(series, 6)}},
            "root_module": {
                "resources": [
                    {
                        "address": "google_sql_user.app",
                        "mode": "managed",
                        "type": "google_sql_user",
                        "name": "app",
                        "provider_name": "registry.opentofu.org/hashicorp/google",
                        "values": after,
                        "sensitive_values": {"password": True},
                    }
                ]
            },
        },
        "resource_changes": [
            {
                "address": "google_sql_user.app",
                "mode": "managed",
                "type": "google_sql_user",
                "name": "app",
                "provider_name": "registry.opentofu.org/hashicorp/google",
                "change": {
                    "actions": ["update"],
                    "before": before,
                    "after": after,
                    "after_unknown": {},
                    "before_sensitive": {"password": True},
                    "after_sensitive": {"password": True},
                },
            },
            {
                "address": f'google_secret_manager_secret_version.v["token={m(series, 7)}"]',
                "mode": "managed",
                "type": "google_secret_manager_secret_version",
                "name": "v",
                "index": f"token={m(series, 7)}",
                "provider_name": "registry.opentofu.org/hashicorp/google",
                "change": {
                    "actions": ["create"],
                    "before": None,
                    "after": {"secret_data": m(series, 8)},
                    "after_unknown": {"id": True},
                    "before_sensitive": False,
                    "after_sensitive": {"secret_data": True},
                },
            },
        ],
        "output_changes": {
            "dsn": {
                "actions": ["update"],
                "before": m(series, 9),
                "after": m(series, 10),
                "after_unknown": False,
                "before_sensitive": True,
                "after_sensitive": True,
            }
        },
        "configuration": {
            "root_module": {
                "variables": {"db_password": {"default": m(series, 11), "sensitive": True}}
            }
        },
        "timestamp": "2026-10-26T08:00:00Z",
    }


def write_infra(root: Path) -> None:
    folder = root / "infra" / "prod"
    folder.mkdir(parents=True)
    (folder / "plan.json").write_text(json.dumps(tofu_plan(31)))
    drift = {
        "kind": "cicl.drift_check/v1",
        "environment": "prod",
        "checked_at": "2026-10-26T06:00:00Z",
        "workspace": f"gke-prod?token={m(32, 1)}",
        "drifted": [
            {
                "address": "google_sql_user.app",
                "type": "google_sql_user",
                "provider": "registry.opentofu.org/hashicorp/google",
                "actions": ["update"],
                "changed_attributes": ["password"],
                "before": {"password": m(32, 2)},
                "after": {"password": m(32, 3)},
            }
        ],
    }
    (folder / "drift.json").write_text(json.dumps(drift))
    readable = (FIXTURES / "tofu-plans" / "cicl-plan-readable.txt").read_text()
    readable = readable.replace(
        '      + name           = "flow-cache"',
        f'      + name           = "flow-cache"\n      + auth_string    = "{m(33, 1)}"\n'
        f'      + password       = "{m(33, 2)}"',
    )
    assert m(33, 1) in readable
    (folder / "plan.txt").write_text(readable)


# --- slo --------------------------------------------------------------------------------------


def write_slo(root: Path) -> None:
    folder = root / "slo" / "secrets"
    folder.mkdir(parents=True)
    report = {
        "service_name": "workbench-ui",
        "feature_name": "pages",
        "slo_name": "page-availability",
        "slo_target": 0.999,
        "slo_description": f"probe uses https://probe:{m(34, 1)}@ui.example.com/health",
        "error_budget_policy_step_name": "1 hour",
        "error_budget_remaining_minutes": 0.01,
        "consequence_message": f"page on-call via https://hooks.slack.com/services/T01/B02/"
        f"{m(34, 2, 'abcdefghijklmn')}",
        "error_budget_minutes": 0.06,
        "error_minutes": 0.05,
        "error_budget_target": 0.001,
        "timestamp_human": "2026-10-26 10:00:00 UTC",
        "timestamp": 1793008800,
        "cadence": "hourly",
        "window": "3600",
        "bad_events_count": "3",
        "good_events_count": "3997",
        "sli_measurement": 0.99925,
        "gap": 0.00025,
        "error_budget_measurement": 0.75,
        "error_budget_burn_rate": 0.75,
        "alerting_burn_rate_threshold": 9.0,
        "alert": "false",
        "metadata": [
            {"key": "team", "value": "ui"},
            {"key": "exporter_token", "value": m(34, 3)},
        ],
    }
    (folder / "reports.jsonl").write_text(json.dumps(report) + "\n")


def _jwt(series: int, n: int) -> str:
    """A JWT long enough that an error message shortening it to 80 characters cuts its
    signature to two characters: only the whole value is recognisable as a secret."""
    head = "eyJ" + m(series, n, "a" * 33)
    return f"{head}.eyJ{'b' * 33}.cd{'e' * 20}"


def write_rejects(root: Path) -> None:
    """One rejected file per stream, its bad value a secret the message would quote."""
    files = {
        "otel/rejects/logs.json": {
            "resourceLogs": [
                {"scopeLogs": [{"logRecords": [{"timeUnixNano": f"token={m(7, 3)}", "body": {}}]}]}
            ]
        },
        "feedback/rejects/native.jsonl": {
            "kind": "cicl.feedback/v1",
            "rating": f"ghp_{m(7, 4, 'a' * 30)}",
            "at": "2026-10-26T10:00:00Z",
        },
        "deployments/rejects/native.jsonl": {
            "kind": "cicl.deployment/v1",
            "deployment_id": "dep-bad",
            "environment": "prod",
            "status": "succeeded",
            "started_at": _jwt(7, 5),
        },
        "ci/rejects/run.json": {
            "kind": "cicl.ci_run/v1",
            "pipeline_run_id": "run-bad",
            "pipeline": "build",
            "status": f"xoxb-{m(7, 6, 'abcdefghij')}",
        },
        "infra/rejects/drift.json": {
            "kind": "cicl.drift_check/v1",
            "environment": "prod",
            "checked_at": f"password={m(7, 7)}",
            "drifted": [],
        },
        "audit/rejects/k8s.json": {
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "auditID": "bad-1",
            "verb": "get",
            "requestReceivedTimestamp": f"Bearer {m(7, 8, 'abcdefgh')}",
            "stageTimestamp": _jwt(7, 13),
        },
        "slo/rejects/reports.jsonl": {
            "service_name": "ui",
            "feature_name": "pages",
            "slo_name": "availability",
            "window": f"api_key={m(7, 9)}",
            "error_budget_burn_rate": 1.0,
            "timestamp": 1793008800,
        },
    }
    # quoted shortened to 40 characters (bytesValue) or 60 (a report's start)
    bytes_value = {"key": "blob", "value": {"bytesValue": straddling(40, 7, 10)}}
    files["otel/rejects/trace.json"] = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "name": "s",
                                "startTimeUnixNano": "1793000000000000000",
                                "endTimeUnixNano": "1793000000000000001",
                                "attributes": [bytes_value],
                            }
                        ]
                    }
                ]
            }
        ]
    }
    bytes_value = {"key": "blob", "value": {"bytesValue": straddling(40, 7, 11)}}
    files["otel/rejects/logs-bytes.json"] = {
        "resourceLogs": [
            {
                "scopeLogs": [
                    {
                        "logRecords": [
                            {"timeUnixNano": "1793000000000000000", "attributes": [bytes_value]}
                        ]
                    }
                ]
            }
        ]
    }
    files["ci/rejects/vuln.json"] = {
        "scanner": {
            "uri": "scanner.example.com",
            "result": {"note": straddling(60, 7, 12, "-" * 10)[10:]},
        },
        "metadata": {"scanStartedOn": "2026-10-26T00:00:00Z"},
    }
    for relative, doc in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc) + "\n")
