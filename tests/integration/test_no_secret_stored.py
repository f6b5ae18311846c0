"""`scripts/cicl.py run` over a landing zone of secrets (``secret_corpus``), on DuckDB and on the
BigQuery emulator: every string and JSON column of every table is searched with SQL (DuckDB
and Parquet compress strings, so a file grep would prove nothing), and the outbox, the spool
folder, Dagster's storage and the command's output are searched byte by byte."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pytest

from cicl_assets.ingest.redact import pseudonymise
from cicl_assets.ingest.redaction_key import key_from_text
from tests.cicl_runs import Run, cicl_run, environment
from tests.conftest import EMULATOR_PROJECT
from tests.integration.secret_corpus import PREFIX, write_zone
from tests.integration.secret_corpus_streams import SAME_SECRET, USER_IDS, m

pytestmark = [pytest.mark.bigquery]

KEY = "no-secret-stored-test-key-0123456789"
MARKER_KEY = key_from_text(KEY, "test")
# every table the corpus feeds; each must have rows
FED = (
    "otel_spans",
    "otel_logs",
    "eval_scores",
    "user_feedback",
    "deployment_events",
    "commit_pushes",
    "ci_test_cases",
    "ci_coverage",
    "ci_sbom_components",
    "ci_findings",
    "ci_attestations",
    "ci_runs",
    "infra_plans",
    "infra_plan_changes",
    "infra_plan_artifacts",
    "infra_drift_observations",
    "infra_apply_logs",
    "audit_events",
    "slo_reports",
    "ingest_rejects",
)
REJECTED = {
    "audit/rejects/k8s.json",
    "ci/rejects/run.json",
    "ci/rejects/vuln.json",
    "deployments/rejects/native.jsonl",
    "feedback/rejects/native.jsonl",
    "infra/rejects/drift.json",
    "otel/rejects/logs-bytes.json",
    "otel/rejects/logs.json",
    "otel/rejects/trace.json",
    "otel/secrets/broken.json",
    "otel/secrets/unknown.txt",
    "slo/rejects/reports.jsonl",
}
# redacted, not dropped: per stream, a column that holds a secret's keyed marker, and in how many
# rows (the same secret in several rows or files shares one marker)
MARKED = (
    ("otel_spans", "span_attributes", f"{PREFIX}104x", 1),
    ("otel_logs", "attributes", SAME_SECRET, 6),
    ("otel_logs", "body_json", m(9, 6), 1),
    ("eval_scores", "explanation", m(8, 9), 1),
    ("user_feedback", "comment", m(11, 1), 1),
    ("deployment_events", "url", m(13, 2), 1),
    ("commit_pushes", "message", m(18, 2), 1),
    ("ci_test_cases", "properties", m(20, 1), 2),
    ("ci_findings", "raw", m(25, 1), 1),
    ("ci_attestations", "source_repo", m(29, 1), 1),
    ("infra_plan_changes", "address", m(31, 7), 1),
    ("infra_apply_logs", "error", f"{PREFIX}601x-not-real", 1),
    ("audit_events", "details", f"{PREFIX}401x", 1),
    ("slo_reports", "metadata", m(34, 3), 1),
    ("ingest_rejects", "error", m(7, 7), 1),
)


@pytest.fixture(scope="module")
def runs(bigquery_emulator, tmp_path_factory) -> dict[str, Run]:
    zone = tmp_path_factory.mktemp("secret-zone")
    write_zone(zone)
    dataset = f"secrets_{uuid.uuid4().hex[:12]}"
    common = {"CICL_LANDING_URI": str(zone), "CICL_REDACTION_KEY": KEY}
    envs = {
        "duckdb": environment(
            tmp_path_factory.mktemp("duck") / "home",
            {
                **common,
                "CICL_WAREHOUSE": "duckdb",
                "CICL_DUCKDB_PATH": str(tmp_path_factory.mktemp("db") / "w.duckdb"),
            },
        ),
        "bigquery": environment(
            tmp_path_factory.mktemp("bq") / "home",
            {
                **common,
                "CICL_WAREHOUSE": "bigquery",
                "CICL_BQ_PROJECT": EMULATOR_PROJECT,
                "CICL_BQ_DATASET": dataset,
                "CICL_SIGNING_KEY": "",
            },
        ),
    }
    # Production requires a signing key; this test is about redaction, so the BigQuery run
    # signs with a throwaway key the demo tooling makes.
    from demo.keys import SIGNING_KEY, TRUST_FILE, ensure_keys

    keys = ensure_keys(tmp_path_factory.mktemp("keys"))
    envs["bigquery"]["CICL_SIGNING_KEY"] = (keys.folder / SIGNING_KEY).read_text()
    envs["bigquery"]["CICL_TRUST_FILE"] = str(keys.folder / TRUST_FILE)
    with ThreadPoolExecutor(2) as pool:
        done = dict(zip(envs, pool.map(cicl_run, envs.values()), strict=True))
    yield done
    done["bigquery"].warehouse.client.delete_dataset(
        f"{EMULATOR_PROJECT}.{dataset}", delete_contents=True, not_found_ok=True
    )


def _string_columns(schema: pa.Schema) -> list[str]:
    return [
        f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    ]


@pytest.mark.parametrize("engine", ["duckdb", "bigquery"])
def test_no_table_holds_a_secret(runs, engine):
    run = runs[engine]
    assert run.returncode == 0, f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    warehouse = run.warehouse
    counts = warehouse.table_row_counts()
    # the corpus reached every table it feeds, and its bad files were rejected
    assert {t: counts.get(t, 0) > 0 for t in FED} == dict.fromkeys(FED, True)
    assert warehouse.row_count("otel_spans") == 4
    rejected = warehouse.query("SELECT source_file FROM ingest_rejects").column(0).to_pylist()
    assert set(rejected) == REJECTED
    found = []
    searched = 0
    for table in sorted(counts):
        columns = _string_columns(warehouse.table_schema(table))
        if not columns:
            continue
        # the secrets, and the raw user ids that must be stored only as pseudonyms: every
        # string column of the table in one query (a query per column costs minutes)
        hits = warehouse.query(
            " UNION ALL ".join(
                f"SELECT '{column}' AS c, {q} AS v FROM {warehouse.quote(table)} "
                f"WHERE {q} LIKE @pattern OR {q} LIKE @user"
                for column in columns
                for q in [warehouse.quote(column)]
            ),
            {"pattern": f"%{PREFIX}%", "user": "%UIDQ%"},
        )
        searched += len(columns)
        found += [f"{table}.{r['c']}: {r['v'][:200]}" for r in hits.to_pylist()]
    assert searched > 200
    assert found == []
    # redacted, not dropped: the markers are there, and equal values share one
    spans = warehouse.query("SELECT span_attributes AS a FROM otel_spans").column("a").to_pylist()
    redacted = [a for a in spans if "[REDACTED:" in a]
    assert len(redacted) == 3
    assert all('"token_id":"tok-7"' in a.replace(" ", "") for a in redacted)
    marked = {}
    for table, column, secret, _ in MARKED:
        q = warehouse.quote(column)
        marked[table, column] = (
            warehouse.query(
                f"SELECT COUNT(*) AS n FROM {warehouse.quote(table)} WHERE {q} LIKE @marker",
                {"marker": f"%{MARKER_KEY.marker(secret)}%"},
            )
            .column("n")[0]
            .as_py()
        )
    assert marked == {(t, c): n for t, c, _, n in MARKED}
    # users are pseudonyms under the redaction key: one person's two ratings share one
    users = warehouse.query(
        "SELECT user_pseudonym AS u, COUNT(*) AS n FROM user_feedback "
        "WHERE user_pseudonym IS NOT NULL GROUP BY user_pseudonym"
    ).to_pylist()
    assert {(r["u"], r["n"]) for r in users} == {
        (pseudonymise(USER_IDS[0], MARKER_KEY), 2),
        (pseudonymise(USER_IDS[1], MARKER_KEY), 1),
        (pseudonymise(USER_IDS[2], MARKER_KEY), 1),
    }


@pytest.mark.parametrize("engine", ["duckdb", "bigquery"])
def test_no_file_or_log_line_holds_a_secret(runs, engine):
    run = runs[engine]
    home = Path(run.env["DAGSTER_HOME"])
    places = [home, Path(run.env["CICL_OUTBOX_URI"]), Path(run.env["CICL_STATE_DIR"]) / "spool"]
    leaks = [
        str(path)
        for place in places
        if place.exists()
        for path in place.rglob("*")
        if path.is_file() and (PREFIX.encode() in (data := path.read_bytes()) or b"UIDQ" in data)
    ]
    assert leaks == []
    assert PREFIX not in run.stdout + run.stderr
    assert "UIDQ" not in run.stdout + run.stderr
    # the spool folder is emptied when the run ends
    spool = Path(run.env["CICL_STATE_DIR"]) / "spool"
    assert not spool.exists() or list(spool.iterdir()) == []
