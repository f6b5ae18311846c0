"""One writer at a time: a lease row (owner, expiry) in the warehouse itself.

``make run`` executes in its own process and bypasses Dagster's run queue, so nothing but the
warehouse can tell two writers apart. A writer takes the lease before it ingests, a thread
renews it while the writer runs, and it is released at the end; a writer killed outright stops
renewing and its lease expires after ``ttl_s``. A second writer polls until the lease is free,
for at most ``wait_s``, then gives up with ``LeaseBusy`` naming the holder.

The lease is re-entrant within a process (a run holding it may call ``ingest_stream``, which
takes it too). Taking it is one MERGE (atomic on both engines) followed by reading back who
holds it, so two writers racing for a free lease cannot both win. On DuckDB the lease sits on
top of the file lock: each warehouse call opens the file briefly and waits for the other
process's call to finish, so a waiting writer never fails on the lock, it queues.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pyarrow as pa

from cicl_assets.warehouse.base import Warehouse
from cicl_assets.warehouse.tables import UTC_TS, TableSpec

WAREHOUSE_LEASES = TableSpec(
    name="warehouse_leases",
    description=(
        "One row per lease on the warehouse: who holds it (host:pid:nonce) and until when. "
        "The writer lease keeps two ingestion runs from writing at once."
    ),
    schema=pa.schema(
        [
            ("name", pa.string()),
            ("owner", pa.string()),
            ("acquired_at", UTC_TS),
            ("expires_at", UTC_TS),
        ]
    ),
    identity=("name",),
)
WRITER = "writer"
DEFAULT_TTL_S = 60.0
DEFAULT_WAIT_S = 900.0
OWNER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

_held: dict[tuple[str, str], int] = {}
_held_lock = threading.Lock()


class LeaseBusy(RuntimeError):
    """Another writer held the lease for longer than this one would wait."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def try_take(warehouse: Warehouse, name: str, owner: str, ttl_s: float) -> str | None:
    """Take the lease if it is free, expired or already ``owner``'s; returns the holder after
    the attempt (``owner`` when taken)."""
    warehouse.ensure_table(WAREHOUSE_LEASES)
    now = _now()
    params = {
        "name": name,
        "owner": owner,
        "now": now,
        "expires": now + dt.timedelta(seconds=ttl_s),
    }
    try:
        warehouse.execute(
            f"MERGE INTO {WAREHOUSE_LEASES.name} AS t "
            "USING (SELECT @name AS name) AS s ON t.name = s.name "
            "WHEN MATCHED AND (t.expires_at < @now OR t.owner = @owner) THEN UPDATE SET "
            "owner = @owner, acquired_at = @now, expires_at = @expires "
            "WHEN NOT MATCHED THEN INSERT (name, owner, acquired_at, expires_at) "
            "VALUES (@name, @owner, @now, @expires)",
            params,
        )
    except Exception as exc:
        # Two writers updating the row at once: one of them loses the race, and says so.
        if "conflict" not in str(exc).lower() and "concurrent" not in str(exc).lower():
            raise
    return holder(warehouse, name)


def holder(warehouse: Warehouse, name: str = WRITER) -> str | None:
    """Who holds the lease now (the earliest unexpired taker), or None when it is free."""
    warehouse.ensure_table(WAREHOUSE_LEASES)
    rows = warehouse.query(
        f"SELECT owner FROM {WAREHOUSE_LEASES.name} WHERE name = @name AND expires_at >= @now "
        "ORDER BY acquired_at, owner LIMIT 1",
        {"name": name, "now": _now()},
    ).to_pylist()
    return rows[0]["owner"] if rows else None


def renew(warehouse: Warehouse, name: str, owner: str, ttl_s: float) -> None:
    warehouse.execute(
        f"UPDATE {WAREHOUSE_LEASES.name} SET expires_at = @expires "
        "WHERE name = @name AND owner = @owner",
        {"name": name, "owner": owner, "expires": _now() + dt.timedelta(seconds=ttl_s)},
    )


def release(warehouse: Warehouse, name: str, owner: str) -> None:
    warehouse.execute(
        f"DELETE FROM {WAREHOUSE_LEASES.name} WHERE name = @name AND owner = @owner",
        {"name": name, "owner": owner},
    )


@contextmanager
def writer_lease(
    warehouse: Warehouse,
    name: str = WRITER,
    *,
    ttl_s: float = DEFAULT_TTL_S,
    wait_s: float = DEFAULT_WAIT_S,
    poll_s: float = 2.0,
    owner: str = OWNER,
    log: Callable[[str], None] | None = None,
) -> Iterator[str]:
    """Hold the warehouse's ``name`` lease for the duration; yields the owner id."""
    key = (f"{warehouse.dialect}:{warehouse.target}", name)
    with _held_lock:
        if _held.get(key):
            _held[key] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield owner
        finally:
            with _held_lock:
                _held[key] -= 1
        return
    _take(warehouse, name, owner, ttl_s, wait_s, poll_s, log)
    with _held_lock:
        _held[key] = 1
    stop = threading.Event()
    renewer = threading.Thread(
        target=_renew_until,
        args=(warehouse, name, owner, ttl_s, stop, log),
        name=f"cicl-lease-{name}",
        daemon=True,
    )
    renewer.start()
    try:
        yield owner
    finally:
        stop.set()
        renewer.join()
        with _held_lock:
            _held.pop(key, None)
        release(warehouse, name, owner)


def _take(
    warehouse: Warehouse,
    name: str,
    owner: str,
    ttl_s: float,
    wait_s: float,
    poll_s: float,
    log: Callable[[str], None] | None,
) -> None:
    deadline = time.monotonic() + wait_s
    said = False
    while True:
        held_by = try_take(warehouse, name, owner, ttl_s)
        if held_by == owner:
            return
        if time.monotonic() >= deadline:
            raise LeaseBusy(
                f"the {warehouse.target} warehouse's {name} lease is held by {held_by} and was "
                f"not released within {wait_s:g} s, so this run wrote nothing: another run is "
                "writing; try again when it has finished (a killed writer's lease expires "
                f"{ttl_s:g} s after its last renewal)"
            )
        if log and not said:
            log(f"waiting up to {wait_s:g} s for the {name} lease held by {held_by}")
            said = True
        time.sleep(min(poll_s, max(deadline - time.monotonic(), 0.0)))


def _renew_until(
    warehouse: Warehouse,
    name: str,
    owner: str,
    ttl_s: float,
    stop: threading.Event,
    log: Callable[[str], None] | None,
) -> None:
    while not stop.wait(ttl_s / 3):
        try:
            renew(warehouse, name, owner, ttl_s)
        except Exception as exc:  # a missed renewal is retried; the lease lasts ttl_s
            if log:
                log(f"could not renew the {name} lease: {type(exc).__name__}: {exc}")
