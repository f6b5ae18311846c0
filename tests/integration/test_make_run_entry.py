"""`make run` as a person runs it in a fresh checkout: the Makefile's own relative defaults (the
landing zone, warehouse, keys and platform repository under `.cicl/`), the checkout as the
working directory, nothing of cicl's in the environment. A relative path that a step resolves
from another directory (git runs from `/`) fails here, as it did for `make demo`. The checkout
is a copy of the tracked files; the virtualenv is the one running the tests."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from cicl_assets.warehouse.duckdb_warehouse import DuckDBWarehouse
from demo.keys import ensure_keys
from demo.platform_repo import write_platform_repo
from tests.unit.telemetry.otlp_requests import every_kind_request

ROOT = Path(__file__).resolve().parents[2]
# The Makefile's venv target would reinstall into the shared virtualenv (the copy's lock and
# setup files are newer than its stamp): `make -o` takes the stamp as it is.
VENV = Path(sys.prefix)


def checkout(to: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        source = ROOT / name
        if source.is_file():
            (to / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, to / name)


def test_make_run_with_the_makefiles_relative_defaults(tmp_path):
    repo = tmp_path / "cicl"
    checkout(repo)
    ensure_keys(repo / ".cicl" / "keys")
    write_platform_repo(repo / ".cicl" / "platform")
    otel = repo / ".cicl" / "landing" / "otel"
    otel.mkdir(parents=True)
    (otel / "a.pb").write_bytes(every_kind_request().SerializeToString())
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CICL_") and k not in ("DAGSTER_HOME", "PYTHONPATH")
    }
    make = subprocess.Popen(
        ["make", "-o", str(VENV / ".installed"), "run", f"VENV={VENV}"],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a timeout stops make and the run it started
    )
    try:
        out, err = make.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        os.killpg(make.pid, signal.SIGKILL)
        raise
    assert make.returncode == 0, out[-3000:] + err[-3000:]
    assert "landing files: 1 listed, 1 read (1 ingested, 0 rejected)" in out
    # Where the defaults put things: the checkout's .cicl, not the directory a step ran from.
    assert (repo / ".cicl" / "dagster_home" / "dagster.yaml").is_file()
    warehouse = DuckDBWarehouse(path=str(repo / ".cicl" / "warehouse.duckdb"))
    assert warehouse.query("SELECT COUNT(*) AS n FROM otel_spans").to_pylist() == [{"n": 4}]
