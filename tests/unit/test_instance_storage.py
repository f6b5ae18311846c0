"""A new DAGSTER_HOME's storage is created once, under cicl's lock, however many commands open it
at the same moment (`make ui` beside `cicl.py backfill` failed with "table alembic_version
already exists" before)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from dagster._core.errors import DagsterHomeNotSetError

from cicl_assets.instance import open_instance

STORAGE = ("history/runs.db", "history/runs/index.db", "schedules/schedules.db")


def test_commands_opening_a_new_home_at_once_all_get_its_storage(tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    start = threading.Barrier(4)
    errors: list[BaseException] = []
    run_counts: list[int] = []

    def open_at_once() -> None:
        start.wait()
        try:
            with open_instance() as instance:
                run_counts.append(len(instance.get_runs()))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_at_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert run_counts == [0, 0, 0, 0]
    for name in STORAGE:
        assert (home / name).is_file(), f"{name} was not created"


def test_without_dagster_home_the_command_says_so_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DagsterHomeNotSetError, match="DAGSTER_HOME is not set"):
        open_instance()
    assert list(Path(tmp_path).iterdir()) == []
