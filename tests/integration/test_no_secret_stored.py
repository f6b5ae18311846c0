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

from tests.cicl_runs import Run, cicl_run, environment
from tests.conftest import EMULATOR_PROJECT
from tests.integration.secret_corpus import PREFIX, write_zone

pytestmark = [pytest.mark.bigquery]

KEY = "no-secret-stored-test-key-0123456789"


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
    # the corpus reached every stream it feeds, and its bad files were rejected
    assert {
        t: counts.get(t, 0) > 0
        for t in (
            "otel_spans",
            "audit_events",
            "ci_test_cases",
            "infra_apply_logs",
            "ingest_rejects",
        )
    } == dict.fromkeys(
        ("otel_spans", "audit_events", "ci_test_cases", "infra_apply_logs", "ingest_rejects"), True
    )
    assert warehouse.row_count("otel_spans") == 3
    found = []
    searched = 0
    for table in sorted(counts):
        schema = warehouse.table_schema(table)
        for column in _string_columns(schema):
            q = warehouse.quote(column)
            hits = warehouse.query(
                f"SELECT {q} AS v FROM {warehouse.quote(table)} WHERE {q} LIKE @pattern",
                {"pattern": f"%{PREFIX}%"},
            )
            searched += 1
            found += [f"{table}.{column}: {v[:200]}" for v in hits.column("v").to_pylist()]
    assert searched > 50
    assert found == []
    # redacted, not dropped: the markers are there, and equal values share one
    spans = warehouse.query("SELECT span_attributes AS a FROM otel_spans").column("a").to_pylist()
    assert all("[REDACTED:" in a for a in spans)
    assert all('"token_id":"tok-7"' in a.replace(" ", "") for a in spans)


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
        if path.is_file() and PREFIX.encode() in path.read_bytes()
    ]
    assert leaks == []
    assert PREFIX not in run.stdout + run.stderr
    # the spool folder is emptied when the run ends
    spool = Path(run.env["CICL_STATE_DIR"]) / "spool"
    assert not spool.exists() or list(spool.iterdir()) == []
