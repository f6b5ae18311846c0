import gzip
import json
import shutil
from pathlib import Path

import dagster as dg
import pytest

from cicl_assets.audit.assets import audit_chain_verified, audit_events
from cicl_assets.audit.chain import (
    GENESIS_HASH,
    event_hash,
    read_chain,
    record_action,
    verify_chain,
)
from cicl_assets.audit.tables import AUDIT_EVENTS
from cicl_assets.landing.zone import LandingZone
from tests.redaction import masked

FIXTURES = Path(__file__).parents[1] / "fixtures" / "audit-logs"
CORPUS_EVENTS = 11  # 1 + 1 GCP, 6 + 1 + 1 Kubernetes, 1 GitHub (counted by reading the files)
SECRET_VALUES = (
    "MzFiNGQ0YjctMDAyNi00YzI3LWJiMGItNDk5ZDZkZjg1ZGJi",  # the Secret's data.access-key
    "MY-ID",  # ConfigMap data values
    "MY-KEY",
    "color.good=purple",
)


@pytest.fixture
def landing(tmp_path) -> LandingZone:
    root = tmp_path / "landing"
    (root / "audit" / "corpus").mkdir(parents=True)
    for path in FIXTURES.glob("*.json"):
        shutil.copy(path, root / "audit" / "corpus" / path.name)
    secret_event = (FIXTURES / "falco__create_secret.json").read_text().strip()
    wrapped = {"properties": {"log": json.dumps({**json.loads(secret_event), "auditID": "w-1"})}}
    (root / "audit" / "azure-kube-audit.json").write_text(json.dumps(wrapped))
    pod = (FIXTURES / "falco__create_nginx_pod_privileged.json").read_bytes()
    (root / "audit" / "again" / "pod.json.gz").parent.mkdir()
    (root / "audit" / "again" / "pod.json.gz").write_bytes(gzip.compress(pod + b"\n"))
    lines = (FIXTURES / "falco__create_configmap_sensitive_values.json").read_text().splitlines()
    (root / "audit" / "broken.jsonl").write_text("\n".join([lines[0], '{"auditID": ']) + "\n")
    return LandingZone(uri=str(root))


def run(warehouse, landing, cicl_config, instance=None) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [audit_events, audit_chain_verified],
        resources={"warehouse": warehouse, "landing": landing, "cicl_config": cicl_config},
        instance=instance,
        raise_on_error=False,
    )


