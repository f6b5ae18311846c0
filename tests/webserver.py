"""The real Dagster webserver for the tests that read the UI: started on a free loopback port
against the repository's workspace, waited for until it answers, stopped with its children."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 180


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/server_info", timeout=2).ok
    except requests.ConnectionError:
        return False


@contextmanager
def webserver(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """The webserver's URL once it answers; its output goes to ``log_path``."""
    port = free_port()
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dagster_webserver", "-h", "127.0.0.1", "-p", str(port),
             "-w", str(REPO / "workspace.yaml")],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while not answers(url):
                if proc.poll() is not None:
                    pytest.fail(f"webserver exited: {log_path.read_text()[-3000:]}")
                if time.monotonic() > deadline:
                    pytest.fail(f"webserver did not answer: {log_path.read_text()[-3000:]}")
                time.sleep(0.5)
            yield url
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
