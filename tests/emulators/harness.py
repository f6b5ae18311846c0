"""Local BigQuery and GCS emulators for the test suite, each in a virtualenv of its own.

An emulator's virtualenv is built once from the pinned requirements file beside this module and
cached under ``.cicl/emulators/<name>-<hash>/``; the hash covers the requirements, the launcher
and the Python version, so changing a pin builds a new one. bqemulator must not share the
project's virtualenv: it pulls google-cloud-bigquery-storage, which makes the client reach for
Google's real Storage Read endpoint.

Each emulator runs as a subprocess in its own process group on a free loopback port. When it does
not come up, ``EmulatorError`` carries its log so the failing test says why.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CACHE_DIR = Path(os.environ.get("CICL_EMULATOR_CACHE", REPO / ".cicl" / "emulators"))
START_TIMEOUT_S = 90.0
SETUP_TIMEOUT_S = 600.0
LOG_TAIL_CHARS = 6000


class EmulatorError(RuntimeError):
    pass


@dataclass(frozen=True)
class EmulatorKind:
    name: str
    requirements: Path
    command: Callable[[Path, int], list[str]]  # (environment dir, port) -> argv
    ready_path: str  # an HTTP path that answers once the server is up
    env: Callable[[Path], dict[str, str]] = lambda _root: {}
    setup: Callable[[Path], None] | None = None  # after the packages are installed
    hashed_files: tuple[Path, ...] = ()


def _venv_python(root: Path) -> Path:
    return root / "venv" / "bin" / "python"


def _install_duckdb_extensions(root: Path) -> None:
    # bqemulator runs INSTALL/LOAD spatial (and avro) at startup; with the extension files already
    # installed under $HOME/.duckdb, DuckDB never reaches for its download site.
    script = (
        "import duckdb, glob, sys\n"
        "con = duckdb.connect()\n"
        "for name in ('spatial', 'avro'):\n"
        "    found = glob.glob(f'{sys.prefix}/lib/python*/site-packages/duckdb_extension_{name}/"
        "extensions/*/{name}.duckdb_extension')\n"
        "    if not found:\n"
        "        sys.exit(f'duckdb-extension-{name} is not installed in {sys.prefix}')\n"
        "    con.execute(f\"INSTALL '{found[0]}'\")\n"
        "    con.execute(f'LOAD {name}')\n"
    )
    _run(
        [str(_venv_python(root)), "-c", script],
        env={**os.environ, "HOME": str(root / "home")},
        what="installing the DuckDB extensions",
    )


BIGQUERY = EmulatorKind(
    name="bigquery",
    requirements=HERE / "requirements-bigquery.txt",
    command=lambda root, port: [
        str(_venv_python(root)),
        str(HERE / "bigquery_launcher.py"),
        "start",
        "--rest-host",
        "127.0.0.1",
        "--rest-port",
        str(port),
        "--grpc-host",
        "127.0.0.1",
        "--grpc-port",
        "0",
        "--ephemeral",
        "--log-level",
        "warning",
        "--log-format",
        "console",
    ],
    ready_path="/healthz",
    env=lambda root: {"HOME": str(root / "home")},
    setup=_install_duckdb_extensions,
    hashed_files=(HERE / "bigquery_launcher.py",),
)

GCS = EmulatorKind(
    name="gcs",
    requirements=HERE / "requirements-gcs.txt",
    # The launcher lives beside this module, not in the virtualenv: it is not hashed.
    command=lambda root, port: [
        str(_venv_python(root)),
        str(HERE / "gcs_launcher.py"),
        "start",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--in-memory",
    ],
    ready_path="/storage/v1/b?project=cicl-test",
)


def _uv() -> list[str]:
    beside = Path(sys.executable).parent / "uv"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("uv")
    if found:
        return [found]
    raise EmulatorError(
        "uv is needed to build the emulator virtualenvs; `make venv` installs it into .venv"
    )


def _run(argv: list[str], what: str, env: dict[str, str] | None = None) -> None:
    try:
        done = subprocess.run(
            argv,
            env=env,
            capture_output=True,
            text=True,
            timeout=SETUP_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise EmulatorError(f"{what} took longer than {SETUP_TIMEOUT_S:.0f}s: {argv}") from exc
    if done.returncode != 0:
        raise EmulatorError(
            f"{what} failed (exit {done.returncode}): {' '.join(argv)}\n"
            f"{done.stdout[-LOG_TAIL_CHARS:]}\n{done.stderr[-LOG_TAIL_CHARS:]}"
        )


def environment_dir(kind: EmulatorKind) -> Path:
    digest = hashlib.sha256()
    for path in (kind.requirements, *kind.hashed_files):
        digest.update(path.read_bytes())
    digest.update(f"{sys.version_info.major}.{sys.version_info.minor}".encode())
    return CACHE_DIR / f"{kind.name}-{digest.hexdigest()[:16]}"


def ensure_environment(kind: EmulatorKind) -> Path:
    """The emulator's virtualenv (built on first use, then reused); returns its directory."""
    root = environment_dir(kind)
    ready = root / ".ready"
    if ready.exists() and _venv_python(root).exists():
        return root
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / f"{kind.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers build it once
        if ready.exists() and _venv_python(root).exists():
            return root
        shutil.rmtree(root, ignore_errors=True)
        (root / "home").mkdir(parents=True)
        uv_env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
        uv = _uv()
        _run(
            [*uv, "venv", "--quiet", "--python", sys.executable, str(root / "venv")],
            what=f"creating the {kind.name} emulator virtualenv",
            env=uv_env,
        )
        _run(
            [
                *uv,
                "pip",
                "install",
                "--quiet",
                "--python",
                str(_venv_python(root)),
                "-r",
                str(kind.requirements),
            ],
            what=f"installing {kind.requirements.name}",
            env=uv_env,
        )
        if kind.setup:
            kind.setup(root)
        ready.write_text(kind.requirements.name + "\n")
        for stale in CACHE_DIR.glob(f"{kind.name}-*"):  # built from pins that changed since
            if stale != root and stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
    return root


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningEmulator:
    kind: EmulatorKind
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    _stopped: bool = field(default=False, repr=False)

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-LOG_TAIL_CHARS:]
        except OSError as exc:
            return f"(no log: {exc})"

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + self.kind.ready_path, timeout=2) as resp:
                return resp.status < 500
        except urllib.error.HTTPError as exc:
            return exc.code < 500
        except (urllib.error.URLError, OSError):
            return False

    def detach(self) -> None:
        """Leave it running after this process exits (`make emulators-up`)."""
        atexit.unregister(self.stop)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        # The whole group, even when the leader has exited: a server may leave workers behind.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def start(kind: EmulatorKind, workdir: Path) -> RunningEmulator:
    """Build (if needed) and start one emulator; returns once it answers HTTP."""
    return launch(kind, ensure_environment(kind), workdir)


