import hashlib
import itertools
import json
import multiprocessing
from datetime import UTC, datetime, timedelta

import pytest

from cicl_assets.audit.chain import (
    GENESIS_HASH,
    append_events,
    canonical_json,
    read_chain,
    record_action,
    verify_chain,
)
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse

T0 = datetime(2026, 11, 3, 4, 12, tzinfo=UTC)


def event(i: int, *, minutes: int | None = None, source_file: str | None = "audit/a.jsonl"):
    return {
        "event_id": f"e{i}",
        "event_time": T0 + timedelta(minutes=i if minutes is None else minutes),
        "source": "cicl_ci",
        "actor": "ci-bot",
        "action": "unit",
        "resource": "wr-1",
        "outcome": "success",
        "details": {"n": i, "note": "naïve ✓"},
        "source_file": source_file,
    }


def independent_verify(rows: list[dict]) -> bool:
    """The auditor's re-verification, written from docs/audit-chain.md only."""
    keys = (
        "event_id event_time source actor action resource outcome environment commit_sha "
        "image_digest pipeline_run_id source_ip user_agent details source_file"
    ).split()
    prev = "0" * 64
    for n, row in enumerate(sorted(rows, key=lambda r: r["seq"]), 1):
        doc = {k: row[k] for k in keys}
        doc["event_time"] = row["event_time"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        body = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(prev.encode() + body.encode()).hexdigest()
        if row["seq"] != n or row["prev_hash"] != prev or row["hash"] != digest:
            return False
        prev = digest
    return True


def test_append_orders_the_batch_and_links_every_event(duckdb_warehouse):
    batch = [event(3), event(1), event(2, source_file="audit/b.jsonl"), event(4, minutes=2)]
    chained = append_events(duckdb_warehouse, batch)
    # event_time, then source_file (e4 in a.jsonl before e2 in b.jsonl), then event_id
    assert [c.event_id for c in chained] == ["e1", "e4", "e2", "e3"]
    assert [c.seq for c in chained] == [1, 2, 3, 4]
    assert chained[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(chained))
    rows = read_chain(duckdb_warehouse)
    assert [r["event_id"] for r in rows] == ["e1", "e4", "e2", "e3"]
    assert json.loads(rows[0]["details"]) == {"n": 1, "note": "naïve ✓"}
    assert verify_chain(rows).ok
    assert independent_verify(rows)


def test_re_appending_adds_nothing_and_new_events_continue_the_chain(duckdb_warehouse):
    first = append_events(duckdb_warehouse, [event(1), event(2)])
    assert append_events(duckdb_warehouse, [event(2), event(1)]) == []
    more = append_events(duckdb_warehouse, [event(2), event(0), event(3), event(3)])
    # e0 is older than the chained events but is appended after them: ingestion order
    assert [(c.event_id, c.seq) for c in more] == [("e0", 3), ("e3", 4)]
    assert more[0].prev_hash == first[-1].hash
    assert duckdb_warehouse.row_count("audit_events") == 4
    assert verify_chain(read_chain(duckdb_warehouse)).checked == 4


def test_same_event_id_from_another_source_is_a_different_event(duckdb_warehouse):
    append_events(duckdb_warehouse, [event(1)])
    other = {**event(1), "source": "github_audit"}
    assert [c.source for c in append_events(duckdb_warehouse, [other])] == ["github_audit"]


def test_invalid_events_are_refused(duckdb_warehouse):
    with pytest.raises(ValueError, match="outcome 'ok'"):
        append_events(duckdb_warehouse, [{**event(1), "outcome": "ok"}])
    with pytest.raises(ValueError, match="source 'jenkins'"):
        append_events(duckdb_warehouse, [{**event(1), "source": "jenkins"}])
    with pytest.raises(ValueError, match="not in audit_events"):
        append_events(duckdb_warehouse, [{**event(1), "colour": "red"}])


def test_record_action_is_idempotent_by_event_id(duckdb_warehouse):
    append_events(duckdb_warehouse, [event(1)])
    first = record_action(
        duckdb_warehouse,
        action="candidate.decision",
        actor="sre-lead@coditect.example",
        resource="candidate/abc123",
        details={"decision": "approve", "justification": "p95 back under SLO", "api_key": "k-1"},
        environment="production",
        event_id="decision:abc123",
    )
    assert (first.seq, first.source, first.source_file, first.outcome) == (
        2,
        "cicl",
        None,
        "success",
    )
    assert json.loads(first.details) == {
        "api_key": "[REDACTED]",
        "decision": "approve",
        "justification": "p95 back under SLO",
    }
    again = record_action(
        duckdb_warehouse,
        action="candidate.decision",
        actor="someone-else",
        resource="candidate/abc123",
        event_id="decision:abc123",
    )
    assert again == first
    auto = record_action(duckdb_warehouse, action="release", actor="cicl", resource="rel/1")
    assert auto.seq == 3 and len(auto.event_id) == 36
    assert duckdb_warehouse.row_count("audit_events") == 3
    assert verify_chain(read_chain(duckdb_warehouse)).ok


def _append_many(path: str, worker: int, count: int) -> None:
    warehouse = DuckDBWarehouse(path=path)
    for i in range(count):
        record_action(
            warehouse,
            action="retention.delete",
            actor=f"worker-{worker}",
            resource=f"artifact/{worker}/{i}",
            event_id=f"w{worker}-{i}",
        )


def test_two_processes_appending_at_once_make_one_valid_chain(tmp_path):
    path = str(tmp_path / "w.duckdb")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(path, w, 10)) for w in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(600)  # an upper bound for a loaded machine, not a timing assertion
        assert p.exitcode == 0
    rows = read_chain(DuckDBWarehouse(path=path))
    assert len(rows) == 20
    assert sorted(r["seq"] for r in rows) == list(range(1, 21))
    assert {r["actor"] for r in rows} == {"worker-1", "worker-2"}
    result = verify_chain(rows)
    assert result.ok and result.checked == 20


