"""`--cluster N`: a redis-server and N hubbub nodes sharing it, started for one run.

Clients are spread over the nodes in turn (client i on node i mod N), so that senders,
latency samplers and receivers sit on every node and most deliveries cross nodes. The
server's CPU of such a run is the nodes' and Redis's together; Redis's own command
counts (INFO commandstats) give the Redis operations each message costs.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from hubbub.bench.serverproc import ServerProcess, ServerStartError, default_server_cmd


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisProcess:
    """A redis-server on a free loopback port, in a temporary directory, saving nothing."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="hubbub-bench-redis-"))
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self, timeout: float = 10.0) -> None:
        if shutil.which("redis-server") is None:
            raise ServerStartError("--cluster needs redis-server (Debian package redis-server)")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--save", "", "--appendonly", "no", "--maxclients", "1000"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerStartError("redis-server exited at once")
            try:
                if self.command("PING").startswith("+PONG"):
                    return
            except OSError:
                time.sleep(0.05)
        raise ServerStartError(f"redis-server did not answer within {timeout:g}s")

    def command(self, *words: str) -> str:
        """One command in the inline protocol; the whole reply as text. The reply is read
        to its end as RESP frames it (a simple line, or a bulk string of a stated length),
        never until a timeout: the generator calls this around its trials, and a read that
        waited would hold up the sending it brackets."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(" ".join(words).encode() + b"\r\n")
            data = b""
            while not _complete(data):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
            return data.decode(errors="replace")

    def calls(self) -> dict[str, int]:
        """Commands Redis has run so far, by name (INFO commandstats)."""
        found = re.findall(r"cmdstat_(\S+?):calls=(\d+)", self.command("INFO", "commandstats"))
        return {name: int(calls) for name, calls in found}

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def _complete(reply: bytes) -> bool:
    """Whether `reply` holds a whole RESP reply: a line (+, -, :), or a bulk string ($)."""
    head, sep, rest = reply.partition(b"\r\n")
    if not sep:
        return False
    if head.startswith(b"$"):
        size = int(head[1:])
        return size < 0 or len(rest) >= size + 2
    return True


class LocalCluster:
    def __init__(self, nodes: int, base_cmd: list[str] | None = None, log_path: str | None = None) -> None:
        self.count = nodes
        self.base_cmd = base_cmd or default_server_cmd()
        self.log_path = log_path
        self.redis = RedisProcess()
        self.servers: list[ServerProcess] = []
        self.addresses: list[tuple[str, int]] = []

    def start(self, timeout: float) -> None:
        self.redis.start()
        for i in range(self.count):
            cmd = [*self.base_cmd, "--cluster", self.redis.url, "--name", f"node{i + 1}.bench"]
            log = f"{self.log_path}.{i + 1}" if self.log_path else None
            server = ServerProcess(cmd, log_path=log)
            self.servers.append(server)
            self.addresses.append(server.start(timeout))
        self._pin_redis()

    def _pin_redis(self) -> None:
        """Redis runs on the CPUs the nodes were given (a pinned server command), not on
        the load generator's, which it would otherwise inherit."""
        node = self.servers[0].pid if self.servers else None
        if node is None or self.redis.pid is None:
            return
        try:
            os.sched_setaffinity(self.redis.pid, os.sched_getaffinity(node))
        except OSError:
            pass  # gone, or not ours to pin: measured where it runs

    @property
    def pids(self) -> list[int]:
        """The nodes' pids, and Redis's: what the cluster spends is what all of them spend."""
        pids = [server.pid for server in self.servers if server.pid is not None]
        if self.redis.pid is not None:
            pids.append(self.redis.pid)
        return pids

    @property
    def command(self) -> str:
        return f"{self.count} x {self.servers[0].command if self.servers else ''} (+ redis-server)"

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        self.redis.stop()
