"""The chain against its published heads: forged appends, rewrites, truncations, emptied or
replaced tables, foreign or expired keys, resets, and one chain per warehouse."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from cicl_assets.audit.chain import (
    GENESIS_HASH,
    append_events,
    event_hash,
    read_chain,
)
from cicl_assets.audit.heads import Genesis, Head, seal, unseal
from cicl_assets.audit.judge import judge_chain
from cicl_assets.audit.notary import ChainError, ChainNotary, reset_chain
from cicl_assets.audit.tables import AUDIT_EVENTS
from cicl_assets.outbox import LocalFolder
from cicl_assets.signer import Ed25519Signer, Trust, load_trust, trust_entry
from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from cicl_assets.warehouse.tables import utcnow
from tests.signing_keys import SINCE, signed_config, unsigned_config, write_trust
from tests.unit.audit.test_chain import event


@pytest.fixture
def signer() -> Ed25519Signer:
    return Ed25519Signer.generate()


@pytest.fixture
def notary(duckdb_warehouse, tmp_path, signer) -> ChainNotary:
    return signed_config(tmp_path, signer).chain_notary(duckdb_warehouse)


def chained(warehouse, notary) -> list[dict]:
    """Five events in two appends: heads at seq 3 and 5."""
    append_events(warehouse, [event(1), event(2), event(3)], notary)
    append_events(warehouse, [event(4), event(5)], notary)
    return read_chain(warehouse)


def relinked(rows: list[dict]) -> list[dict]:
    """``rows`` with every link recomputed, as someone who can write the warehouse would."""
    prev = GENESIS_HASH
    for row in rows:
        row["prev_hash"], row["hash"] = prev, event_hash(prev, row)
        prev = row["hash"]
    return rows


def forge_append(warehouse) -> None:
    rows = read_chain(warehouse)
    forged = {**rows[-1], "event_id": "forged", "actor": "mallory", "seq": len(rows) + 1}
    forged["prev_hash"], forged["hash"] = rows[-1]["hash"], event_hash(rows[-1]["hash"], forged)
    warehouse.append(AUDIT_EVENTS, AUDIT_EVENTS.from_records([forged]))


def rewrite_from_seq_3(warehouse) -> None:
    rows = read_chain(warehouse)
    rows[2]["actor"] = "mallory"
    warehouse.replace_table(AUDIT_EVENTS, AUDIT_EVENTS.from_records(relinked(rows)))


def replace_with_other_events(warehouse) -> None:
    rows = []
    for i, e in enumerate([event(7), event(8)], 1):
        e["details"] = json.dumps(e["details"])
        rows.append({**e, "seq": i, "chained_at": utcnow(), "pipeline_run_id": None})
    warehouse.replace_table(AUDIT_EVENTS, AUDIT_EVENTS.from_records(relinked(rows)))


TAMPERING = {
    "forged append": (
        forge_append,
        6,
        "the chain goes on past the last published head (seq 5) of chain",
    ),
    "rewrite from seq 3": (
        rewrite_from_seq_3,
        3,
        "hash differs from the one recorded for this seq earlier",
    ),
    "truncation": (
        lambda w: w.execute("DELETE FROM audit_events WHERE seq > 3"),
        5,
        "seq 5 was recorded earlier but the chain ends at seq 3: rows were removed from the end",
    ),
    "emptied": (
        lambda w: w.execute("DELETE FROM audit_events WHERE TRUE"),
        3,
        "seq 3 was recorded earlier but the chain ends at seq 0",
    ),
    "replaced": (
        replace_with_other_events,
        3,
        "seq 3 was recorded earlier but the chain ends at seq 2",
    ),
}


@pytest.mark.parametrize("case", TAMPERING)
def test_tampering_is_caught_by_the_published_heads(duckdb_warehouse, notary, case):
    tamper, broken_seq, reason = TAMPERING[case]
    chained(duckdb_warehouse, notary)
    assert judge_chain(read_chain(duckdb_warehouse), notary).passed
    tamper(duckdb_warehouse)
    verdict = judge_chain(read_chain(duckdb_warehouse), notary)
    assert not verdict.passed and not verdict.warning
    assert verdict.verification.first_broken_seq == broken_seq
    assert reason in verdict.description
    assert "scripts/cicl.py audit-reset --reason" in verdict.description
    # and nothing more is appended on top of it
    count = duckdb_warehouse.row_count("audit_events")
    with pytest.raises(ChainError, match=r"was changed outside cicl|links are broken"):
        append_events(duckdb_warehouse, [event(9)], notary)
    assert duckdb_warehouse.row_count("audit_events") == count


def test_an_intact_chain_passes_naming_its_chain_and_heads(duckdb_warehouse, notary, signer):
    rows = chained(duckdb_warehouse, notary)
    verdict = judge_chain(rows, notary)
    chain_id = verdict.metadata["chain_id"]
    assert verdict.passed
    assert verdict.description == (
        f"chain intact: 5 events verified against 2 signed heads of chain {chain_id}"
    )
    assert verdict.metadata["signed_by"] == signer.key_id
    assert verdict.metadata["last_published_seq"] == 5
    folder = f"{notary.location.folder}/{chain_id}"
    record, signature = unseal(notary.store.read(f"{folder}/heads/000000000005.json"))
    assert Head.from_record(record) == Head(chain_id, 5, rows[-1]["hash"], record["signed_at"])
    assert signature["key_id"] == signer.key_id
    genesis = Genesis.from_record(unseal(notary.store.read(f"{folder}/genesis.json"))[0])
    assert (genesis.location, genesis.dataset, genesis.starts_at, genesis.previous) == (
        f"duckdb:{duckdb_warehouse.path}",
        "cicl",
        (0, GENESIS_HASH),
        None,
    )


def test_a_new_warehouse_starts_its_own_chain_beside_another(duckdb_warehouse, notary, tmp_path):
    chained(duckdb_warehouse, notary)
    other = DuckDBWarehouse(path=str(tmp_path / "other.duckdb"))
    other_notary = replace(notary, location=replace(notary.location, location="duckdb:other"))
    append_events(other, [event(1)], other_notary)
    assert judge_chain(read_chain(other), other_notary).passed
    assert judge_chain(read_chain(duckdb_warehouse), notary).passed
    assert notary.location.key != other_notary.location.key


def _write_head(notary: ChainNotary, key: Ed25519Signer, chain_id: str, rows: list[dict]) -> None:
    head = Head(chain_id, len(rows), rows[-1]["hash"], "2026-11-30T00:00:00.000000Z")
    notary.store.create(f"{notary.location.folder}/{head.name}", seal(head.record(), key))


def test_a_head_signed_by_an_unknown_key_is_refused(duckdb_warehouse, notary):
    chain_id = judge_chain(chained(duckdb_warehouse, notary), notary).metadata["chain_id"]
    forge_append(duckdb_warehouse)
    stranger = Ed25519Signer.generate()
    _write_head(notary, stranger, chain_id, read_chain(duckdb_warehouse))
    verdict = judge_chain(read_chain(duckdb_warehouse), notary)
    assert not verdict.passed
    assert verdict.description.startswith(
        f"published chain records refused: {chain_id}/heads/000000000006.json: signed by key "
        f"{stranger.key_id} that {notary.trust.origin} does not list"
    )
    with pytest.raises(ChainError, match="not usable"):
        append_events(duckdb_warehouse, [event(9)], notary)


def test_a_head_signed_outside_its_key_validity_is_refused(duckdb_warehouse, notary, signer):
    chained(duckdb_warehouse, notary)
    expired = replace(notary.trust.keys[0], valid_until=SINCE + timedelta(days=1))
    later = replace(notary, trust=Trust((expired,), "trust.yaml"))
    verdict = judge_chain(read_chain(duckdb_warehouse), later)
    assert not verdict.passed
    assert f"by key {signer.key_id}, outside its validity (valid from 2020-01-01" in (
        verdict.description
    )


def test_a_rotated_key_keeps_the_old_heads_valid(duckdb_warehouse, notary, signer, tmp_path):
    append_events(duckdb_warehouse, [event(1), event(2)], notary)
    rotated_at = utcnow()
    new = Ed25519Signer.generate()
    old_entry = trust_entry(signer.public_key(), SINCE) | {
        "valid_until": (rotated_at + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    }
    new_entry = trust_entry(new.public_key(), rotated_at - timedelta(seconds=1))
    trust = load_trust(write_trust(tmp_path / "rotated.yaml", old_entry, new_entry))
    rotated = replace(notary, signer=new, trust=trust)
    append_events(duckdb_warehouse, [event(3)], rotated)
    verdict = judge_chain(read_chain(duckdb_warehouse), rotated)
    assert verdict.passed, verdict.description
    assert verdict.metadata["signed_by"] == ", ".join(sorted([signer.key_id, new.key_id]))


def test_without_a_key_heads_are_unsigned_and_the_check_warns(duckdb_warehouse, tmp_path):
    notary = unsigned_config(tmp_path).chain_notary(duckdb_warehouse)
    rows = chained(duckdb_warehouse, notary)
    verdict = judge_chain(rows, notary)
    assert (verdict.passed, verdict.warning, verdict.verification.ok) == (False, True, True)
    assert verdict.description.startswith("heads not signed: 5 events match 3 unsigned records")
    forge_append(duckdb_warehouse)  # still caught: the unsigned heads hold the hashes
    assert not judge_chain(read_chain(duckdb_warehouse), notary).warning


def test_unsigned_records_are_refused_once_keys_are_in_use(duckdb_warehouse, tmp_path, notary):
    unsigned = unsigned_config(tmp_path).chain_notary(duckdb_warehouse)
    rows = chained(duckdb_warehouse, unsigned)
    verdict = judge_chain(rows, notary)
    assert not verdict.passed and not verdict.warning
    assert "genesis.json: not signed" in verdict.description


def test_a_head_that_cannot_be_published_undoes_the_append(duckdb_warehouse, notary):
    chained(duckdb_warehouse, notary)

    class Refusing(LocalFolder):
        def create(self, name: str, data: bytes) -> bool:
            raise OSError("outbox unreachable")

    broken = replace(notary, store=Refusing(notary.store.root))
    with pytest.raises(OSError, match="outbox unreachable"):
        append_events(duckdb_warehouse, [event(6)], broken)
    assert duckdb_warehouse.row_count("audit_events") == 5
    assert judge_chain(read_chain(duckdb_warehouse), notary).passed


def test_a_chain_kept_before_heads_existed_is_adopted_when_its_links_hold(duckdb_warehouse, notary):
    append_events(duckdb_warehouse, [event(1), event(2)])  # no notary: nothing published
    verdict = judge_chain(read_chain(duckdb_warehouse), notary)
    assert not verdict.passed
    assert verdict.description.startswith("audit_events holds 2 events but no chain is published")
    append_events(duckdb_warehouse, [event(3)], notary)
    verdict = judge_chain(read_chain(duckdb_warehouse), notary)
    assert verdict.passed and verdict.metadata["last_published_seq"] == 3


def test_a_broken_chain_is_never_adopted(duckdb_warehouse, notary):
    append_events(duckdb_warehouse, [event(1), event(2)])
    duckdb_warehouse.execute("UPDATE audit_events SET actor = 'x' WHERE seq = 1")
    with pytest.raises(ChainError, match="holds 2 events whose links are broken"):
        append_events(duckdb_warehouse, [event(3)], notary)
    assert notary.read().chains == {}


def test_an_emptied_table_passes_only_after_a_recorded_reset(duckdb_warehouse, notary, signer):
    first = judge_chain(chained(duckdb_warehouse, notary), notary).metadata["chain_id"]
    duckdb_warehouse.execute("DELETE FROM audit_events WHERE TRUE")
    assert not judge_chain(read_chain(duckdb_warehouse), notary).passed
    genesis = reset_chain(duckdb_warehouse, notary, "restored from an empty backup", "alice")
    rows = read_chain(duckdb_warehouse)
    verdict = judge_chain(rows, notary)
    assert verdict.passed, verdict.description
    assert verdict.metadata["chain_id"] == genesis.chain_id != first
    assert verdict.metadata["chains_published"] == 2
    assert (genesis.previous_chain_id, genesis.previous[0], genesis.starts_at) == (
        first,
        5,
        (0, GENESIS_HASH),
    )
    assert (genesis.reason, genesis.actor) == ("restored from an empty backup", "alice")
    [reset] = rows
    assert (reset["seq"], reset["action"], reset["actor"], reset["resource"]) == (
        1,
        "audit_chain_reset",
        "alice",
        f"audit_chain/{genesis.chain_id}",
    )
    assert json.loads(reset["details"])["previous_chain_id"] == first
    # the reset itself is signed and published
    record, signature = unseal(notary.store.read(f"{notary.location.folder}/{genesis.name}"))
    assert record["reason"] == "restored from an empty backup"
    assert signature["key_id"] == signer.key_id
    append_events(duckdb_warehouse, [event(6)], notary)
    assert judge_chain(read_chain(duckdb_warehouse), notary).passed


def test_a_reset_acknowledges_refused_records(duckdb_warehouse, notary):
    chained(duckdb_warehouse, notary)
    notary.store.create(f"{notary.location.folder}/junk.json", b"not a record")
    verdict = judge_chain(read_chain(duckdb_warehouse), notary)
    assert "junk.json: not a chain record" in verdict.description
    reset_chain(duckdb_warehouse, notary, "junk written into the outbox", "alice")
    assert judge_chain(read_chain(duckdb_warehouse), notary).passed


@pytest.mark.parametrize(
    ("prepare", "error"),
    [
        (
            lambda w: w.execute("UPDATE audit_events SET actor = 'x' WHERE seq = 2"),
            "audit_events is broken at seq 2 (seq 2 (event_id e2): hash mismatch",
        ),
        (lambda w: None, "a reset needs a reason"),
    ],
)
def test_a_reset_needs_a_reason_and_a_table_whose_links_hold(
    duckdb_warehouse, notary, prepare, error
):
    chained(duckdb_warehouse, notary)
    prepare(duckdb_warehouse)
    reason = "" if error.startswith("a reset needs") else "why"
    with pytest.raises(ChainError) as raised:
        reset_chain(duckdb_warehouse, notary, reason, "alice")
    assert str(raised.value).startswith(error)
    assert len(notary.read().chains) == 1
