"""Nodes of a cluster for the tests: real `hubbub serve --cluster` processes sharing a
real redis-server, each found by the address it logs, each stopped by its test."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import uuid
from collections.abc import Sequence

from tests.helpers import CHEAP_HASH, LineClient

LISTENING = re.compile(r"listening irc (\S+):(\d+)")
TLS_LISTENING = re.compile(r"listening tls (\S+):(\d+)")
WEB_LISTENING = re.compile(r"listening web (\S+):(\d+)")
NODE_TIMEOUT = 2.0  # seconds: short, so that the tests of lost nodes are quick


OPER_PASSWORD = "secret"


class Node:
    def __init__(self, url: str, keyspace: str, name: str, config: str, *overrides: str, db: str = ":memory:") -> None:
        self.url = url
        self.config = config
        self.db = db
        self.keyspace = keyspace
        self.name = name
        self.overrides = overrides
        self.process: asyncio.subprocess.Process | None = None
        self.address: tuple[str, int] | None = None
        self.tls_address: tuple[str, int] | None = None  # with a `listen.tls` override
        self.web_address: tuple[str, int] | None = None  # with a `listen.web` override
        self.log: list[str] = []
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> Node:
        sets = ["limits.flood_control=false", "limits.max_clients_per_ip=0", f"cluster.keyspace='{self.keyspace}'",
                "accounts.ghost_timeout=0",  # as tests.helpers.start_server: raw clients answer no PING
                f"cluster.node_timeout={NODE_TIMEOUT}", *CHEAP_HASH, *self.overrides]  # fmt: skip
        web = any(item.startswith("listen.web") for item in self.overrides)
        args = ["-m", "hubbub", "serve", "--config", self.config, "--cluster", self.url, "--listen", "127.0.0.1:0",
                *([] if web else ["--no-web"]), "--db", self.db, "--name", self.name]  # fmt: skip
        for item in sets:
            args += ["--set", item]
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        assert self.process.stderr is not None
        tls = any(item.startswith("listen.tls") for item in self.overrides)
        while self.address is None or (tls and self.tls_address is None) or (web and self.web_address is None):
            line = await asyncio.wait_for(self.process.stderr.readline(), 20)
            if not line:
                raise AssertionError(f"node {self.name} exited: {''.join(self.log)}")
            text = line.decode(errors="replace")
            self.log.append(text)
            found = LISTENING.search(text)
            if found:
                self.address = (found.group(1), int(found.group(2)))
            found = TLS_LISTENING.search(text)
            if found:
                self.tls_address = (found.group(1), int(found.group(2)))
            found = WEB_LISTENING.search(text)
            if found:
                self.web_address = (found.group(1), int(found.group(2)))
        self._reader = asyncio.create_task(self._drain())
        return self

    @property
    def web_url(self) -> str:
        assert self.web_address is not None
        return f"http://{self.web_address[0]}:{self.web_address[1]}/"

    async def _drain(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.log.append(line.decode(errors="replace"))

    async def client(self, nick: str | None = None, *channels: str, caps: Sequence[str] = ()) -> LineClient:
        assert self.address is not None
        client = await LineClient.connect_to(*self.address)
        if caps:
            client.send("CAP LS 302")
            client.send(f"CAP REQ :{' '.join(caps)}")
            await client.expect("CAP", "*", "ACK")
            client.send("CAP END")
        if nick:
            await client.register(nick)
            for channel in channels:
                await client.join(channel)
        return client

    def kill(self) -> None:
        """SIGKILL: the node vanishes without a word, as a crashed machine does."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.process is None:
            return
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        self.process = None


class Cluster:
    """Nodes sharing one keyspace of one Redis: one network."""

    def __init__(self, url: str, config: str, db: str = ":memory:") -> None:
        self.url = url
        self.config = config  # a TOML file with an operator block (admin / OPER_PASSWORD)
        self.db = db  # the store every node shares
        self.keyspace = f"t{uuid.uuid4().hex[:12]}"
        self.nodes: list[Node] = []
        self.clients: list[LineClient] = []

    async def start(self, count: int, *overrides: str) -> list[Node]:
        started = []
        for _ in range(count):
            started.append(await self.add(*overrides))
        return started

    async def add(self, *overrides: str, name: str | None = None) -> Node:
        node = Node(self.url, self.keyspace, name or f"node{len(self.nodes) + 1}.test", self.config, *overrides,
                    db=self.db)
        self.nodes.append(node)
        return await node.start()

    async def client(self, node: Node, nick: str | None = None, *channels: str, caps: Sequence[str] = ()) -> LineClient:
        client = await node.client(nick, *channels, caps=caps)
        self.clients.append(client)
        return client

    async def close(self) -> None:
        for client in self.clients:
            await client.close()
        await asyncio.gather(*(node.stop() for node in self.nodes))

    def logs(self) -> str:
        return "\n".join(f"--- {node.name}\n{''.join(node.log[-40:])}" for node in self.nodes)


async def digests(oper: LineClient, nodes: int) -> dict[str, str]:
    """Every node's digest of its replica, all taken at one place in the network's order."""
    oper.send("DIGEST")
    found: dict[str, str] = {}
    while len(found) < nodes:
        message = await oper.expect(lambda m: m.command == "NOTICE" and m.params[-1].startswith("DIGEST "))
        _, server, digest = message.params[-1].split()
        found[server] = digest
    return found


async def caught_up(client: LineClient) -> None:
    """Wait until the client's node has applied everything in the log before now: an
    event of the client's own (AWAY, set then cleared) comes back after all of it."""
    client.send("AWAY :catching up")
    await client.expect("306")
    client.send("AWAY")
    await client.expect("305")


async def oper_up(client: LineClient) -> None:
    client.send(f"OPER admin {OPER_PASSWORD}")
    await client.expect("381")


async def until_logged(nodes: list[Node], text: str, times: int = 1, timeout: float = 20) -> None:
    """Wait until `text` is in the nodes' logs `times` times in all."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while times_logged(nodes, text) < times:
        assert loop.time() < deadline, "\n".join(f"--- {n.name}\n{''.join(n.log[-30:])}" for n in nodes)
        await asyncio.sleep(0.05)


def times_logged(nodes: list[Node], text: str) -> int:
    return sum(text in line for node in nodes for line in node.log)
