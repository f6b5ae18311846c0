"""The tamper-evident audit chain: append-only, hash-chained rows of ``audit_events``.

Each appended event gets ``seq`` (1, 2, 3, ... without gaps), ``prev_hash`` (the ``hash`` of
the event at ``seq - 1``; 64 ``0`` characters for ``seq`` 1) and

    hash = lowercase hex SHA-256 of ( prev_hash as 64 ASCII characters
                                      immediately followed by canonical_json(event) )

``canonical_json(event)`` is the UTF-8 encoding of a JSON object holding exactly these 15 keys
of the row: event_id, event_time, source, actor, action, resource, outcome, environment,
commit_sha, image_digest, pipeline_run_id, source_ip, user_agent, details, source_file
(not seq, prev_hash, hash, chained_at). Every value is a JSON string or null: ``event_time`` is
written ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC, always six fraction digits), ``details`` is the
stored JSON text itself (a string, not re-parsed). Keys are sorted, there is no whitespace
between tokens, non-ASCII characters are written as themselves, and only ``"``, ``\\`` and
control characters are escaped (``\\b \\f \\n \\r \\t``, others ``\\u00xx``) — which is both
``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` and RFC 8785
(JCS) for such an object, so it can be re-verified without cicl (docs/audit-chain.md).

Events are appended in a deterministic order within a batch (event_time, source_file, event_id)
and an event already in the chain (same source and event_id) is never appended again.

Appends made with a notary (``cicl_assets.audit.notary``) extend only a table that ends at the
chain's last published head, and publish the new head, signed, outside the warehouse.

Concurrency: on DuckDB, appends are serialised across threads and processes by an exclusive
``flock`` on ``<duckdb file>.audit-chain.lock`` held while the tail is read and the batch is
written. On BigQuery a single writer is assumed (one Dagster run appends at a time); two
concurrent writers could fork the chain, which ``verify_chain`` reports as a duplicate seq.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cicl_assets.audit.tables import AUDIT_EVENTS, EVENT_COLUMNS, OUTCOMES, SOURCES
from cicl_assets.ingest.redact import redact, redact_text
from cicl_assets.warehouse.base import IN_ARRAY, Warehouse
from cicl_assets.warehouse.tables import utcnow

if TYPE_CHECKING:
    from cicl_assets.audit.notary import ChainNotary

GENESIS_HASH = "0" * 64
_KEY_CHUNK = 5_000
_THREAD_LOCK = threading.Lock()


@dataclass(frozen=True)
class ChainedEvent:
    """One row of ``audit_events`` as appended to the chain."""

    event_id: str
    event_time: datetime
    source: str
    actor: str | None
    action: str | None
    resource: str | None
    outcome: str
    environment: str | None
    commit_sha: str | None
    image_digest: str | None
    pipeline_run_id: str | None
    source_ip: str | None
    user_agent: str | None
    details: str | None
    source_file: str | None
    seq: int
    prev_hash: str
    hash: str
    chained_at: datetime

    def as_row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ChainVerification:
    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None
    first_broken_event_id: str | None = None


def format_time(moment: datetime) -> str:
    """The canonical text of a timestamp: UTC, microseconds, ``Z``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(event: Mapping[str, Any]) -> bytes:
    """The bytes the hash covers (see the module doc)."""
    doc: dict[str, str | None] = {}
    for name in EVENT_COLUMNS:
        value = event.get(name)
        if value is None:
            doc[name] = None
        elif isinstance(value, datetime):
            doc[name] = format_time(value)
        else:
            doc[name] = value if isinstance(value, str) else str(value)
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(prev_hash: str, event: Mapping[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_json(event)).hexdigest()


def _normalise(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event as it will be stored: known columns only, validated, time in microseconds."""
    unknown = set(event) - set(EVENT_COLUMNS)
    if unknown:
        raise ValueError(f"audit event has columns that are not in audit_events: {sorted(unknown)}")
    row = {name: event.get(name) for name in EVENT_COLUMNS}
    if not row["event_id"] or not isinstance(row["event_id"], str):
        raise ValueError(f"audit event needs a text event_id, got {row['event_id']!r}")
    if row["source"] not in SOURCES:
        raise ValueError(f"audit event source {row['source']!r} is not one of {SOURCES}")
    if row["outcome"] not in OUTCOMES:
        raise ValueError(f"audit event outcome {row['outcome']!r} is not one of {OUTCOMES}")
    moment = row["event_time"]
    if not isinstance(moment, datetime):
        raise ValueError(f"audit event {row['event_id']} needs a datetime event_time")
    row["event_time"] = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    if isinstance(row["details"], dict):
        row["details"] = json.dumps(
            row["details"], sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
        )
    for name in EVENT_COLUMNS:
        value = row[name]
        if value is not None and name != "event_time" and not isinstance(value, str):
            row[name] = str(value)
    return row


def _order_key(row: Mapping[str, Any]) -> tuple[datetime, str, str]:
    return (row["event_time"], row["source_file"] or "", row["event_id"])


@contextmanager
def append_lock(warehouse: Warehouse) -> Iterator[None]:
    """Exclusive right to append to the chain (see the module doc)."""
    path = getattr(warehouse, "path", None) if warehouse.dialect == "duckdb" else None
    with _THREAD_LOCK:
        if not path or path == ":memory:":
            yield
            return
        lock_path = Path(f"{path}.audit-chain.lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_path.open("a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def chained_keys(warehouse: Warehouse, ids: Sequence[str]) -> set[tuple[str, str]]:
    """(source, event_id) of the chained events whose event id is among ``ids``."""
    found: set[tuple[str, str]] = set()
    in_list = f"IN {IN_ARRAY.format(param='ids')}"
    unique = sorted(set(ids))
    for start in range(0, len(unique), _KEY_CHUNK):
        rows = warehouse.query(
            f"SELECT source, event_id FROM {AUDIT_EVENTS.name} WHERE event_id {in_list}",
            {"ids": unique[start : start + _KEY_CHUNK]},
        ).to_pylist()
        found.update((r["source"], r["event_id"]) for r in rows)
    return found


def chain_tail(warehouse: Warehouse) -> tuple[int, str]:
    """(seq, hash) of the last event, or (0, genesis) for an empty chain."""
    rows = warehouse.query(
        f"SELECT seq, {warehouse.quote('hash')} FROM {AUDIT_EVENTS.name} "
        f"WHERE seq = (SELECT MAX(seq) FROM {AUDIT_EVENTS.name}) LIMIT 1"
    ).to_pylist()
    if not rows:
        return 0, GENESIS_HASH
    return int(rows[0]["seq"]), str(rows[0]["hash"])


def append_events(
    warehouse: Warehouse, events: list[dict], notary: ChainNotary | None = None
) -> list[ChainedEvent]:
    """Append the events not yet in the chain, in (event_time, source_file, event_id) order.

    Events whose (source, event_id) is already chained, or repeated within ``events``, are
    skipped; returns the newly appended events only. With a ``notary``, the table must end at
    the chain's last published head (ChainError otherwise, even when nothing is new) and the
    new head is signed and published; when it cannot be, the rows are deleted again.
    """
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for row in sorted((_normalise(e) for e in events), key=_order_key):
        rows.setdefault((row["source"], row["event_id"]), row)
    if not rows and notary is None:
        return []
    warehouse.ensure_table(AUDIT_EVENTS)
    with append_lock(warehouse):
        chain_id = None
        if notary is not None:
            chain_id = notary.prepare(
                chain_tail(warehouse), lambda: verify_chain(read_chain(warehouse))
            )
        existing = chained_keys(warehouse, [event_id for _, event_id in rows])
        fresh = [row for key, row in rows.items() if key not in existing]
        if not fresh:
            return []
        seq, prev = chain_tail(warehouse)
        start = seq
        now = utcnow()
        chained = []
        for row in fresh:
            seq += 1
            digest = event_hash(prev, row)
            chained.append(
                ChainedEvent(**row, seq=seq, prev_hash=prev, hash=digest, chained_at=now)
            )
            prev = digest
        warehouse.append(AUDIT_EVENTS, AUDIT_EVENTS.from_records([c.as_row() for c in chained]))
        if notary is not None and chain_id is not None:
            try:
                notary.publish_head(chain_id, seq, prev)
            except BaseException:
                # Only this append's rows: a concurrent writer's (BigQuery) stay for the check.
                warehouse.execute(
                    f"DELETE FROM {AUDIT_EVENTS.name} WHERE seq > @start AND chained_at = @now",
                    {"start": start, "now": now},
                )
                raise
    return chained


def _read_event(warehouse: Warehouse, source: str, event_id: str) -> ChainedEvent | None:
    rows = warehouse.query(
        f"SELECT * FROM {AUDIT_EVENTS.name} WHERE source = @source AND event_id = @event_id "
        "ORDER BY seq LIMIT 1",
        {"source": source, "event_id": event_id},
    ).to_pylist()
    if not rows:
        return None
    return ChainedEvent(**{name: rows[0].get(name) for name in AUDIT_EVENTS.schema.names})


def record_action(
    warehouse: Warehouse,
    *,
    action: str,
    actor: str,
    resource: str,
    outcome: str = "success",
    details: dict | None = None,
    environment: str | None = None,
    commit_sha: str | None = None,
    image_digest: str | None = None,
    event_id: str | None = None,
    event_time: datetime | None = None,
    notary: ChainNotary | None = None,
) -> ChainedEvent:
    """Append one of cicl's own actions (source ``cicl``) to the audit chain.

    Pass a deterministic ``event_id`` (e.g. ``"decision:<candidate id>"``) to make the call
    idempotent: when an event with that id is already chained it is returned unchanged. Pass
    the resources' ``notary`` (``CiclConfig.chain_notary(warehouse)``) so the new head is
    published; an append without one leaves the chain failing its check.
    """
    event = {
        "event_id": event_id or str(uuid.uuid4()),
        "event_time": event_time or utcnow(),
        "source": "cicl",
        "actor": redact_text(actor),
        "action": redact_text(action),
        "resource": redact_text(resource),
        "outcome": outcome,
        "environment": environment,
        "commit_sha": commit_sha,
        "image_digest": image_digest,
        "details": redact(details) if details else None,
        "source_file": None,
    }
    appended = append_events(warehouse, [event], notary)
    if appended:
        return appended[0]
    found = _read_event(warehouse, "cicl", event["event_id"])
    if found is None:  # pragma: no cover - only if the row vanished between the two statements
        raise RuntimeError(f"audit event cicl/{event['event_id']} was neither appended nor found")
    return found


def _broken(checked: int, seq: int | None, event_id: Any, reason: str) -> ChainVerification:
    return ChainVerification(
        ok=False,
        checked=checked,
        first_broken_seq=seq,
        reason=reason,
        first_broken_event_id=None if event_id is None else str(event_id),
    )


def verify_chain(
    rows: Iterable[Mapping[str, Any]], anchors: Mapping[int, str] | None = None
) -> ChainVerification:
    """Re-verify a whole chain (rows in any order) and name the first broken link.

    ``anchors`` maps a seq to the hash it had when recorded outside the warehouse (the published
    heads, ``cicl_assets.audit.judge``): a chain rewritten from some row on, or cut short at the
    end, links up on its own but no longer matches an earlier anchor.
    """
    ordered = sorted(rows, key=lambda r: (r.get("seq") is None, r.get("seq") or 0))
    anchors = dict(anchors or {})
    prev = GENESIS_HASH
    expected = 1
    seen: set[tuple[Any, Any]] = set()
    for checked, row in enumerate(ordered):
        seq, event_id = row.get("seq"), row.get("event_id")
        label = f"seq {seq} (event_id {event_id})"
        if seq is None:
            return _broken(checked, None, event_id, f"event_id {event_id} has no seq")
        if seq < expected:
            return _broken(
                checked, seq, event_id, f"{label}: seq {seq} appears more than once (forked chain)"
            )
        if seq > expected:
            return _broken(
                checked,
                expected,
                event_id,
                f"seq {expected} is missing (a row was deleted); the next row is {label}",
            )
        if row.get("prev_hash") != prev:
            return _broken(
                checked,
                seq,
                event_id,
                f"{label}: prev_hash does not match the hash of seq {seq - 1} "
                "(rows were reordered, or an earlier row was removed or replaced)",
            )
        if event_hash(prev, row) != row.get("hash"):
            return _broken(
                checked, seq, event_id, f"{label}: hash mismatch (the row's content was edited)"
            )
        key = (row.get("source"), event_id)
        if key in seen:
            return _broken(checked, seq, event_id, f"{label}: the event appears twice in the chain")
        seen.add(key)
        anchored = anchors.pop(seq, None)
        if anchored is not None and anchored != row["hash"]:
            return _broken(
                checked,
                seq,
                event_id,
                f"{label}: hash differs from the one recorded for this seq earlier "
                f"({anchored[:16]}...): the chain was rewritten from here or before",
            )
        prev = row["hash"]
        expected += 1
    if anchors:
        missing = min(anchors)
        return _broken(
            len(ordered),
            missing,
            None,
            f"seq {missing} was recorded earlier but the chain ends at seq {expected - 1}: "
            "rows were removed from the end",
        )
    return ChainVerification(ok=True, checked=len(ordered))


def read_chain(warehouse: Warehouse) -> list[dict[str, Any]]:
    """Every chained row as dicts (for ``verify_chain``)."""
    warehouse.ensure_table(AUDIT_EVENTS)
    return warehouse.query(f"SELECT * FROM {AUDIT_EVENTS.name} ORDER BY seq").to_pylist()
