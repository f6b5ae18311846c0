"""Opening the DuckDB file: waiting out another process's lock, and keeping it open for a run.

DuckDB opens a file's database once per process and shares it among the connections open at
the same time; when the last one closes it checkpoints and lets the file go. A connection per
call therefore pays opening the file (reading the catalog) and checkpointing on every call,
about 0.1 s: hundreds of times in one `cicl.py run`. ``held`` keeps one connection open so that
every call in between attaches to the open database for nothing.

DuckDB locks the file for the process that has it open, so a holder gives way to others: a
process waiting for the lock touches a marker beside the file, and the holder, at its next
call with no connection of its own open, closes the database and waits (a few seconds at most)
until the waiter has had its turn. A waiting writer therefore still queues call by call, as it
does behind a process without ``held``.

Settings of the database rather than of a connection (memory limit, spill directory, the
schema's existence) are applied by the first connection after the file opens: while it is
held, later connections find them in place and skip them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import duckdb

# How recently a waiter must have touched its marker for a holder to give way: above the
# waiter's longest sleep between attempts.
MARKER_FRESH_S = 3.0
MAX_RETRY_DELAY_S = 1.0
# The longest a holder waits for a waiter to take its turn before it opens the file again.
GIVE_WAY_S = 5.0


@dataclass
class _Hold:
    depth: int = 0
    keeper: duckdb.DuckDBPyConnection | None = None
    open_connections: int = 0
    # the database setup applied since the keeper opened it (None: none known)
    setup: tuple[str, ...] | None = None


_holds: dict[str, _Hold] = {}
_lock = threading.Lock()


def _marker(path: str) -> Path:
    return Path(f"{path}.waiting")


def _fresh(marker: Path) -> bool:
    try:
        return time.time() - marker.stat().st_mtime < MARKER_FRESH_S
    except FileNotFoundError:
        return False


def _give_way(path: str, hold: _Hold) -> None:
    """Close the held database if another process waits for the file, and wait for its turn.
    Called under ``_lock`` with no connection of this process open on ``path``."""
    marker = _marker(path)
    if hold.keeper is None or not _fresh(marker):
        return
    _release(hold)
    until = time.monotonic() + GIVE_WAY_S
    while _fresh(marker) and time.monotonic() < until:
        time.sleep(0.05)


def _release(hold: _Hold) -> None:
    """Close the keeper: the database may close with it, and its setup with it."""
    if hold.keeper is not None:
        hold.keeper.close()
    hold.keeper = None
    hold.setup = None


def _apply(con: duckdb.DuckDBPyConnection, setup: Sequence[str]) -> None:
    for statement in setup:
        con.execute(statement)


def _connect_waiting(path: str, lock_timeout_s: float) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect(path)``, waiting up to ``lock_timeout_s`` while another process holds
    the file (and saying so through the marker)."""
    deadline = time.monotonic() + lock_timeout_s
    delay = 0.05
    waited = False
    try:
        while True:
            try:
                return duckdb.connect(path)
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                waited = True
                _marker(path).touch()
                time.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_DELAY_S)
    finally:
        if waited:
            with suppress(OSError):
                _marker(path).unlink()


@contextmanager
def open_connection(
    path: str, lock_timeout_s: float, database_setup: Sequence[str] = ()
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A new connection to the file at ``path`` (or ``:memory:``), closed on exit, after
    ``database_setup`` (statements whose effect belongs to the database, not the connection)
    unless the held database already has it."""
    setup = tuple(database_setup)
    hold = _holds.get(path)
    if hold is None:
        con = _connect_waiting(path, lock_timeout_s)
        try:
            _apply(con, setup)
            yield con
        finally:
            con.close()
        return
    with _lock:
        if hold.open_connections == 0:
            _give_way(path, hold)
        hold.open_connections += 1
    try:
        con = _connect_waiting(path, lock_timeout_s)
        try:
            # The keeper has kept the database open since the setup was recorded (it only closes
            # with no connection open, and this one is counted): it is still in place.
            with _lock:
                in_place = hold.keeper is not None and hold.setup == setup
            if not in_place:
                _apply(con, setup)
            with _lock:
                if hold.depth and hold.keeper is None:
                    hold.keeper = duckdb.connect(path)  # the database is open: this costs nothing
                if not in_place and hold.keeper is not None:
                    hold.setup = setup
        except BaseException:
            con.close()
            raise
        try:
            yield con
        finally:
            con.close()
    finally:
        with _lock:
            hold.open_connections -= 1


@contextmanager
def held(path: str) -> Iterator[None]:
    """Keep the file's database open in this process until the block ends (re-entrant)."""
    if path == ":memory:":  # each connect() is a database of its own: nothing to keep
        yield
        return
    with _lock:
        hold = _holds.setdefault(path, _Hold())
        hold.depth += 1
    try:
        yield
    finally:
        with _lock:
            hold.depth -= 1
            if hold.depth == 0:
                _release(hold)
                if hold.open_connections == 0:
                    del _holds[path]
                else:  # a thread still has its connection: it keeps the entry until it closes
                    hold.keeper = None
