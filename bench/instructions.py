"""Instructions per message, counted by callgrind: the everyday-load figures of
docs/benchmarks.md, deterministic on a busy machine where CPU time is not.

    python bench/instructions.py [--tree DIR] [SCENARIO ...]

Each scenario runs twice under `valgrind --tool=callgrind`, with two numbers of
messages, and the difference of the two counts is divided by the difference of the
messages: what starting, registering and stopping cost cancels out. Scenarios:

  roundtrip        a PRIVMSG round trip between two clients, through the TCP protocol
                   object (a fake transport, the standard asyncio loop), in one process
  channel          a message to a channel of 100 members, the same way
  server           a message to a channel of 100 on a real server (`hubbub serve` with
                   the figures' flags and uvloop, history off) over real sockets, each
                   sent once the previous one reached every member: one message per
                   loop iteration, as at everyday load
  server-history   the same, history kept (SQLite in memory)
  pingpong         a PRIVMSG round trip on a real server over real sockets
  heap             bytes of Python heap per registered idle client (tracemalloc, no
                   valgrind)
  opcodes          Python bytecodes per message of `roundtrip` and `channel`, by
                   function (sys.settrace, no valgrind): where the interpreter's share
                   of the instructions goes (the 15 dearest functions; TOP=N in the
                   environment lists N)

`--tree` measures the hubbub in DIR (a checkout, or `git archive REV | tar -x -C DIR`;
build its compiled module there first: `python setup.py build_ext --inplace`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import CodeType, FrameType

SCENARIOS = ("roundtrip", "channel", "server", "server-history", "pingpong", "heap", "opcodes")
# Two numbers of round trips (roundtrip, pingpong) or messages (the others) per scenario.
SIZES = {"roundtrip": (500, 1500), "channel": (400, 1200), "server": (100, 500), "server-history": (100, 500),
         "pingpong": (100, 500)}  # fmt: skip
TEXT = "hello there this is a message 1234567890 1234567890"
SERVE = [
    "-m", "hubbub", "serve", "--listen", "127.0.0.1:0", "--no-web", "--db", ":memory:", "--loop", "uvloop",
    "--set", "limits.flood_control=false", "--set", "limits.max_clients_per_ip=0", "--set", "limits.max_clients=0",
    "--set", "limits.sendq=16777216", "--set", "limits.send_buffer=0",
    "--set", "limits.ping_interval=100000", "--set", "limits.registration_timeout=100000",
]  # fmt: skip


# -- in one process, through the TCP protocol object ------------------------------------------


class FakeTransport:
    """What the TCP protocol object writes to: counts, keeps nothing."""

    __slots__ = ("writes",)

    def __init__(self) -> None:
        self.writes = 0

    def get_extra_info(self, key: str, default: object = None) -> object:
        return ("127.0.0.1", 1) if key == "peername" else default

    def write(self, data: bytes) -> None:
        self.writes += 1

    def get_write_buffer_size(self) -> int:
        return 0

    def is_closing(self) -> bool:
        return False

    def close(self) -> None: ...

    def abort(self) -> None: ...

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


async def _in_process(
    members: int, rounds: int, channel: bool, traced: Callable[[Callable[[], None]], None] | None = None
) -> None:
    """`rounds` times: the first client says something to the second (or the channel),
    which answers; each message flushed as a loop iteration would. With `traced`, the
    messages are sent by the function given to it (which runs it, tracing)."""
    from hubbub.app import Runtime
    from hubbub.config import load
    from hubbub.transport.tcp import TcpConnection

    runtime = Runtime(load(None, ["listen.irc=['127.0.0.1:0']", "listen.web=''", "limits.flood_control=false",
                                  "store.db=:memory:", "history.enabled=false",
                                  "limits.max_clients_per_ip=0"]))  # fmt: skip
    await runtime.start()
    clients = []
    for i in range(members):
        conn = TcpConnection(runtime)
        conn.connection_made(FakeTransport())  # type: ignore[arg-type]
        conn.data_received(f"NICK u{i}\r\nUSER u 0 * :U\r\n{'JOIN #c' if channel else ''}\r\n".encode())
        clients.append(conn)
    runtime.flusher.flush()
    a, b = clients[0], clients[1]
    to_b = f"PRIVMSG {'#c' if channel else 'u1'} :{TEXT}\r\n".encode()
    to_a = f"PRIVMSG {'#c' if channel else 'u0'} :{TEXT}\r\n".encode()

    def talk() -> None:
        for _ in range(rounds):
            a.data_received(to_b)
            runtime.flusher.flush()
            b.data_received(to_a)
            runtime.flusher.flush()

    if traced is None:
        talk()
    else:
        traced(talk)
    await runtime.stop()


def opcodes(members: int, messages: int) -> tuple[float, list[tuple[float, str]]]:
    """Python bytecodes executed per message of the in-process scenario (a round trip's
    two messages to one member, or messages to a channel of `members`), in all and by
    function (`file:line:name`, most first). Deterministic: the same code, the same
    counts, on any machine, which CPU time and the machine's noise are not."""
    counts: Counter[CodeType] = Counter()

    def tracer(frame: FrameType, event: str, arg: object) -> Callable[..., object]:
        frame.f_trace_opcodes = True
        if event == "opcode":
            counts[frame.f_code] += 1
        return tracer

    def traced(talk: Callable[[], None]) -> None:
        talk()  # once untraced, to warm the caches (routes, forms, times) the way a running server has them
        sys.settrace(tracer)
        try:
            talk()
        finally:
            sys.settrace(None)

    asyncio.run(_in_process(members, messages // 2, members > 2, traced))
    mine = {code: count for code, count in counts.items() if code.co_filename != __file__}
    ranked = sorted(((count / messages, _where(code)) for code, count in mine.items()), reverse=True)
    return sum(mine.values()) / messages, ranked


def _where(code: CodeType) -> str:
    path = Path(code.co_filename)
    parts = path.parts
    shown = "/".join(parts[parts.index("hubbub") :]) if "hubbub" in parts else path.name
    return f"{shown}:{code.co_firstlineno}:{code.co_name}"


def _heap(clients: int = 2000) -> float:
    import gc
    import tracemalloc

    from hubbub.app import Runtime
    from hubbub.config import load
    from hubbub.transport.tcp import TcpConnection

    async def run() -> float:
        runtime = Runtime(load(None, ["listen.irc=['127.0.0.1:0']", "listen.web=''", "limits.flood_control=false",
                                      "store.db=:memory:", "limits.max_clients_per_ip=0", "limits.max_clients=0"]))
        await runtime.start()
        kept = []

        def connect(i: int) -> None:
            conn = TcpConnection(runtime)
            conn.connection_made(FakeTransport())  # type: ignore[arg-type]
            conn.data_received(f"NICK u{i}\r\nUSER u 0 * :U\r\n".encode())
            kept.append(conn)

        for i in range(200):  # the first ones grow the server's tables: not counted
            connect(i)
        runtime.flusher.flush()
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        for i in range(200, 200 + clients):
            connect(i)
        runtime.flusher.flush()
        await asyncio.sleep(0.1)
        gc.collect()
        after = tracemalloc.take_snapshot()
        grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
        fake = sum(sys.getsizeof(conn.transport) for conn in kept[200:])  # ours, not the server's
        await runtime.stop()
        return (grown - fake) / clients

    return asyncio.run(run())


# -- a real server over real sockets ------------------------------------------------------------


def _server(tree: Path, members: int, count: int, history: bool, pingpong: bool, dumps: Path) -> int:
    """Instructions the server spent on `count` messages: callgrind's counters are zeroed
    once every client is in, and dumped once the last message has arrived."""
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={dumps}/callgrind.out.%p", sys.executable,
               *SERVE, "--set", f"history.enabled={'true' if history else 'false'}"]  # fmt: skip
    server = subprocess.Popen(command, cwd=tree, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                              env={**os.environ, "PYTHONPATH": str(tree)})  # fmt: skip
    assert server.stderr is not None
    port = 0
    while not port:
        line = server.stderr.readline()
        if not line:
            raise SystemExit("the server did not start")
        found = re.search(r"listening irc 127\.0\.0\.1:(\d+)", line)
        port = int(found.group(1)) if found else 0

    def wait_for(sock: socket.socket, token: bytes) -> None:
        got = b""
        while token not in got:
            chunk = sock.recv(65536)
            if not chunk:
                raise SystemExit("closed by the server")
            got += chunk

    clients = []
    for i in range(members):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(f"NICK c{i}\r\nUSER u 0 * :U\r\n".encode())
        wait_for(sock, b" 376 ")
        if not pingpong:
            sock.sendall(b"JOIN #c\r\n")
            wait_for(sock, b" 366 ")
        clients.append(sock)
    time.sleep(0.5)
    for sock in clients:
        sock.setblocking(False)
        try:
            while sock.recv(65536):
                pass
        except BlockingIOError:
            pass
    subprocess.run(["callgrind_control", "-z", str(server.pid)], check=True, capture_output=True)
    if pingpong:
        a, b = clients
        for sock in clients:
            sock.setblocking(True)
        for _ in range(count):
            a.sendall(f"PRIVMSG c1 :{TEXT}\r\n".encode())
            wait_for(b, b"\n")
            b.sendall(f"PRIVMSG c0 :{TEXT}\r\n".encode())
            wait_for(a, b"\n")
    else:
        sender, receivers = clients[0], clients[1:]
        for _ in range(count):
            sender.sendall(f"PRIVMSG #c :{TEXT}\r\n".encode())
            waiting = set(receivers)
            while waiting:
                ready, _, _ = select.select(list(waiting), [], [], 60)
                if not ready:
                    raise SystemExit("a message was lost")
                for sock in ready:
                    if sock.recv(65536).endswith(b"\n"):
                        waiting.discard(sock)
    time.sleep(0.2)
    subprocess.run(["callgrind_control", "-d", str(server.pid)], check=True, capture_output=True)
    server.terminate()
    server.communicate()
    total = 0
    for dump in dumps.glob(f"callgrind.out.{server.pid}.*"):
        summary = re.search(r"^(?:summary|totals): (\d+)", dump.read_text(errors="replace"), re.MULTILINE)
        total = int(summary.group(1)) if summary else 0
    return total


# -- driving -------------------------------------------------------------------------------------


def _counted(tree: Path, scenario: str, count: int) -> int:
    """Instructions of one run of `scenario` with `count` messages."""
    if scenario in ("server", "server-history", "pingpong"):
        with tempfile.TemporaryDirectory() as dumps:
            return _server(tree, 2 if scenario == "pingpong" else 100, count, scenario == "server-history",
                           scenario == "pingpong", Path(dumps))  # fmt: skip
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__, "--inner",
         scenario, str(count)],
        cwd=tree, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(tree)},
    )  # fmt: skip
    found = re.search(r"Collected : (\d+)", run.stderr)
    if found is None:
        raise SystemExit(f"{scenario}: callgrind said nothing\n{run.stderr[-2000:]}")
    return int(found.group(1))


