from datetime import UTC, datetime, timedelta

import pytest

from cicl_assets.ingest.redact import redact_text
from cicl_assets.ingest.values import parse_seconds
from tests.redaction import masked
from tests.unit.infra.fixtures import parse_fixture, parse_infra


def _rows(name, environment="production"):
    fmt, tables = parse_fixture(name, environment)
    assert fmt == "tofu-apply-log"
    return tables["infra_apply_logs"]


def test_successful_apply_with_ansi_colours():
    rows = _rows("cicl-apply-2026-11-04T0905Z.log")
    outcomes = [(r["address"], r["action"], r["outcome"], r["elapsed_s"]) for r in rows]
    assert outcomes == [
        ("google_compute_firewall.legacy_ssh", "delete", "destroyed", 11.0),
        ("module.gke.google_container_node_pool.primary", "update", "updated", 72.0),
        ("google_redis_instance.cache", "create", "created", 243.0),
        (
            'google_secret_manager_secret_iam_member.runtime["db-password"]',
            "create",
            "created",
            6.0,
        ),
        (None, "apply", "summary", None),
    ]
    summary = rows[-1]
    assert (summary["added"], summary["changed"], summary["destroyed"]) == (2, 1, 1)
    assert (
        rows[2]["resource_id"]
        == "projects/coditect-prod/locations/us-central1/instances/flow-cache"
    )
    assert rows[0]["resource_id"] is None  # destruction lines carry no id
    applied = datetime(2026, 11, 4, 9, 5, tzinfo=UTC)  # from the file name
    assert {r["applied_at"] for r in rows} == {applied}
    assert {r["expires_at"] for r in rows} == {applied + timedelta(days=90)}
    assert {r["environment"] for r in rows} == {"production"}
    assert len({r["apply_id"] for r in rows}) == 1


def test_failed_apply_names_the_resource_and_redacts_secrets():
    rows = _rows("cicl-apply-staging-failed.log", "stg")
    by_outcome = {r["outcome"]: r for r in rows}
    assert [r["outcome"] for r in rows] == ["updated", "failed", "failed"]
    failed = rows[1]
    assert failed["address"] == "google_sql_database_instance.replica"
    assert failed["action"] == "create"
    assert failed["error"] == (
        "Error, failed to create instance flow-db-replica: googleapi: Error 409: The Cloud SQL "
        "instance already exists. When you delete an instance, you can't reuse the name of the "
        "deleted instance until one week from the deletion date., instanceAlreadyExists"
    )
    assert "cloudsql.tf line 41" not in failed["error"]  # source excerpts are not the message
    summary = rows[-1]
    assert summary["address"] is None and summary["environment"] == "staging"
    assert (summary["added"], summary["changed"], summary["destroyed"]) == (0, 1, 0)
    assert "hunter2" not in summary["error"] and "password=[REDACTED]" in masked(summary["error"])
    # GitHub Actions style leading timestamps date the apply
    assert by_outcome["updated"]["applied_at"] == datetime(
        2026, 11, 5, 7, 30, 1, 123456, tzinfo=UTC
    )


def test_log_that_stops_midway_is_incomplete_not_rejected():
    [summary] = _rows("cicl-apply-dev-interrupted.log", "dev")
    assert summary["outcome"] == "incomplete"
    assert summary["applied_at"] is None and summary["retention_basis"] == "ingested_at"


def test_destroy_run_and_import_and_deposed_objects():
    log = (
        b"aws_instance.web (deposed object 1a2b3c4d): Destroying... [id=i-0abc]\n"
        b"aws_instance.web (deposed object 1a2b3c4d): Destruction complete after 450ms\n"
        b"google_project.p: Importing... [id=projects/p]\n"
        b"google_project.p: Import complete [id=projects/p]\n"
        b"\n"
        b"Destroy complete! Resources: 1 destroyed.\n"
    )
    _, tables = parse_infra(log, "infra/dev/apply-destroy.log")
    rows = tables["infra_apply_logs"]
    assert [(r["address"], r["outcome"]) for r in rows] == [
        ("aws_instance.web", "destroyed"),
        ("google_project.p", "imported"),
        (None, "summary"),
    ]
    assert rows[0]["elapsed_s"] == 0.45
    assert (rows[-1]["action"], rows[-1]["destroyed"], rows[-1]["added"]) == ("destroy", 1, 0)


def test_interactive_apply_log_starting_with_plan_text_is_an_apply_log():
    log = (
        b"OpenTofu used the selected providers to generate the following execution\nplan.\n\n"
        b"Plan: 1 to add, 0 to change, 0 to destroy.\n\nDo you want to perform these actions?\n"
        b"  Enter a value: yes\n\nnull_resource.x: Creating...\n"
        b"null_resource.x: Creation complete after 0s [id=123]\n\n"
        b"Apply complete! Resources: 1 added, 0 changed, 0 destroyed.\n"
    )
    fmt, tables = parse_infra(log, "infra/dev/apply.log")
    assert fmt == "tofu-apply-log"
    assert [r["outcome"] for r in tables["infra_apply_logs"]] == ["created", "summary"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("3s", 3.0), ("1m12s", 72.0), ("1h2m3s", 3723.0), ("450ms", 0.45), ("0s", 0.0), (None, None)],
)
def test_elapsed_seconds(text, seconds):
    assert parse_seconds(text) == seconds


def test_redact_secrets_and_tokens():
    text = 'token: abc123 api_key="k-1" ya29.a0AfH6SMB AKIAABCDEFGHIJKLMNOP kept'
    out = redact_text(text)
    assert "abc123" not in out and "k-1" not in out and "ya29" not in out and "AKIA" not in out
    assert out.endswith("kept")
