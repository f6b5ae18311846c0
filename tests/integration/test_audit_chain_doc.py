"""The re-verification recipe in docs/audit-chain.md works as written, without cicl."""

import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from cicl_assets.audit.chain import (
    GENESIS_HASH,
    append_events,
    event_hash,
    read_chain,
    record_action,
)
from cicl_assets.audit.stream import parse_audit_file
from cicl_assets.audit.tables import AUDIT_EVENTS
from cicl_assets.signer import Ed25519Signer, public_key_pem
from tests.signing_keys import signed_config
from tests.unit.audit.test_chain import event

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
    script.write_text(doc_block("python", "KEYS = "))
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


@pytest.fixture
def published(duckdb_warehouse, tmp_path):
    """A chain appended in two batches with its heads signed and published, and the key's PEM."""
    signer = Ed25519Signer.generate()
    notary = signed_config(tmp_path / "chain", signer).chain_notary(duckdb_warehouse)
    append_events(duckdb_warehouse, [event(1), event(2)], notary)
    append_events(duckdb_warehouse, [event(3)], notary)
    pem = tmp_path / "cicl.pub.pem"
    pem.write_text(public_key_pem(signer.public_key()))
    return notary, pem


def verify_heads(warehouse, notary, workdir: Path, *pems: Path) -> subprocess.CompletedProcess:
    assert export_and_verify(warehouse.path, workdir).returncode == 0
    script = workdir / "verify_heads.py"
    script.write_text(doc_block("python", "load_pem_public_key"))
    folder = Path(notary.store.uri) / notary.location.folder
    return subprocess.run(
        [sys.executable, "-I", str(script), str(workdir / "chain.jsonl"), str(folder)]
        + [str(p) for p in pems],
        capture_output=True,
        text=True,
        check=False,
    )


def test_doc_heads_script_verifies_the_published_heads(duckdb_warehouse, published, tmp_path):
    notary, pem = published
    done = verify_heads(duckdb_warehouse, notary, tmp_path, pem)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(" signed ")[0] for line in lines[:-1]] == ["head at seq 2", "head at seq 3"]
    chain_id = next(iter(notary.read().chains))
    assert lines[-1] == f"ok: chain {chain_id}, 3 events, last signed head at seq 3"


def _forge(warehouse) -> None:
    rows = read_chain(warehouse)
    forged = {**rows[-1], "event_id": "forged", "seq": 4}
    forged["prev_hash"], forged["hash"] = rows[-1]["hash"], event_hash(rows[-1]["hash"], forged)
    warehouse.append(AUDIT_EVENTS, AUDIT_EVENTS.from_records([forged]))


def _rewrite(warehouse) -> None:
    rows = read_chain(warehouse)
    rows[0]["actor"] = "mallory"
    prev = GENESIS_HASH
    for row in rows:
        row["prev_hash"], row["hash"] = prev, event_hash(prev, row)
        prev = row["hash"]
    warehouse.replace_table(AUDIT_EVENTS, AUDIT_EVENTS.from_records(rows))


@pytest.mark.parametrize(
    ("tamper", "error"),
    [
        (_forge, "events after seq 3 are not covered by a signed head (forged?)"),
        (_rewrite, "broken at seq 2: differs from the signed head (rewritten or truncated)"),
        (
            lambda w: w.execute("DELETE FROM audit_events WHERE seq = 3"),
            "broken at seq 3: differs from the signed head (rewritten or truncated)",
        ),
    ],
    ids=["forged-append", "rewrite", "truncation"],
)
def test_doc_heads_script_names_what_the_heads_do_not_cover(
    duckdb_warehouse, published, tmp_path, tamper, error
):
    notary, pem = published
    tamper(duckdb_warehouse)
    done = verify_heads(duckdb_warehouse, notary, tmp_path, pem)
    assert done.returncode == 1
    assert done.stderr.strip().endswith(error)


def test_doc_heads_script_refuses_a_key_it_was_not_given(duckdb_warehouse, published, tmp_path):
    notary, _ = published
    other = tmp_path / "other.pub.pem"
    other.write_text(public_key_pem(Ed25519Signer.generate().public_key()))
    done = verify_heads(duckdb_warehouse, notary, tmp_path, other)
    assert done.returncode == 1
    assert "genesis.json: not signed by any of the given keys" in done.stderr
