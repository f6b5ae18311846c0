"""`make emulators-up` / `make emulators-down`: both emulators in the background, found through
the variables printed, stopped by the state file; a pid reused since is never taken for one."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.emulators import background
from tests.emulators.background import Started, down, exports, read_state, up


def _gone(pgid: int) -> bool:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        # Started from this process, the leader is its child until reaped.
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pgid, os.WNOHANG)
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.bigquery
@pytest.mark.gcs
def test_up_prints_what_reaches_both_emulators_and_down_stops_them(tmp_path, monkeypatch):
    state = up(tmp_path)
    try:
        assert sorted(state) == ["bigquery", "gcs"]
        assert read_state(tmp_path) == state
        printed = exports(state)
        found = dict(re.findall(r"^export (\w+)=(\S+)$", printed, re.M))
        assert found == {
            "BIGQUERY_EMULATOR_HOST": state["bigquery"].url,
            "STORAGE_EMULATOR_HOST": state["gcs"].url,
            "NO_GCE_CHECK": "true",
        }
        assert all(
            re.fullmatch(r"http://127\.0\.0\.1:\d+", url) for url in found.values() if "//" in url
        )
        # The variables are all a client needs: the landing bucket is there already.
        for name, value in found.items():
            monkeypatch.setenv(name, value)
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery, storage

        gcs = storage.Client(project=background.LOCAL_PROJECT, credentials=AnonymousCredentials())
        assert gcs.bucket(background.LANDING_BUCKET).exists()
        bq = bigquery.Client(project=background.LOCAL_PROJECT, credentials=AnonymousCredentials())
        assert [dict(r) for r in bq.query("SELECT 1 AS x").result()] == [{"x": 1}]
        # A second `up` while they run starts nothing new.
        assert up(tmp_path) == state
    finally:
        stopped = down(tmp_path)
    assert sorted(stopped) == ["bigquery", "gcs"]
    assert all(_gone(entry.pgid) for entry in state.values())
    assert read_state(tmp_path) == {}
    assert down(tmp_path) == []


def test_a_process_that_is_not_the_emulator_is_never_stopped(tmp_path):
    # The state file names a process group that now runs something else (a pid reused).
    other = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    try:
        stale = Started(
            "gcs", "http://127.0.0.1:1", other.pid, "log", ("gcp-storage-emulator", "start")
        )
        background._write_state(tmp_path, {"gcs": stale})
        assert down(tmp_path) == []
        assert other.poll() is None
        assert read_state(tmp_path) == {}
    finally:
        os.killpg(other.pid, signal.SIGKILL)
        other.wait(timeout=10)
