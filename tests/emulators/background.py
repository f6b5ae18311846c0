"""The emulators for people: `make emulators-up` starts both in the background, `-down` stops them.

``up`` starts the BigQuery and GCS emulators on free loopback ports, detached from the shell
that asked, creates the landing bucket, records what it started in a state file beside their
logs and prints the variables to export (stdout, so ``eval "$(make -s emulators-up)"`` works;
everything else goes to stderr). A second ``up`` while they answer prints the same variables
again. ``down`` stops the process groups the state file names and removes it. The BigQuery
emulator is ephemeral: its datasets are gone once it stops.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.emulators.harness import (
    BIGQUERY,
    GCS,
    REPO,
    EmulatorError,
    RunningEmulator,
    start,
)

RUN_DIR = REPO / ".cicl" / "emulators-up"
STATE_NAME = "state.json"
LANDING_BUCKET = "cicl-landing"
LOCAL_PROJECT = "cicl-local"
STOP_WAIT_S = 10.0


@dataclass(frozen=True)
class Started:
    name: str
    url: str
    pgid: int
    log: str
    argv: tuple[str, ...]  # what it was started with: a pid reused since is not taken for it


def variables(state: Mapping[str, Started]) -> dict[str, str]:
    """What the Google clients (and cicl's settings) need to find the emulators."""
    return {
        "BIGQUERY_EMULATOR_HOST": state["bigquery"].url,
        "STORAGE_EMULATOR_HOST": state["gcs"].url,
        "NO_GCE_CHECK": "true",
    }


def exports(state: Mapping[str, Started]) -> str:
    lines = [f"export {name}={value}" for name, value in variables(state).items()]
    lines += [
        "# then, for cicl on the emulators:",
        f"#   export CICL_WAREHOUSE=bigquery CICL_BQ_PROJECT={LOCAL_PROJECT} "
        f"CICL_GCS_PROJECT={LOCAL_PROJECT} CICL_LANDING_URI=gs://{LANDING_BUCKET}/landing",
    ]
    return "\n".join(lines) + "\n"


def read_state(run_dir: Path = RUN_DIR) -> dict[str, Started]:
    path = run_dir / STATE_NAME
    if not path.exists():
        return {}
    return {
        name: Started(**{**entry, "argv": tuple(entry["argv"])})
        for name, entry in json.loads(path.read_text()).items()
    }


def _write_state(run_dir: Path, state: Mapping[str, Started]) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps({name: asdict(s) for name, s in state.items()}, indent=2)
    (run_dir / STATE_NAME).write_text(text + "\n")


def _alive(entry: Started) -> bool:
    """The process group still runs, led by the emulator it was started as."""
    try:
        os.killpg(entry.pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        running = Path(f"/proc/{entry.pgid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc to ask: the group exists
    # A script's interpreter may stand first instead of what was asked; the rest is the same.
    return all(arg.encode() in running for arg in entry.argv[1:])


def _create_bucket(url: str, name: str) -> None:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"{url}/storage/v1/b?project={LOCAL_PROJECT}",
        data=json.dumps({"name": name}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10):
            pass
    except urllib.error.HTTPError as exc:
        if exc.code != 409:  # 409: it exists already
            raise EmulatorError(f"creating gs://{name} on {url} failed: HTTP {exc.code}") from exc


def up(run_dir: Path = RUN_DIR) -> dict[str, Started]:
    """Both emulators running in the background (started unless they already answer)."""
    state = read_state(run_dir)
    if set(state) == {"bigquery", "gcs"} and all(_alive(s) for s in state.values()):
        return state
    down(run_dir)
    started: list[RunningEmulator] = []
    try:
        for kind in (BIGQUERY, GCS):
            started.append(start(kind, run_dir / kind.name))
        _create_bucket(started[1].url, LANDING_BUCKET)
    except BaseException:
        for emulator in started:
            emulator.stop()
        raise
    state = {}
    for emulator in started:
        emulator.detach()
        state[emulator.kind.name] = Started(
            emulator.kind.name,
            emulator.url,
            emulator.process.pid,
            str(emulator.log_path),
            tuple(str(a) for a in emulator.process.args),
        )
    _write_state(run_dir, state)
    return state


def down(run_dir: Path = RUN_DIR) -> list[str]:
    """Stop what ``up`` started; returns the names of the emulators stopped."""
    stopped = []
    for name, entry in read_state(run_dir).items():
        if not _alive(entry):
            continue
        with contextlib.suppress(ProcessLookupError):
            os.killpg(entry.pgid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_WAIT_S
        while _alive(entry) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(entry):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(entry.pgid, signal.SIGKILL)
        stopped.append(name)
    (run_dir / STATE_NAME).unlink(missing_ok=True)
    return stopped
