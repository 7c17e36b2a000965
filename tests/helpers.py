"""Test helpers: a real server on port 0 and a raw line client that reads like a transcript."""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import Callable

from hubbub.app import Runtime
from hubbub.config import load
from hubbub.irc.message import Message, parse
from hubbub.passwords import DEFAULT_COST, HashCost, hash_password

TIMEOUT = 5.0


# The default channel's creator made its op, as any other channel's (the default gives it
# no op: docs/channels.md), for the tests whose first joiner of #lobby runs it
LOBBY_CREATOR_OP = "server.default_channel_creator_op=true"


# argon2id's least cost (one pass over 64 KiB, one lane: well under a millisecond) for the
# passwords the suite's servers hash and check, some two thousand of them: at the default
# (0.14 CPU-s each) they were a fifth of the suite's CPU. The tests of the cost itself, and
# those whose point is a check that takes time (a queue of them, a command waiting for
# one), ask for the default back with DEFAULT_HASH among their overrides.
CHEAP_COST = HashCost(time_cost=1, memory_kib=64, parallelism=1)
CHEAP_HASH = (f"accounts.hash_time_cost={CHEAP_COST.time_cost}", f"accounts.hash_memory_kib={CHEAP_COST.memory_kib}",
              f"accounts.hash_parallelism={CHEAP_COST.parallelism}")  # fmt: skip
DEFAULT_HASH = (f"accounts.hash_time_cost={DEFAULT_COST.time_cost}",
                f"accounts.hash_memory_kib={DEFAULT_COST.memory_kib}",
                f"accounts.hash_parallelism={DEFAULT_COST.parallelism}")  # fmt: skip


def cheap_hash(password: str) -> str:
    """An operator's or a gateway's password hash at CHEAP_COST, for a configuration file:
    OPER and WEBIRC check each at the cost it was made at."""
    return hash_password(password, CHEAP_COST)


async def start_server(*overrides: str) -> Runtime:
    """A server on 127.0.0.1, port 0, with flood control off unless an override turns it on
    (and the ghosts' PING: `accounts.ghost_timeout`),
    and a store that keeps nothing (unless `store.db` names a file), no web listener
    unless one asks for it (`listen.web='127.0.0.1:0'`), and account passwords hashed at
    CHEAP_COST (unless DEFAULT_HASH, or other `accounts.hash_*`, come among `overrides`)."""
    cluster = os.environ.get("HUBBUB_TEST_CLUSTER")  # the same tests on a one-node cluster
    if cluster:
        overrides = (f"cluster.url='{cluster}'", f"cluster.keyspace='t{uuid.uuid4().hex}'", *overrides)
    # A test's raw client answers no PING: one holding a nick that another connection of
    # its account asks for would be dropped after the wait (server/ghosts.py); the tests
    # of that ask for it
    config = load(None, ["listen.irc=['127.0.0.1:0']", "listen.web=''", "limits.flood_control=false",
                         "store.db=':memory:'", "accounts.ghost_timeout=0", *CHEAP_HASH, *overrides])  # fmt: skip
    runtime = Runtime(config)
    await runtime.start()
    return runtime


