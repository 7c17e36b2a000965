"""What a starting `hubbub serve` loads: only what its configuration uses.

Every node of a cluster, every restart and every test server pays its imports; the TLS
stack (pyOpenSSL, cryptography), scramp and the terminal client's library cost some
100 ms of a 350 ms start, the benchmark's scenarios another 15, and a server without
TLS, nobody yet using SCRAM, no `hubbub chat` and no `hubbub bench` needs none of them.
Read from the real process with `-X importtime`, which names every module as it is
imported, up to the line that says it listens.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STARTUP = 15.0
IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$")
LISTENING = re.compile(r"listening (irc|tls) ")
# loaded on first use only: TLS listeners, SASL SCRAM or account passwords, the chat client,
# the benchmark's scenarios (its arguments are part of every command line: bench/parser.py)
OPTIONAL = ("OpenSSL", "cryptography", "scramp", "asn1crypto", "textual", "hubbub.client.events",
            "hubbub.transport.tls", "hubbub.transport.tlsstream", "hubbub.bench.cli", "hubbub.bench.scenarios",
            "hubbub.bench.history_cli", "hubbub.bench.report")  # fmt: skip


async def _imports_until_listening(tmp_path: Path, *args: str) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-X", "importtime", "-m", "hubbub", "serve", "--listen", "127.0.0.1:0", "--no-web",
        "--db", ":memory:", *args,
        cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    modules: set[str] = set()
    waiting = {"irc", "tls"} if "--tls-listen" in args else {"irc"}  # the listeners to be logged
    log: list[str] = []
    try:
        while waiting:
            raw = await asyncio.wait_for(proc.stderr.readline(), STARTUP)
            assert raw, f"the server ended before listening: {log[-20:]}"
            line = raw.decode(errors="replace").rstrip("\n")
            log.append(line)
            found = IMPORTED.match(line)
            if found:
                modules.add(found.group(1))
            elif (listening := LISTENING.search(line)) is not None:
                waiting.discard(listening.group(1))
        return modules
    finally:
        proc.kill()
        await proc.wait()


def _loaded(modules: set[str], name: str) -> bool:
    return any(module == name or module.startswith(name + ".") for module in modules)


async def test_a_server_without_tls_loads_no_tls_stack_scram_or_client(tmp_path: Path) -> None:
    modules = await _imports_until_listening(tmp_path)
    assert "hubbub.app" in modules and "hubbub.server.handlers.sasl" in modules  # the reading works
    assert [name for name in OPTIONAL if _loaded(modules, name)] == []


async def test_a_server_with_a_tls_listener_loads_the_tls_stack(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    modules = await _imports_until_listening(
        tmp_path, "--tls-listen", "127.0.0.1:0", "--set", "tls.self_signed=true",
        "--set", f"tls.cert='{cert}'", "--set", f"tls.key='{key}'",
    )  # fmt: skip
    assert _loaded(modules, "OpenSSL") and _loaded(modules, "hubbub.transport.tls")
    assert not _loaded(modules, "scramp") and not _loaded(modules, "hubbub.client.events")


def _imports_of(tmp_path: Path, *args: str, stdin: str = "") -> tuple[int, set[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "hubbub", *args], cwd=tmp_path, env=env,
                          input=stdin, capture_output=True, text=True, timeout=60)  # fmt: skip
    return done.returncode, {found.group(1) for line in done.stderr.splitlines() if (found := IMPORTED.match(line))}


def test_the_command_lines_that_run_no_chat_load_no_handlers(tmp_path: Path) -> None:
    """`hubbub --version`, `hubbub account list`: the chat's handlers were most of their
    imports (the command line's 370 ms came down to 115); only a name or a password
    checked against NickServ's rules (`account add`, `account passwd`) loads them."""
    db = str(tmp_path / "hubbub.db")
    for args in (("--version",), ("account", "list", "--db", db), ("serve", "--print-config")):
        code, modules = _imports_of(tmp_path, *args)
        assert not _loaded(modules, "hubbub.server.handlers"), args
    code, modules = _imports_of(tmp_path, "account", "add", "alice", "--db", db, stdin="correct-horse\n")
    assert code == 0 and _loaded(modules, "hubbub.server.handlers")
    code, modules = _imports_of(tmp_path, "account", "add", "NickServ", "--db", db, stdin="correct-horse\n")
    assert code != 0  # a service's nick: the services were registered before the name was checked