def launch(
    kind: EmulatorKind,
    root: Path,
    workdir: Path,
    attempts: int = 3,
    timeout_s: float = START_TIMEOUT_S,
) -> RunningEmulator:
    """Start an emulator from its environment at ``root``; EmulatorError (with log) if it fails."""
    workdir.mkdir(parents=True, exist_ok=True)
    failures = []
    for attempt in range(1, attempts + 1):
        port = free_port()
        log_path = workdir / f"{kind.name}-{attempt}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                kind.command(root, port),
                cwd=workdir,
                env={**os.environ, "NO_GCE_CHECK": "true", **kind.env(root)},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() ends all its children
            )
        emulator = RunningEmulator(kind, f"http://127.0.0.1:{port}", process, log_path)
        atexit.register(emulator.stop)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and process.poll() is None:
            if emulator.answers():
                return emulator
            time.sleep(0.2)
        exit_code = process.poll()
        emulator.stop()
        outcome = (
            f"exited with code {exit_code}"
            if exit_code is not None
            else f"no answer within {timeout_s:.0f}s"
        )
        log_tail = emulator.log_tail()
        failures.append(
            f"attempt {attempt} on port {port}: {outcome}\n--- {log_path} ---\n{log_tail}"
        )
        if "address already in use" not in log_tail.lower():
            break  # only a port taken between free_port() and bind() is worth another try
    raise EmulatorError(f"the {kind.name} emulator did not start:\n" + "\n".join(failures))


@contextlib.contextmanager
def running(kind: EmulatorKind, workdir: Path) -> Iterator[RunningEmulator]:
    emulator = start(kind, workdir)
    try:
        yield emulator
    finally:
        emulator.stop()
