"""A local PostgreSQL server for the Postgres-backed Dagster instance (tests, `make ui-postgres`).

The server is Debian's ``postgresql`` package (installed here when missing: apt-get as root, as
in CI, else through sudo). It runs as the ``postgres`` user (``runuser`` when this process is
root: PostgreSQL refuses to run as root) from a data directory made by ``initdb``, listening on
a free loopback port and on a socket in that directory only. Logins need the password this
module writes beside it.

    python -m tests.emulators.postgres run --data .cicl/postgres -- dagster dev ...

starts the server on that data directory (made on first use, kept after), creates the database,
runs the command with DAGSTER_PG_* set, and stops the server when the command ends.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.emulators.harness import EmulatorError, free_port

SUPERUSER = "postgres"
START_TIMEOUT_S = 60.0
INSTALL_TIMEOUT_S = 900.0


def _as_root() -> bool:
    return os.geteuid() == 0


def server_bin() -> Path:
    """The directory of Debian's server binaries (initdb, pg_ctl, postgres), newest version."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if not found:
        raise EmulatorError(
            "PostgreSQL's server is not installed (no /usr/lib/postgresql/*/bin/initdb); "
            "install Debian's `postgresql` package or run `make postgres`"
        )
    return Path(found[-1]).parent


def ensure_installed() -> Path:
    """Debian's postgresql package, installed when its server binaries are missing."""
    with contextlib.suppress(EmulatorError):
        return server_bin()
    sudo = [] if _as_root() else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (
        [*sudo, "apt-get", "update", "-qq"],
        [*sudo, "apt-get", "install", "-y", "-qq", "postgresql"],
    ):
        done = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False
        )
        if done.returncode != 0:
            raise EmulatorError(
                f"installing PostgreSQL failed (exit {done.returncode}): {' '.join(argv)}\n"
                f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
    return server_bin()


def _as_server_user(argv: Sequence[str]) -> list[str]:
    return ["runuser", "-u", SUPERUSER, "--", *argv] if _as_root() else list(argv)


def _give_to_server_user(path: Path) -> None:
    if _as_root():
        entry = pwd.getpwnam(SUPERUSER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _run(argv: Sequence[str], what: str, timeout: float = 120.0) -> str:
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise EmulatorError(
            f"{what} failed (exit {done.returncode}): {' '.join(argv)}\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return done.stdout


@dataclass
class PostgresServer:
    data: Path  # the server's directory: data/, its socket, its log and the password
    port: int
    bin: Path

    @property
    def password(self) -> str:
        return (self.data / "password").read_text().strip()

    def env(self, db_name: str) -> dict[str, str]:
        """The variables deploy/dagster/*.yaml read."""
        return {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_DB": db_name,
            "DAGSTER_PG_USERNAME": SUPERUSER,
            "DAGSTER_PG_PASSWORD": self.password,
        }

    def psql(self, sql: str, db_name: str = "postgres") -> str:
        # Over the socket in the data directory: peer (root runs it as the server user) or
        # trust (a user's own cluster), never the password.
        argv = ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", str(self.data)]
        argv += ["-p", str(self.port), "-U", SUPERUSER, "-d", db_name, "-c", sql]
        return _run(_as_server_user(argv), f"psql {sql!r}")

    def create_database(self, name: str) -> str:
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
        if not exists.strip():
            self.psql(f'CREATE DATABASE "{name}"')
        return name

    def log_tail(self) -> str:
        try:
            return (self.data / "server.log").read_text(errors="replace")[-4000:]
        except OSError as exc:
            return f"(no log: {exc})"

    def stop(self) -> None:
        done = subprocess.run(
            _as_server_user(
                [str(self.bin / "pg_ctl"), "stop", "-D", str(self.data / "data"), "-m", "fast"]
            ),
            capture_output=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:  # not running, or pg_ctl could not stop it: end it by its pid
            with contextlib.suppress(OSError, ValueError):
                pid = int((self.data / "data" / "postmaster.pid").read_text().split()[0])
                os.kill(pid, signal.SIGQUIT)


def initdb(data: Path, bin_dir: Path) -> None:
    """A new cluster in ``data``/data: the superuser logs in with a password over TCP."""
    data.mkdir(parents=True, exist_ok=True)
    os.chmod(data, 0o700)
    _give_to_server_user(data)
    password = data / "password"
    password.write_text(secrets.token_hex(16) + "\n")
    os.chmod(password, 0o600)
    _give_to_server_user(password)
    _run(
        _as_server_user(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data / "data"),
                "-U",
                SUPERUSER,
                f"--pwfile={password}",
                "--auth-local=peer" if _as_root() else "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ]
        ),
        "initdb",
    )


def start(data: Path, port: int | None = None) -> PostgresServer:
    """Start a server on ``data`` (initdb on first use) on a free loopback port."""
    bin_dir = ensure_installed()
    if not (data / "data" / "PG_VERSION").exists():
        initdb(data, bin_dir)
    failures = []
    for attempt in range(1, 4):
        server = PostgresServer(data, port or free_port(), bin_dir)
        options = (
            f"-c listen_addresses=127.0.0.1 -p {server.port} -c unix_socket_directories={data} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        done = subprocess.run(
            _as_server_user(
                [
                    str(bin_dir / "pg_ctl"),
                    "start",
                    "-D",
                    str(data / "data"),
                    "-l",
                    str(data / "server.log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    str(int(START_TIMEOUT_S)),
                ]
            ),
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S + 10,
            check=False,
            start_new_session=True,
        )
        if done.returncode == 0:
            return server
        failures.append(f"attempt {attempt} on port {server.port}:\n{server.log_tail()}")
        if "address already in use" not in server.log_tail().lower() or port:
            break
    raise EmulatorError("PostgreSQL did not start:\n" + "\n".join(failures))


@contextlib.contextmanager
def running(data: Path | None = None) -> Iterator[PostgresServer]:
    """A server for the duration of the block; a temporary data directory unless given one."""
    temporary = data is None
    if temporary:
        # Not under pytest's tmp dirs: the server user must be able to reach it.
        data = Path(tempfile.mkdtemp(prefix="cicl-postgres-"))
    server = start(data)
    try:
        yield server
    finally:
        server.stop()
        if temporary:
            shutil.rmtree(data, ignore_errors=True)


def _interrupt(signum, _frame) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.emulators.postgres")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start PostgreSQL, run a command with DAGSTER_PG_* set")
    run.add_argument("--data", type=Path, required=True, help="data directory, kept after")
    run.add_argument("--db", default="dagster")
    run.add_argument("--port", type=int, default=None)
    run.add_argument("argv", nargs=argparse.REMAINDER)
    sub.add_parser("install", help="install Debian's postgresql when missing")
    args = parser.parse_args(argv)
    if args.command == "install":
        sys.stdout.write(f"{ensure_installed()}\n")
        return 0
    command = [a for a in args.argv if a != "--"] if args.argv[:1] == ["--"] else args.argv
    if not command:
        parser.error("run needs a command after --")
    # `kill` or a closed terminal stops the command and the server as Ctrl-C does: without
    # this they would outlive this process (the command runs in its own session).
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    server = start(args.data.resolve(), args.port)
    try:
        server.create_database(args.db)
        sys.stderr.write(f"PostgreSQL on 127.0.0.1:{server.port}, database {args.db}\n")
        env = {**os.environ, **server.env(args.db)}
        with subprocess.Popen(command, env=env, start_new_session=True) as child:
            try:
                return child.wait()
            except KeyboardInterrupt:
                os.killpg(child.pid, signal.SIGTERM)
                try:
                    return child.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(child.pid, signal.SIGKILL)
                    return child.wait(timeout=30)
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
