"""Transcript helpers shared by the operator tests."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

from hubbub.app import Runtime
from tests.e2e_opers.conftest import OPER_NAME, OPER_PASSWORD
from tests.helpers import LineClient, connected

SERVER = "hubbub.local"
ROOT = Path(__file__).resolve().parents[2]
STARTUP = 15.0  # bound on a `hubbub serve` process coming up on a loaded machine


async def oper_up(client: LineClient, name: str = OPER_NAME, password: str = OPER_PASSWORD) -> None:
    """OPER, and wait for the MODE +o that follows RPL_YOUREOPER."""
    client.send(f"OPER {name} {password}")
    await client.expect("381", client.nick)
    await client.expect("MODE", client.nick)


async def an_oper(runtime: Runtime, nick: str = "ircop", *channels: str) -> LineClient:
    client = await connected(runtime, nick, *channels)
    await oper_up(client)
    return client


async def connected_from(runtime: Runtime, source_ip: str, nick: str | None = None) -> LineClient:
    """A client whose connection comes from `source_ip` (any 127.x.y.z works on Linux)."""
    host, port = runtime.irc_address()
    reader, writer = await asyncio.open_connection(host, port, local_addr=(source_ip, 0), limit=1 << 20)
    client = LineClient(reader, writer)
    if nick:
        await client.register(nick)
    return client


def hubbub_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


class Process:
    """`python -m hubbub serve --config FILE`, its log read as it comes."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.log: list[str] = []

    async def wait_log(self, pattern: str, timeout: float = STARTUP) -> re.Match[str]:
        assert self.proc.stderr is not None
        regex = re.compile(pattern)
        for line in self.log:
            if found := regex.search(line):
                return found
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            raw = await asyncio.wait_for(self.proc.stderr.readline(), max(0.01, deadline - loop.time()))
            if not raw:
                raise AssertionError(f"hubbub exited without logging {pattern!r}: {self.log}")
            line = raw.decode(errors="replace").rstrip("\n")
            self.log.append(line)
            if found := regex.search(line):
                return found
