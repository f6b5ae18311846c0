"""The DAGSTER_HOME instance the command line, `make run` and `make ui` share.

Dagster creates an instance's SQLite storage on first use. Two processes started at once on a
new DAGSTER_HOME (`make ui` beside `scripts/cicl.py backfill`) would both create it, and the
second fails with "table alembic_version already exists". Every first use here takes a file
lock beside the instance, and `make ui` creates the storage (`python -m cicl_assets.instance`,
under that lock) before it starts the webserver, so the two never race.
"""

from __future__ import annotations

import fcntl
import os
import sys

import dagster as dg

from cicl_assets import settings

LOCK_NAME = ".cicl-instance.lock"


def open_instance(home: str | None = None) -> dg.DagsterInstance:
    """The instance at ``home`` (DAGSTER_HOME by default), its storage created. Without either,
    Dagster's own error says to set DAGSTER_HOME: the command line keeps its progress in the
    instance, so it needs one."""
    home = home or settings.dagster_home()
    if not home:
        return dg.DagsterInstance.get()
    home = os.path.abspath(home)
    os.makedirs(home, exist_ok=True)
    with open(os.path.join(home, LOCK_NAME), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            instance = dg.DagsterInstance.from_config(home)
            instance.get_runs(limit=1)  # run storage, created here under the lock
            instance.event_log_storage.get_asset_records([])  # the event log's index
            instance.all_instigator_state()  # schedule storage (sensor cursors)
            return instance
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def main() -> int:
    if not settings.dagster_home():
        sys.stderr.write("DAGSTER_HOME is not set: there is no instance to create\n")
        return 2
    open_instance().dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