def _chain(n: int) -> list[dict]:
    return [c.as_row() for c in _chained(n)]


def _chained(n: int):
    rows, prev = [], GENESIS_HASH
    from cicl_assets.audit.chain import ChainedEvent, _normalise, event_hash

    for i in range(1, n + 1):
        row = _normalise(event(i))
        digest = event_hash(prev, row)
        rows.append(ChainedEvent(**row, seq=i, prev_hash=prev, hash=digest, chained_at=T0))
        prev = digest
    return rows


def test_verify_names_an_edited_row():
    rows = _chain(5)
    rows[2]["actor"] = "mallory"
    result = verify_chain(rows)
    assert (result.ok, result.first_broken_seq, result.first_broken_event_id) == (False, 3, "e3")
    assert result.reason == "seq 3 (event_id e3): hash mismatch (the row's content was edited)"
    assert result.checked == 2


def test_verify_names_a_deleted_row():
    rows = _chain(5)
    del rows[1]
    result = verify_chain(rows)
    assert (result.ok, result.first_broken_seq) == (False, 2)
    assert result.reason == (
        "seq 2 is missing (a row was deleted); the next row is seq 3 (event_id e3)"
    )


def test_verify_names_reordered_rows():
    rows = _chain(5)
    rows[1]["seq"], rows[3]["seq"] = rows[3]["seq"], rows[1]["seq"]
    result = verify_chain(list(reversed(rows)))
    assert (result.ok, result.first_broken_seq, result.first_broken_event_id) == (False, 2, "e4")
    assert result.reason == (
        "seq 2 (event_id e4): prev_hash does not match the hash of seq 1 (rows were reordered, "
        "or an earlier row was removed or replaced)"
    )


def test_verify_names_a_forked_chain_and_an_edited_hash():
    rows = _chain(3)
    forked = verify_chain([*rows, {**rows[2], "event_id": "fork"}])
    assert (forked.first_broken_seq, forked.reason) == (
        3,
        "seq 3 (event_id fork): seq 3 appears more than once (forked chain)",
    )
    rows[0]["hash"] = "f" * 64
    result = verify_chain(rows)
    assert (result.first_broken_seq, result.reason) == (
        1,
        "seq 1 (event_id e1): hash mismatch (the row's content was edited)",
    )


def test_empty_chain_is_valid():
    assert verify_chain([]).ok


def test_canonical_json_is_exactly_specified():
    row = {**event(1), "details": '{"n":1}', "event_time": T0.replace(microsecond=5)}
    assert canonical_json(row) == (
        b'{"action":"unit","actor":"ci-bot","commit_sha":null,"details":"{\\"n\\":1}",'
        b'"environment":null,"event_id":"e1","event_time":"2026-11-03T04:12:00.000005Z",'
        b'"image_digest":null,"outcome":"success","pipeline_run_id":null,"resource":"wr-1",'
        b'"source":"cicl_ci","source_file":"audit/a.jsonl","source_ip":null,"user_agent":null}'
    )


def test_anchors_catch_a_rewritten_or_truncated_chain():
    rows = _chain(5)
    anchors = {3: rows[2]["hash"], 5: rows[4]["hash"]}
    assert verify_chain(rows, anchors).ok
    result = verify_chain(rows[:4], anchors)
    assert (result.ok, result.first_broken_seq) == (False, 5)
    assert result.reason == (
        "seq 5 was recorded earlier but the chain ends at seq 4: rows were removed from the end"
    )
    result = verify_chain(rows, {3: "a" * 64})
    assert (result.ok, result.first_broken_seq) == (False, 3)
    assert result.reason == (
        "seq 3 (event_id e3): hash differs from the one recorded for this seq earlier "
        "(aaaaaaaaaaaaaaaa...): the chain was rewritten from here or before"
    )