class LineClient:
    """Speaks raw lines to the server; every received line is parsed and kept."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.received: list[Message] = []
        self.raw: list[str] = []
        self.nick = "*"

    @classmethod
    async def connect(cls, runtime: Runtime) -> LineClient:
        return await cls.connect_to(*runtime.irc_address())

    @classmethod
    async def connect_to(cls, host: str, port: int) -> LineClient:
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
        return cls(reader, writer)

    def send(self, line: str | bytes) -> None:
        data = line if isinstance(line, bytes) else line.encode()
        if not data.endswith(b"\n"):
            data += b"\r\n"
        if self.writer.transport.is_closing():
            # closed (by the server, or by us): the line goes nowhere, as asyncio's own
            # transport drops it, where uvloop's raises RuntimeError
            return
        self.writer.write(data)

    async def read_line(self, timeout: float = TIMEOUT) -> str | None:
        """The next line as text, or None at end of stream."""
        data = await asyncio.wait_for(self.reader.readline(), timeout)
        if not data:
            return None
        text = data.decode("utf-8", "replace").rstrip("\r\n")
        self.raw.append(text)
        return text

    async def read_message(self, timeout: float = TIMEOUT) -> Message | None:
        text = await self.read_line(timeout)
        if text is None:
            return None
        message = parse(text)
        self.received.append(message)
        return message

    async def expect(
        self, command: str | Callable[[Message], bool], *params: str, timeout: float = TIMEOUT
    ) -> Message:
        """Read until a message matches: a command (and leading params), or a predicate."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"no {command} {params} within {timeout}s; got {self.raw[-10:]}")
            try:
                message = await self.read_message(remaining)
            except TimeoutError:
                raise AssertionError(f"no {command} {params} within {timeout}s; got {self.raw[-10:]}") from None
            if message is None:
                raise AssertionError(f"connection closed while waiting for {command} {params}; got {self.raw[-10:]}")
            if callable(command):
                if command(message):
                    return message
            elif message.command == command and message.params[: len(params)] == list(params):
                return message

    async def collect_until(
        self, command: str | Callable[[Message], bool], timeout: float = TIMEOUT
    ) -> list[Message]:
        """All messages up to and including the first `command` (or the first a predicate accepts)."""
        start = len(self.received)
        await self.expect(command, timeout=timeout)
        return self.received[start:]

    async def expect_text(self, pattern: str, timeout: float = TIMEOUT) -> str:
        """Read raw lines (plain mode) until one matches the regex `pattern`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        regex = re.compile(pattern)
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"no line matching {pattern!r}; got {self.raw[-10:]}")
            try:
                line = await self.read_line(remaining)
            except TimeoutError:
                raise AssertionError(f"no line matching {pattern!r}; got {self.raw[-10:]}") from None
            if line is None:
                raise AssertionError(f"closed while waiting for {pattern!r}; got {self.raw[-10:]}")
            if regex.search(line):
                return line

    async def register(self, nick: str, user: str = "u", realname: str = "Real Name") -> None:
        self.send(f"NICK {nick}")
        self.send(f"USER {user} 0 * :{realname}")
        await self.expect("001")
        await self.expect(lambda m: m.command in ("376", "422"))
        self.nick = nick

    async def join(self, channel: str) -> None:
        self.send(f"JOIN {channel}")
        await self.expect("366", self.nick, channel)

    async def closed(self, timeout: float = TIMEOUT) -> list[str]:
        """Wait for the server to close the connection; return the lines read meanwhile."""
        start = len(self.raw)
        while await self.read_line(timeout) is not None:
            pass
        return self.raw[start:]

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass


async def connected(runtime: Runtime, nick: str | None = None, *channels: str) -> LineClient:
    """A client connected (and registered as `nick`, in `channels`, when given)."""
    client = await LineClient.connect(runtime)
    if nick:
        await client.register(nick)
        for channel in channels:
            await client.join(channel)
    return client


# -- transcript helpers for the end-to-end tests (tests/e2e) ---------------------------

_sync_counter = 0


async def sync(client: LineClient) -> list[Message]:
    """What the server sent `client` before answering a PING sent now (PONG excluded).

    The server handles one connection's lines in order and writes its output in order,
    so once the PONG is back, nothing caused earlier is still on its way. Tests use it
    to prove that something was *not* sent, without sleeping. Only for connections
    already speaking IRC (a PING as the very first line would start plain mode).
    """
    global _sync_counter
    _sync_counter += 1
    token = f"sync-{_sync_counter}"
    start = len(client.received)
    client.send(f"PING {token}")
    await client.expect(lambda m: m.command == "PONG" and m.params[-1:] == [token])
    return client.received[start:-1]


async def cap_ls(client: LineClient, version: str = "302") -> tuple[list[Message], dict[str, str]]:
    """Send `CAP LS <version>` and read the whole reply (CAP 302 may continue it over
    several lines): the lines, and the capabilities offered with their values."""
    client.send(f"CAP LS {version}".rstrip())
    lines = [await client.expect("CAP")]
    while len(lines[-1].params) > 3 and lines[-1].params[2] == "*":
        lines.append(await client.expect("CAP"))
    offered = {}
    for line in lines:
        for token in line.params[-1].split():
            name, _, value = token.partition("=")
            offered[name] = value
    return lines, offered


def isupport_tokens(messages: list[Message]) -> dict[str, str | None]:
    """The ISUPPORT tokens of every 005 among `messages`: NAME -> value (None if bare)."""
    tokens: dict[str, str | None] = {}
    for message in messages:
        if message.command == "005":
            for token in message.params[1:-1]:
                name, sep, value = token.partition("=")
                tokens[name] = value if sep else None
    return tokens


STAMP = re.compile(r"^(\x01ACTION )?\[\d\d:\d\d\] ")


def unstamped(text: str) -> str:
    """A replayed line's text without the `[14:02] ` a client without `batch` is given it
    with (server/replay.py `_stamped`): what was said, for tests about which lines came."""
    return STAMP.sub(lambda m: m.group(1) or "", text, count=1)


def commands(messages: list[Message]) -> list[str]:
    """The command (or numeric) of each message, in order: a transcript at a glance."""
    return [m.command for m in messages]


# -- helpers for the limits, plain mode and command-line tests (tests/e2e_limits) -------


async def connect_plain(runtime: Runtime, nick: str | None = None) -> LineClient:
    """A netcat-style client: with `nick`, logged in and in a channel (typed at once, as a
    quick person would, before the welcome NOTICE is due); without, past that NOTICE."""
    client = await LineClient.connect(runtime)
    if nick:
        client.send(nick)
        await client.expect_text(r"^\* You joined #")
        client.nick = nick
    else:
        await client.expect_text(r"Type a nickname")
    return client


async def stuck_socket(runtime: Runtime, rcvbuf: int = 4096):  # -> socket.socket
    """A connected non-blocking socket with a tiny receive buffer that the test never reads.

    The small SO_RCVBUF (set before connecting, so the TCP window is small from the start)
    makes the server's writes back up quickly, as they would behind a stuck client.
    """
    import socket

    host, port = runtime.irc_address()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, port))
    return sock


async def expect_answering_pings(
    client: LineClient, command: str | Callable[[Message], bool], *params: str, timeout: float = TIMEOUT
) -> Message:
    """Like `client.expect`, but answer each PING met on the way (waits past a ping interval)."""

    def matches(message: Message) -> bool:
        if message.command == "PING":
            client.send(f"PONG :{message.params[-1] if message.params else ''}")
        if callable(command):
            return command(message)
        return message.command == command and message.params[: len(params)] == list(params)

    return await client.expect(matches, timeout=timeout)