def check_of(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == "audit_chain_verified"
    return evaluation


def metadata_of(result: dg.ExecuteInProcessResult) -> dict:
    (mat,) = result.asset_materializations_for_node("audit_events")
    return {k: v.value for k, v in mat.metadata.items()}


def test_audit_events_ingest_chain_and_rerun(duckdb_warehouse, landing, cicl_config):
    result = run(duckdb_warehouse, landing, cicl_config)
    assert result.success
    assert check_of(result).passed
    meta = metadata_of(result)
    assert meta["events_appended"] == CORPUS_EVENTS + 1
    assert meta["chain_length"] == CORPUS_EVENTS + 1
    assert {k: v for k, v in meta.items() if k.startswith("events_by_")} == {
        "events_by_source/cicl": 0,
        "events_by_source/cicl_ci": 0,
        "events_by_source/gcp_audit": 2,
        "events_by_source/github_audit": 1,
        "events_by_source/k8s_audit": 9,
        "events_by_outcome/denied": 0,
        "events_by_outcome/failure": 0,
        "events_by_outcome/success": 12,
        "events_by_outcome/unknown": 0,
    }
    # the gzipped copy of the pod event is staged again but chained once
    assert meta["files_ingested"] == 8 and meta["files_rejected"] == 1
    assert meta["rows_written"] == CORPUS_EVENTS + 2
    rows = read_chain(duckdb_warehouse)
    assert meta["last_hash"] == rows[-1]["hash"]
    assert [r["seq"] for r in rows] == list(range(1, 13))
    # ingestion order within a batch is event time order
    assert [r["event_time"] for r in rows] == sorted(r["event_time"] for r in rows)
    assert rows[0]["event_id"] == "a362d22b-db3c-4590-9505-23782f12925f/ResponseComplete"
    wrapped = [r for r in rows if r["event_id"] == "w-1/ResponseComplete"]
    assert wrapped[0]["source_file"] == "audit/azure-kube-audit.json"
    (reject,) = duckdb_warehouse.query("SELECT source_file, error FROM ingest_rejects").to_pylist()
    assert reject["source_file"] == "audit/broken.jsonl"
    assert reject["error"].startswith(
        "audit/broken.jsonl: k8s-audit: invalid JSON at line 2, column 12"
    )

    again = run(duckdb_warehouse, landing, cicl_config)
    assert again.success and check_of(again).passed
    assert metadata_of(again)["events_appended"] == 0
    assert duckdb_warehouse.row_count("audit_events") == CORPUS_EVENTS + 1
    assert read_chain(duckdb_warehouse) == rows


def test_no_secret_value_reaches_the_warehouse(duckdb_warehouse, landing, cicl_config):
    assert run(duckdb_warehouse, landing, cicl_config).success
    for table in ("audit_events", "audit_events_staging", "ingest_rejects"):
        text = json.dumps(duckdb_warehouse.read_table(table).to_pylist(), default=str)
        for value in SECRET_VALUES:
            assert value not in text, f"{value} found in {table}"
    rows = {r["event_id"]: r for r in read_chain(duckdb_warehouse)}
    secret = rows["c07ab0e2-9b07-4cc6-8e3b-91ac69586a1f/ResponseComplete"]
    record = masked(json.loads(secret["details"])["record"])
    assert record["requestObject"]["data"] == {"access-key": "[REDACTED]"}
    assert record["responseObject"]["metadata"]["name"] == "sysdig-agent"
    assert secret["resource"] == "namespaces/sysdig-agent/secrets/sysdig-agent"
    configmap = rows["6beb5311-472e-48ce-80a6-4c6388fc17da/ResponseComplete"]
    cm_record = masked(json.loads(configmap["details"])["record"])
    assert cm_record["responseObject"]["data"] == {
        "access.properties": "[REDACTED]",
        "ui.properties": "[REDACTED]",
    }
    assert cm_record["objectRef"]["name"] == "my-config"
    assert configmap["actor"] == "minikube-user"


RESET_HINT = (
    "; if the table was emptied or replaced on purpose, record it with "
    "`scripts/cicl.py audit-reset --reason ...`"
)

# (statement, first broken seq, reason, seq the named row had before the tampering)
TAMPERING = [
    (
        "UPDATE audit_events SET actor = 'mallory' WHERE seq = 3",
        3,
        "seq 3 (event_id {event}): hash mismatch (the row's content was edited)",
        3,
    ),
    (
        "DELETE FROM audit_events WHERE seq = 4",
        4,
        "seq 4 is missing (a row was deleted); the next row is seq 5 (event_id {event})",
        5,
    ),
    (
        "UPDATE audit_events SET seq = CASE WHEN seq = 2 THEN 5 ELSE 2 END WHERE seq IN (2, 5)",
        2,
        "seq 2 (event_id {event}): prev_hash does not match the hash of seq 1 (rows were "
        "reordered, or an earlier row was removed or replaced)",
        5,
    ),
]


@pytest.mark.parametrize(("statement", "broken_seq", "reason", "named_seq"), TAMPERING)
def test_tampering_fails_the_blocking_check_naming_the_first_broken_link(
    duckdb_warehouse, landing, cicl_config, statement, broken_seq, reason, named_seq
):
    assert run(duckdb_warehouse, landing, cicl_config).success
    seq_ids = {r["seq"]: r["event_id"] for r in read_chain(duckdb_warehouse)}
    duckdb_warehouse.execute(statement)
    evaluation = check_of(run(duckdb_warehouse, landing, cicl_config))
    assert not evaluation.passed
    meta = {k: v.value for k, v in evaluation.metadata.items()}
    assert meta["first_broken_seq"] == broken_seq
    assert meta["reason"] == reason.format(event=seq_ids[named_seq]) + RESET_HINT
    assert meta["first_broken_event_id"] == seq_ids[named_seq]


def test_a_consistently_rewritten_chain_is_caught_by_the_published_heads(
    duckdb_warehouse, landing, cicl_config
):
    instance = dg.DagsterInstance.ephemeral()
    assert run(duckdb_warehouse, landing, cicl_config, instance).success
    rows = read_chain(duckdb_warehouse)
    recorded = rows[-1]["hash"]
    rows[2]["actor"] = "mallory"
    prev = GENESIS_HASH
    for row in rows:  # re-compute every hash so the chain links up on its own
        row["prev_hash"], row["hash"] = prev, event_hash(prev, row)
        prev = row["hash"]
    assert verify_chain(rows).ok
    duckdb_warehouse.replace_table(AUDIT_EVENTS, AUDIT_EVENTS.from_records(rows))
    # a fresh Dagster instance: nothing is read from an earlier run's event log
    evaluation = check_of(
        run(duckdb_warehouse, landing, cicl_config, dg.DagsterInstance.ephemeral())
    )
    assert not evaluation.passed
    meta = {k: v.value for k, v in evaluation.metadata.items()}
    assert meta["first_broken_seq"] == CORPUS_EVENTS + 1
    assert meta["reason"] == (
        f"seq {CORPUS_EVENTS + 1} (event_id {rows[-1]['event_id']}): hash differs from the one "
        f"recorded for this seq earlier ({recorded[:16]}...): the chain was rewritten from here "
        "or before" + RESET_HINT
    )


def test_round_trip_on_every_warehouse(any_warehouse, landing, cicl_config):
    result = run(any_warehouse, landing, cicl_config)
    assert result.success and check_of(result).passed
    action = record_action(
        any_warehouse,
        action="candidate.review_triggered",
        actor="slo_breach_sensor",
        resource="slo/workflow-latency",
        details={"burn_rate": 14.4, "window": "1h", "Authorization": "Bearer abcdefgh12345"},
        event_id="review:slo/workflow-latency:2026-11-03T04",
        notary=cicl_config.chain_notary(any_warehouse),
    )
    assert action.seq == CORPUS_EVENTS + 2
    assert masked(json.loads(action.details)) == {
        "Authorization": "[REDACTED]",
        "burn_rate": 14.4,
        "window": "1h",
    }
    again = record_action(
        any_warehouse,
        action="candidate.review_triggered",
        actor="slo_breach_sensor",
        resource="slo/workflow-latency",
        event_id="review:slo/workflow-latency:2026-11-03T04",
    )
    assert again.hash == action.hash and again.seq == action.seq
    rerun = run(any_warehouse, landing, cicl_config)
    assert rerun.success and check_of(rerun).passed
    assert metadata_of(rerun)["events_by_source/cicl"] == 1
    rows = read_chain(any_warehouse)
    assert len(rows) == CORPUS_EVENTS + 2
    assert verify_chain(rows).ok
    assert rows[-1]["source_file"] is None and rows[-1]["source"] == "cicl"


def test_an_empty_landing_zone_makes_an_empty_valid_chain(duckdb_warehouse, tmp_path, cicl_config):
    result = run(duckdb_warehouse, LandingZone(uri=str(tmp_path / "nothing-here")), cicl_config)
    assert result.success and check_of(result).passed
    meta = metadata_of(result)
    assert (meta["chain_length"], meta["events_appended"], meta["last_hash"]) == (0, 0, "0" * 64)
    assert duckdb_warehouse.row_count("audit_events") == 0