def measure(tree: Path, scenario: str) -> str:
    if scenario == "opcodes":
        run = subprocess.run([sys.executable, __file__, "--inner", "opcodes", "0"], cwd=tree, capture_output=True,
                             text=True, env={**os.environ, "PYTHONPATH": str(tree)}, check=True)  # fmt: skip
        return run.stdout.rstrip()
    if scenario == "heap":
        run = subprocess.run([sys.executable, __file__, "--inner", "heap", "0"], cwd=tree, capture_output=True,
                             text=True, env={**os.environ, "PYTHONPATH": str(tree)}, check=True)  # fmt: skip
        return f"heap: {float(run.stdout):,.0f} bytes of Python heap per registered idle client"
    low, high = SIZES[scenario]
    per = (_counted(tree, scenario, high) - _counted(tree, scenario, low)) / (high - low)
    what = "round trip" if scenario in ("roundtrip", "pingpong") else "message"
    return f"{scenario}: {per:,.0f} instructions per {what}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--inner", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("scenarios", nargs="*", default=list(SCENARIOS), help=", ".join(SCENARIOS))
    args = parser.parse_args()
    if args.inner:
        scenario, count = args.inner[0], int(args.inner[1])
        if scenario == "heap":
            print(_heap())
        elif scenario == "opcodes":
            for name, members in (("round trip", 2), ("channel of 100", 100)):
                total, ranked = opcodes(members, 400)
                print(f"opcodes: {total:,.0f} Python bytecodes per message ({name})")
                for per, where in ranked[:int(os.environ.get("TOP", "15"))]:
                    print(f"  {per:7.1f}  {where}")
        elif scenario == "channel":
            asyncio.run(_in_process(100, count // 2, True))  # `count` messages
        else:
            asyncio.run(_in_process(2, count, False))  # `count` round trips
        return
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))} (known: {', '.join(SCENARIOS)})")
    for scenario in args.scenarios:
        print(measure(args.tree.resolve(), scenario), flush=True)


if __name__ == "__main__":
    main()
