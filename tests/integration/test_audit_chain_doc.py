"""The re-verification recipe in docs/audit-chain.md works as written, without cicl."""

import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from cicl_assets.audit.chain import append_events, record_action
from cicl_assets.audit.stream import parse_audit_file

DOC = (Path(__file__).parents[2] / "docs" / "audit-chain.md").read_text()
FIXTURES = Path(__file__).parents[1] / "fixtures" / "audit-logs"


def doc_block(lang: str, contains: str) -> str:
    blocks = re.findall(rf"```{lang}\n(.*?)```", DOC, re.S)
    (block,) = [b for b in blocks if contains in b]
    return block


@pytest.fixture
def exported(duckdb_warehouse, tmp_path) -> Path:
    for path in sorted(FIXTURES.glob("*.json")):
        for _, rows in parse_audit_file(path.read_bytes(), f"audit/{path.name}"):
            append_events(
                duckdb_warehouse, [{**r, "source_file": f"audit/{path.name}"} for r in rows]
            )
    record_action(
        duckdb_warehouse,
        action="release",
        actor="cicl",
        resource='release/ünïcode "quoted"\n',
        details={"note": "tab\there"},
    )
    return tmp_path


def export_and_verify(warehouse_path: str, workdir: Path) -> subprocess.CompletedProcess:
    copy = doc_block("sql", "COPY").replace("cicl.audit_events", "audit_events")
    con = duckdb.connect(warehouse_path)
    try:
        con.execute("USE cicl")
        for statement in filter(str.strip, copy.split(";")):
            con.execute(statement.replace("'chain.jsonl'", f"'{workdir / 'chain.jsonl'}'"))
    finally:
        con.close()
    script = workdir / "verify.py"
    script.write_text(doc_block("python", "hashlib"))
    assert len(script.read_text().splitlines()) <= 22
    return subprocess.run(
        [sys.executable, "-I", str(script), str(workdir / "chain.jsonl")],
        capture_output=True,
        text=True,
        check=False,
    )


def test_doc_script_verifies_an_exported_chain(duckdb_warehouse, exported):
    done = export_and_verify(duckdb_warehouse.path, exported)
    assert done.returncode == 0, done.stderr
    [last] = duckdb_warehouse.query("SELECT hash FROM audit_events WHERE seq = 12").to_pylist()
    assert done.stdout == f"ok: 12 events, last hash {last['hash']}\n"


def test_doc_script_names_an_edited_row(duckdb_warehouse, exported):
    duckdb_warehouse.execute("UPDATE audit_events SET resource = 'x' WHERE seq = 7")
    done = export_and_verify(duckdb_warehouse.path, exported)
    assert done.returncode == 1
    [row] = duckdb_warehouse.query("SELECT event_id FROM audit_events WHERE seq = 7").to_pylist()
    assert (
        done.stderr == f"broken at seq 7 (event_id {row['event_id']}): hash mismatch: row edited\n"
    )
