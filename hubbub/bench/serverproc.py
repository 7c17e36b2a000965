"""Start the server under test, find its port, and stop it afterwards.

`--server-cmd` takes any command line: hubbub, InspIRCd, ngIRCd, something else. The
command is run without a shell, so its pid is the server's own (wrappers such as
`taskset` and `prlimit` exec the server in place) and /proc can be sampled. The port is
read from the server's output (hubbub logs `listening irc 127.0.0.1:PORT`) unless
`--connect` names it, and the server counts as ready once a TCP connection succeeds.

The server is tied to the benchmark's life: it gets SIGTERM when the benchmark stops
it, SIGKILL if it does not exit in time, and SIGTERM from the kernel if the
benchmark process itself dies (PR_SET_PDEATHSIG), so no run leaves a server behind.
"""

from __future__ import annotations

import collections
import ctypes
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time

DEFAULT_PORT_PATTERN = r"listening irc \[?([0-9a-fA-F.:]+?)\]?:(\d+)"
WEB_PORT_PATTERN = r"listening web \[?([0-9a-fA-F.:]+?)\]?:(\d+)"  # --transport websocket

# What `hubbub bench` runs when neither --connect nor --server-cmd is given: a hubbub
# with every per-client limit that would throttle a load generator turned off.
HUBBUB_BENCH_SETTINGS = (
    "limits.flood_control=false",
    "limits.max_clients_per_ip=0",
    "limits.max_clients=0",
    "limits.sendq=16777216",
    "limits.send_buffer=0",  # the kernel sizes socket buffers itself, as for the other servers measured
)


def default_server_cmd(loop: str = "auto", web: bool = False) -> list[str]:
    """The command that starts hubbub for a benchmark; with `web`, its web listener on a
    free port too (what `--transport websocket` connects to)."""
    cmd = [sys.executable, "-m", "hubbub", "serve", "--listen", "127.0.0.1:0",
           *(("--web", "127.0.0.1:0") if web else ("--no-web",)), "--db", ":memory:", "--loop", loop]
    for setting in HUBBUB_BENCH_SETTINGS:
        cmd += ["--set", setting]
    return cmd


class ServerStartError(RuntimeError):
    """The server command exited, or never became reachable, in time."""


try:  # loaded here, not in the child between fork and exec, where little is safe
    _LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
except OSError:  # pragma: no cover
    _LIBC = None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if _LIBC is not None:
        _LIBC.prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG


class ServerProcess:
    def __init__(
        self,
        cmd: str | list[str],
        connect: tuple[str, int] | None = None,
        port_pattern: str | None = None,  # default: the IRC listener's line
        log_path: str | None = None,
    ) -> None:
        self.args = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
        self.connect = connect
        self.port_pattern = re.compile(port_pattern or DEFAULT_PORT_PATTERN)
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.output: collections.deque[str] = collections.deque(maxlen=40)
        self._found: tuple[str, int] | None = None
        self._found_event = threading.Event()
        self._reader: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def command(self) -> str:
        return shlex.join(self.args)

    def start(self, timeout: float = 20.0) -> tuple[str, int]:
        """Run the command; return (host, port) once the server accepts connections."""
        self.proc = subprocess.Popen(
            self.args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if _LIBC is not None else None,
        )
        self._reader = threading.Thread(target=self._read_output, name="server-output", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        address = self.connect
        if address is None:
            while not self._found_event.wait(0.05):
                self._check_running()
                if time.monotonic() > deadline:
                    raise ServerStartError(self._explain(f"no line matching {self.port_pattern.pattern!r} "
                                                         f"within {timeout:g}s"))
            assert self._found is not None
            address = self._found
        while True:
            self._check_running()
            try:
                with socket.create_connection(address, timeout=0.5):
                    return address
            except OSError:
                if time.monotonic() > deadline:
                    raise ServerStartError(self._explain(f"nothing accepts connections on "
                                                         f"{address[0]}:{address[1]} within {timeout:g}s")) from None
                time.sleep(0.05)

    def _read_output(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        log = open(self.log_path, "w", encoding="utf-8") if self.log_path else None
        try:
            for raw in self.proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                self.output.append(line)
                if log is not None:
                    log.write(line + "\n")
                    log.flush()
                if self._found is None:
                    match = self.port_pattern.search(line)
                    if match:
                        self._found = (match.group(1), int(match.group(2)))
                        self._found_event.set()
        finally:
            if log is not None:
                log.close()

    def _check_running(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise ServerStartError(self._explain(f"the server exited with status {self.proc.returncode}"))

    def _explain(self, what: str) -> str:
        tail = "\n".join(f"  | {line}" for line in list(self.output)[-15:])
        return f"{what}\n  command: {self.command}" + (f"\n  last output:\n{tail}" if tail else "")

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`; return the exit status."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            except ProcessLookupError:
                pass
        if self._reader is not None:
            self._reader.join(2)
        return proc.returncode

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def is_loopback(host: str) -> bool:
    """True for addresses that never leave this machine (127.0.0.0/8, ::1, localhost)."""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    import ipaddress

    return bool(infos) and all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos)


def parse_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"{text!r} is not HOST:PORT")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)

