"""Real services for the tests, started by the tests on free ports in temporary directories.

PostgreSQL: one server per test process (initdb and start take about a second), a fresh
database per test. The server runs from the distribution's binaries; as root, under the
`postgres` user (PostgreSQL refuses to run as root). It is made for tests only (no
fsync) but is otherwise set up as a deployment would be: password authentication over
TCP (scram-sha-256), TLS offered with a certificate for 127.0.0.1 (`ca` is the file to
trust it with), and a non-superuser role owning each test database, as hubbub's would.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SUPERUSER_PASSWORD = "super-secret"
ROLE = "hubbub"
ROLE_PASSWORD = "hubbub-secret"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's binaries (Debian keeps them out of PATH)."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")]
    found.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    if found:
        return found[-1]
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


class PostgresServer:
    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="hubbub-pg-"))
        self.data = self.root / "data"
        self.ca = self.root / "server.crt"  # self-signed: its own authority
        self.port = free_port()
        self._as: list[str] = []
        self._names = itertools.count(1)
        self._retired: list[str] = []  # databases of tests that ended, dropped at the next test's end
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        result = subprocess.run([*self._as, *args], capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:1])} failed: {result.stdout}{result.stderr}")

    def start(self) -> None:
        from hubbub.transport.tls import generate_self_signed

        pwfile, key = self.root / "pw", self.root / "server.key"
        pwfile.write_text(SUPERUSER_PASSWORD + "\n")
        generate_self_signed(self.ca, key, "localhost")
        if self._as:
            for path in (pwfile, self.ca, key):
                shutil.chown(path, "postgres")
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres", f"--pwfile={pwfile}",
                  "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
                  "--no-sync")  # fmt: skip
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
                   f"-c ssl=on -c ssl_cert_file={self.ca} -c ssl_key_file={key}")  # fmt: skip
        self._options = options
        self.resume()
        self.sql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{ROLE_PASSWORD}'")

    def resume(self) -> None:
        """Start the server again after `halt` (its data is kept)."""
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-w",
                  "-t", "30", "-o", self._options, "start")  # fmt: skip

    def halt(self) -> None:
        """Stop the server, its data kept: connections are refused until `resume`."""
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def processes(self) -> list[int]:
        """The postmaster and its children (backends, writers): to pause them all."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        found = [postmaster]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                found.append(int(stat.parent.name))
        return found

    def freeze(self) -> None:
        """SIGSTOP the server's processes: connections stay open and nothing answers (a
        hung database, a network partition), until `thaw`."""
        self._signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal(signal.SIGCONT)

    def _signal(self, signum: int) -> None:
        for pid in self.processes():
            try:
                os.kill(pid, signum)
            except ProcessLookupError:  # a backend that ended between the listing and now
                pass

    def sql(self, statement: str, database: str = "postgres") -> str:
        """Run `statement` as the superuser; its output."""
        result = subprocess.run(
            [str(self.bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database,
             "-v", "ON_ERROR_STOP=1", "-At", "-c", statement],
            capture_output=True, text=True, timeout=60, check=False,
            env={**os.environ, "PGPASSWORD": SUPERUSER_PASSWORD},
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"psql: {result.stderr.strip()}")
        return result.stdout.strip()

    def url(self, database: str, user: str = ROLE, password: str = ROLE_PASSWORD) -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database owned by the test role; its name."""
        name = f"test_{next(self._names)}"
        self.sql(f"CREATE DATABASE {name} OWNER {ROLE}")
        return name

    def drop_database(self, name: str) -> None:
        self.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def retire(self, name: str) -> None:
        """The test that made `name` is ending: drop it at the end of the next test, not now.

        A fixture's teardown runs in the reverse order of the setups, so a server started
        by a fixture named before the database's (`make_server`, then `postgres_url`) is
        stopped after the database's own teardown: dropping it then (FORCE ends its
        sessions) would kill the connections that server commits its last writes on, at its
        stop. By the next test's end, every fixture of this one has been torn down."""
        for earlier in self._retired:
            self.drop_database(earlier)
        self._retired = [name]

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_postgres() -> PostgresServer | str:
    """A running PostgreSQL server, or why there cannot be one."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        return "PostgreSQL is not installed (Debian package postgresql; scripts/test installs it as root)"
    if os.geteuid() == 0:
        if not shutil.which("runuser"):
            return "running as root, and runuser is missing to start PostgreSQL as the postgres user"
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, and there is no postgres user to start PostgreSQL as"
    server = PostgresServer(bin_dir)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server


class RedisServer:
    """A redis-server of the tests' own: a free port, a temporary directory, nothing saved
    to disk (so that a restart comes back empty, as a Redis without persistence does)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="hubbub-redis-"))
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root),
             "--save", "", "--appendonly", "no", "--logfile", str(self.root / "log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(200):
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {(self.root / 'log').read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer within 10 seconds")

    def stop(self, kill: bool = False) -> None:
        """Stop it (SIGKILL when `kill`): what it held is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill() if kill else self.process.terminate()
            self.process.wait(10)
        self.process = None

    def close(self) -> None:
        self.stop(kill=True)
        shutil.rmtree(self.root, ignore_errors=True)


def start_redis() -> RedisServer | str:
    """A running redis-server, or why there cannot be one."""
    if not shutil.which("redis-server"):
        return "redis-server is not installed (Debian package redis-server; scripts/test installs it as root)"
    server = RedisServer()
    try:
        server.start()
    except BaseException:
        server.close()
        raise
    return server
