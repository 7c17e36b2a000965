"""Leaks under churn: does what clients come and go leave behind in the server?

A real server runs in this process (port 0), so that its structures can be looked at;
clients talk to it over real TCP sockets with raw IRC lines. After a warm-up, three
equal phases of churn run. In each cycle a client connects and registers (every other
one after `CAP LS 302` with message-tags, echo-message, draft/chathistory, batch,
server-time, labeled-response...), joins channels (one of its own that empties and
vanishes, +s every third time, and shared ones), talks to channels and to users
(PRIVMSG, NOTICE, TAGMSG, a draft/multiline batch), changes its nick, goes away,
MONITORs, asks WHO/WHOIS/WHOWAS and CHATHISTORY, sets metadata, invites, gets kicked,
and leaves by QUIT, by closing its socket without a word, or by a reset (some right
after a JOIN whose reply waits for the store). Others fail or succeed at SASL PLAIN,
never finish registering (they give up, or the registration timeout ends them), or are
people typing in the plain text mode. Three residents stay throughout (an op of #hub
who MONITORs, a client with every tag capability, a logged-in account).

What is checked, each by name: every table of users, nicks, channels, connections,
addresses, MONITOR, server-notice watchers, invitations, output and store queues,
asyncio tasks, timers, watched and open descriptors is back where it was after the
warm-up; WHOWAS and the autoreplay's departures stay within their caps; the SQLite
file forgets the closed channels that ended; no instance of a hubbub class outlives
its client; no object type (gc) and no allocation site in hubbub (tracemalloc) grows
with the number of cycles. Once with history in a SQLite file, once with
`store.db=':memory:'`.

Two more tests, on servers of their own, show what grows with churn and is never
given back (bounded only by a cap far away): they are strict xfails, whose reason says
what goes wrong.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import os
import socket
import sqlite3
import struct
import sys
import time
import tracemalloc
import weakref
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

import hubbub
from hubbub.app import Runtime
from tests.helpers import LineClient, cap_ls, connected, start_server, sync

WAIT = 5.0  # bound of every wait for what should come at once
SLOW_WAIT = 15.0  # a wait that includes a password check (argon2, off the loop)
WARMUP = 24  # cycles before the baseline is taken
PHASE = 60  # cycles in each of the three measured phases
CYCLES = WARMUP + 3 * PHASE
AT_ONCE = 4  # cycles running side by side
WHOWAS_CAP = 24
DEPARTURES_CAP = 12
PASSWORD = "correct-horse-battery"
OVERRIDES = (
    f"limits.whowas_entries={WHOWAS_CAP}",
    "limits.max_clients_per_ip=0",  # every churner comes from 127.0.0.1, several at once
    "limits.registration_timeout=2.0",  # those that never register are ended soon
    "accounts.login_failures=1000",  # failed logins are all checked, never refused unchecked
    "accounts.login_failures_per_address=1000",
    "accounts.login_failures_per_account=1000",
)
TAG_CAPS = ("message-tags", "echo-message", "draft/chathistory", "batch", "server-time", "labeled-response",
            "away-notify", "extended-monitor", "draft/multiline", "draft/metadata-2")  # fmt: skip
HUBBUB_FILES = os.path.join(os.path.dirname(hubbub.__file__), "*")
# Timers that end by themselves within a second (a closing socket's grace, the plain
# mode's welcome, a line without its ending): the settling waits for them.
PASSING_TIMERS = {"SocketTransport.abort", "Intake._banner_due", "TcpConnection._end_partial_line",
                  "GatedInput._drain", "_DrainWatch._look"}  # fmt: skip

# hubbub's classes with an instance per connection (or per user)
PER_CONNECTION = {"TcpConnection", "SocketTransport", "LineGate", "LineBuffer", "OutputQueue", "Connection",
                  "Context", "Session", "Intake", "User", "IrcOutput", "Registration", "PlainInput", "PlainView",
                  "PlainOutput", "TelnetFilter", "Exchange", "MultilineBatch", "Later"}  # fmt: skip

on_the_churn = pytest.mark.asyncio(loop_scope="module")
# the standard loop: the tables counted include its timers and its selector's descriptors
pytestmark = pytest.mark.standard_loop


# -- clients -------------------------------------------------------------------------------


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class Resident:
    """A client that stays through the churn: its lines are read as they come (and let
    go), PINGs answered, and the QUITs it sees noted, so that a cycle can wait for the
    line that says the server let one of its clients go."""

    def __init__(self, client: LineClient) -> None:
        self.client = client
        self.nick = client.nick
        client.received.clear()
        client.raw.clear()
        self.seen: set[str] = set()  # nicks seen quitting, nobody waiting for them yet
        self._waiters: dict[str, asyncio.Future[None]] = {}
        self.task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        reader = self.client.reader
        while line := await reader.readline():
            words = line.rstrip(b"\r\n").split(b" ")
            if words[0].startswith(b"@"):  # tags
                words = words[1:]
            source = words.pop(0)[1:] if words[0].startswith(b":") else b""
            if words[0] == b"PING":
                self.client.send(b"PONG " + b" ".join(words[1:]) + b"\r\n")
            elif words[0] == b"QUIT":
                nick = source.split(b"!")[0].decode().lower()
                waiter = self._waiters.pop(nick, None)
                if waiter is None:
                    self.seen.add(nick)
                elif not waiter.done():
                    waiter.set_result(None)

    async def sees_quit(self, nick: str) -> None:
        nick = nick.lower()
        if nick in self.seen:
            self.seen.discard(nick)
            return
        waiter = self._waiters[nick] = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(waiter, WAIT)
        except TimeoutError:
            raise AssertionError(f"{self.nick} never saw {nick} quit") from None

    def send(self, line: str) -> None:
        self.client.send(line)

    async def close(self) -> None:
        self.task.cancel()
        await self.client.close()


async def with_caps(runtime: Runtime, caps: tuple[str, ...]) -> LineClient:
    client = await LineClient.connect(runtime)
    await cap_ls(client)
    client.send("CAP REQ :" + " ".join(caps))
    await client.expect("CAP", "*", "ACK")
    return client


async def registered(runtime: Runtime, nick: str, caps: tuple[str, ...] = ()) -> LineClient:
    if not caps:
        return await connected(runtime, nick)
    client = await with_caps(runtime, caps)
    client.send("CAP END")
    await client.register(nick)
    return client


async def sasl_plain(client: LineClient, nick: str, account: str, password: str) -> str:
    """Register `client` (sasl negotiated) after AUTHENTICATE PLAIN; the numeric it ended with."""
    client.send(f"NICK {nick}")
    client.send("USER u 0 * :U")
    client.send("AUTHENTICATE PLAIN")
    await client.expect("AUTHENTICATE", "+")
    client.send("AUTHENTICATE " + b64(f"{account}\0{account}\0{password}"))
    result = await client.expect(lambda m: m.command in ("903", "904"), timeout=SLOW_WAIT)
    client.send("CAP END")
    await client.expect(lambda m: m.command in ("376", "422"))
    client.nick = nick
    return result.command


def reset(client: LineClient) -> None:
    """Close with a TCP reset: SO_LINGER 0, then the socket closed at once."""
    sock = client.writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.writer.transport.abort()


async def closed_by_server(client: LineClient, timeout: float = WAIT) -> None:
    """Read until the server closes the connection."""
    while await client.read_line(timeout) is not None:
        pass


async def quits(client: LineClient) -> None:
    client.send(f"QUIT :bye from {client.nick}")
    await closed_by_server(client)
    await client.close()


@dataclass
class Town:
    """The server, its residents, and the clients left for the registration timeout."""

    runtime: Runtime
    hub: Resident  # op of #hub, MONITORs churners
    tagged: Resident  # in #hub, with every tag capability
    keeper: Resident  # logged in to the account "keeper"
    hangers: list[LineClient] = field(default_factory=list)

    @property
    def residents(self) -> list[Resident]:
        return [self.hub, self.tagged, self.keeper]


async def never_registers(town: Town, i: int) -> None:
    """Gives up after CAP LS, or after NICK alone; or stays, for the registration timeout."""
    client = await LineClient.connect(town.runtime)
    if i % 3 == 0:
        await cap_ls(client)
        client.send(f"NICK u{i}")
    else:
        client.send(f"NICK u{i}")
        client.send("PING :x")
        await client.expect("PONG")
    if (i - WARMUP - 2 * PHASE) in range(0, 20):  # one in the last phase stays
        town.hangers.append(client)
    else:
        await client.close()


async def types_in_plain_text(town: Town, i: int) -> None:
    """A person with netcat: types a nickname, says hello, leaves; or goes at once."""
    client = await LineClient.connect(town.runtime)
    if i % 40 == 11:
        await client.close()  # gone before typing anything (the welcome was still due)
        return
    client.send(f"p{i}")
    await client.expect_text(r"^\* You joined #")
    client.send(f"hello from p{i}")
    client.send("/quit")
    await closed_by_server(client)
    await client.close()


async def fails_to_log_in(town: Town, i: int) -> None:
    """SASL PLAIN with a wrong password: to the real account, or to a made-up name."""
    client = await with_caps(town.runtime, ("sasl", "message-tags"))
    name = "acct" if i % 80 < 40 else f"nobody{i}"
    assert await sasl_plain(client, f"s{i}", name, f"wrong-{i}") == "904"
    await quits(client)


async def gives_up_while_its_password_is_checked(town: Town, i: int) -> None:
    """SASL PLAIN, then a reset before the answer: the check (off the loop) ends for nobody."""
    client = await with_caps(town.runtime, ("sasl",))
    client.send(f"NICK g{i}")
    client.send("USER g 0 * :G")
    client.send("AUTHENTICATE PLAIN")
    await client.expect("AUTHENTICATE", "+")
    client.send("AUTHENTICATE " + b64(f"acct\0acct\0{PASSWORD}"))
    await client.writer.drain()
    reset(client)


async def leaves_mid_join(town: Town, i: int) -> None:
    """Joins #hub (its replay read from the store) and resets the connection at once,
    in the middle of an open multiline batch."""
    client = await with_caps(town.runtime, ("batch", "draft/multiline", "message-tags"))
    client.send("CAP END")
    await client.register(f"j{i}")
    client.send(f"BATCH +m{i} draft/multiline #hub")
    client.send(f"@batch=m{i} PRIVMSG #hub :never finished")
    client.send("JOIN #hub")
    reset(client)


async def talks(town: Town, i: int) -> None:
    """A registered client doing what clients do, then leaving one of three ways."""
    runtime, nick = town.runtime, f"c{i}"
    caps = TAG_CAPS if i % 2 == 0 else ()
    if i % 40 == 17:  # logs in with SASL, and writes privately to another account (kept)
        client = await with_caps(runtime, ("sasl", *TAG_CAPS))
        assert await sasl_plain(client, nick, "acct", PASSWORD) == "903"
        caps = TAG_CAPS
    else:
        client = await registered(runtime, nick, caps)
    own, shared = f"#t{i}", f"#r{i % 4}"
    client.send(f"JOIN #hub,{own},{shared}")
    await client.expect("366", nick, shared)
    if i % 3 == 0:
        client.send(f"MODE {own} +s")  # a closed channel: its history ends with it
    if i % 5 == 1:
        client.send(f"INVITE {town.tagged.nick} {own}")
    if i % 6 == 2:  # invited to the op's +i channel: joins it, or leaves the invitation unused
        town.hub.send(f"INVITE {nick} #den")
        await client.expect("INVITE", nick, "#den")
        if i % 12 == 2:
            client.send("JOIN #den")
            await client.expect("366", nick, "#den")
    client.send(f"PRIVMSG #hub :hello from {nick}")
    client.send(f"NOTICE {own} :a note to myself")
    client.send(f"PRIVMSG {own} :said in a channel that will end")
    client.send(f"PRIVMSG {shared} :in a shared room")
    client.send(f"TOPIC {shared} :topic by {nick}")
    if caps:
        client.send("@+typing=active TAGMSG #hub")
        client.send(f"@+typing=done TAGMSG {town.hub.nick}")
        client.send("@label=h1 CHATHISTORY LATEST #hub * 5")
        client.send(f"METADATA * SET color :blue{i}")
        client.send("METADATA * SUB color")
        client.send(f"BATCH +b{i} draft/multiline {shared}")
        client.send(f"@batch=b{i} PRIVMSG {shared} :two")
        client.send(f"@batch=b{i} PRIVMSG {shared} :lines")
        client.send(f"BATCH -b{i}")
    client.send(f"PRIVMSG {town.hub.nick} :hi")
    client.send(f"NOTICE {town.tagged.nick} :hi")
    client.send(f"PRIVMSG {town.keeper.nick} :hi keeper")
    client.send(f"MONITOR + {town.hub.nick},c{i - 1}n,ghost{i}")
    client.send(f"MONITOR - ghost{i}")
    client.send(f"AWAY :away {i}")
    client.send(f"WHOIS {town.hub.nick}")
    client.send(f"WHOWAS c{i - 2}")
    if i % 5 == 0:
        client.send("WHO #hub")
    await sync(client)
    nick = client.nick = f"c{i}n"
    client.send(f"NICK {nick}")
    await client.expect("NICK")
    if i % 4 == 1:
        client.send("AWAY")
    if i % 2 == 0:
        client.send(f"PART {own} :done here")  # the channel empties and vanishes now
        await client.expect("PART", own)
    kicked = i % 9 == 4
    if kicked:
        town.hub.send(f"KICK #hub {nick} :churned")
        await client.expect("KICK", "#hub", nick)
    await sync(client)
    ending = i % 7
    if ending in (3, 5):
        if ending == 3:
            await client.close()  # closes its socket without a word
        else:
            reset(client)
        if not kicked:
            await town.hub.sees_quit(nick)
        await client.close()
    else:
        await quits(client)


async def churn_one(town: Town, i: int) -> None:
    """One cycle: one client comes, does what clients do, and goes (what it does by `i`)."""
    kind = i % 20
    if kind == 7:
        await never_registers(town, i)
    elif kind == 11:
        await types_in_plain_text(town, i)
    elif kind == 13 and i % 40 == 13:
        await fails_to_log_in(town, i)
    elif kind == 13 and i % 80 == 33:
        await gives_up_while_its_password_is_checked(town, i)
    elif kind == 19:
        await leaves_mid_join(town, i)
    else:
        await talks(town, i)


async def churn(town: Town, first: int, count: int) -> None:
    for start in range(first, first + count, AT_ONCE):
        await asyncio.gather(*(churn_one(town, i) for i in range(start, min(start + AT_ONCE, first + count))))


# -- looking inside the server -------------------------------------------------------------


def live_timers() -> Counter[str]:
    """The loop's timers not cancelled, by what they call."""
    scheduled = getattr(asyncio.get_running_loop(), "_scheduled", [])
    return Counter(getattr(h._callback, "__qualname__", repr(h._callback)) for h in scheduled if not h.cancelled())


def task_names() -> Counter[str]:
    return Counter(t.get_coro().__qualname__ for t in asyncio.all_tasks() if not t.done())  # type: ignore[union-attr]


def dead_cursor_references() -> list[weakref.ref[Any]]:
    """The weak references to cursors gone that each sqlite3 connection keeps in a list
    of its own: CPython prunes that list once every 200 cursors it makes (a bounded pile,
    not hubbub's), so they are not counted as growth below."""
    dead: list[weakref.ref[Any]] = []
    for o in gc.get_objects():
        if isinstance(o, sqlite3.Connection):
            for held in gc.get_referents(o):
                if type(held) is list:
                    dead.extend(r for r in held if isinstance(r, weakref.ref) and r() is None)
    return dead


def objects_by_type() -> Counter[str]:
    gc.collect()
    counts = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects())
    counts["weakref.ReferenceType"] -= len(dead_cursor_references())
    return counts


def hubbub_allocations() -> dict[str, tuple[int, int]]:
    """What hubbub's lines allocated since tracing began and is still alive: line -> (bytes,
    blocks); sqlite3's dead cursor references (see above) left out."""
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(True, HUBBUB_FILES)])
    lines = {f"{s.traceback[0].filename}:{s.traceback[0].lineno}": [s.size, s.count]
             for s in snapshot.statistics("lineno")}  # fmt: skip
    for ref in dead_cursor_references():
        where = tracemalloc.get_object_traceback(ref)
        line = f"{where[0].filename}:{where[0].lineno}" if where is not None else None
        if line in lines:
            lines[line][0] -= sys.getsizeof(ref)
            lines[line][1] -= 1
    return {line: (size, count) for line, (size, count) in lines.items()}


def structures(runtime: Runtime) -> dict[str, Any]:
    """Everything in the server that belongs to clients, by name: sizes, or contents."""
    svc, state, admission = runtime.services, runtime.state, runtime.admission
    store, recorder = runtime.persistence.store, runtime.persistence.recorder
    return {
        "state.users": len(state.users),
        "state.nicks": sorted(state.nicks),
        "state.user_count": state.user_count,
        "state.channels": sorted(state.channels),
        "channel members": {k: len(c.members) for k, c in state.channels.items()},
        "channel.local": {k: len(c.local) for k, c in state.channels.items()},
        "channel.invited": {k: len(c.invited) for k, c in state.channels.items()},
        "user.invited_to": {u.nick: sorted(u.invited_to) for u in state.users.values()},
        "user.metadata": {u.nick: len(u.metadata) for u in state.users.values()},
        "state.per_ip": dict(state.per_ip),
        "state.node_users": dict(state.node_users),
        "state.mode_counts": {k: v for k, v in state.mode_counts.items() if v},
        "services.local": len(svc.local),
        "admission.links": len(admission.links),
        "admission.per_ip": dict(admission.per_ip),
        "admission.open": {k: v for k, v in admission.open.items() if v},
        "admission._shared": len(admission._shared),
        "admission._readdressed": len(admission._readdressed),
        "monitors.watchers": {k: len(v) for k, v in svc.monitors.watchers.items()},
        "notices.watchers": len(svc.notices.watchers),
        "register_throttle": sorted(svc.register_throttle._failures),
        "login_throttle": sorted(svc.login_throttle._failures),
        "whowas": len(state.whowas),
        "whowas by nick": sum(len(d) for d in state.whowas._by_nick.values()),
        "whowas nicks": len(state.whowas._by_nick),
        "departures": len(svc.departures._left),
        "flusher.marked": len(runtime.flusher.marked),
        "flusher._held": len(runtime.flusher._held),
        "flusher._waiting": len(runtime.flusher._waiting),
        "engine._queue": len(getattr(runtime.engine, "_queue", ())),
        "recorder.pending": len(recorder.pending) if recorder is not None else 0,
        "store._queue": len(getattr(store, "_queue", ())),
        "workers.pending": runtime.workers.pending,
        "workers.by_address": len(runtime.workers.by_address),
        "runtime._tasks": len(runtime._tasks),
        "persistence._tasks": len(runtime.persistence._tasks),
        "asyncio tasks": task_names(),
        "timers": live_timers(),
        "watched descriptors": len(asyncio.get_running_loop()._selector.get_map()),  # type: ignore[attr-defined]
        **descriptors(),
    }


def descriptors() -> dict[str, int]:
    """This process's open descriptors (server and clients): sockets, and the rest (files)."""
    kinds: Counter[str] = Counter()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the one listdir used
            continue
        kinds["open sockets" if target.startswith("socket:") else "open files"] += 1
    return {"open sockets": kinds["open sockets"], "open files": kinds["open files"]}


# the tables that hold something for each client, each of which must be back where it was
RETURNING = (
    "state.users", "state.nicks", "state.user_count", "state.channels", "channel members", "channel.local",
    "channel.invited", "user.invited_to", "user.metadata", "state.per_ip", "state.node_users", "state.mode_counts",
    "services.local", "admission.links", "admission.per_ip", "admission.open", "admission._shared",
    "admission._readdressed", "monitors.watchers", "notices.watchers", "register_throttle", "flusher.marked",
    "flusher._held", "flusher._waiting", "engine._queue", "recorder.pending", "store._queue", "workers.pending",
    "workers.by_address", "runtime._tasks", "persistence._tasks", "asyncio tasks", "timers", "watched descriptors",
    "open sockets",
)  # fmt: skip


def store_rows(db_path: Path | None, closed: list[str]) -> dict[str, Any]:
    """What the SQLite file keeps of closed channels: the list of those alive (their
    history ends with them), and the messages of the churn's +s channels, which all ended."""
    if db_path is None:
        return {}
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        listed = [key for (key,) in conn.execute("SELECT key FROM closed_channels ORDER BY key")]
        marks = ",".join("?" * len(closed))
        kept = conn.execute(f"SELECT COUNT(*) FROM messages WHERE target IN ({marks})", closed).fetchone()[0]
        opened = conn.execute("SELECT COUNT(DISTINCT target) FROM messages WHERE target LIKE '#t%'").fetchone()[0]
    finally:
        conn.close()
    return {"closed_channels rows": listed, "messages of ended closed channels": kept,
            "open churn channels with history": opened}  # fmt: skip


async def settle(runtime: Runtime, links: int) -> bool:
    """Wait (bounded) until the server counts `links` connections again and has nothing in
    flight; False if it never does (the tests then say what stayed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while loop.time() < deadline:
        s = structures(runtime)
        if (s["admission.links"] == links and s["services.local"] == links and s["state.users"] == links
                and not s["flusher._held"] and not s["flusher._waiting"] and not s["workers.pending"]
                and not s["store._queue"] and not s["persistence._tasks"]
                and not set(s["timers"]) & PASSING_TIMERS):  # fmt: skip
            for _ in range(5):  # what a close scheduled already runs
                await asyncio.sleep(0)
            return True
        await asyncio.sleep(0.01)
    return False


async def end_hangers(town: Town) -> bool:
    """Wait for the registration timeout to end the clients left to it; False if it did not."""
    ended = True
    for client in town.hangers:
        try:
            await closed_by_server(client)
        except TimeoutError:
            ended = False
        await client.close()
    town.hangers.clear()
    return ended


@dataclass
class Churned:
    backend: str
    runtime: Runtime
    looks: list[dict[str, Any]]  # structures after the warm-up and after each phase
    objects: list[Counter[str]]  # objects by type, at the same moments
    allocations: list[dict[str, tuple[int, int]]]  # hubbub's live allocations since phase 1 began, after each phase
    settled: bool
    hangers_ended: bool

    @property
    def baseline(self) -> dict[str, Any]:
        return self.looks[0]

    @property
    def after(self) -> dict[str, Any]:
        return self.looks[-1]


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["sqlite", "memory"])
async def churned(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A server churned through: what it held after the warm-up and after each phase."""
    backend = request.param
    db_path = tmp_path_factory.mktemp("churn") / "hubbub.db" if backend == "sqlite" else None
    runtime = await start_server(f"store.db='{db_path or ':memory:'}'", *OVERRIDES)
    runtime.services.departures.limit = DEPARTURES_CAP  # a cap the churn reaches (20,000 by default)
    residents: list[Resident] = []
    try:
        maker = await registered(runtime, "acct")  # the account to log in to, made by one gone since
        maker.send(f"PRIVMSG NickServ :REGISTER {PASSWORD}")
        await maker.expect("900", timeout=SLOW_WAIT)
        await quits(maker)
        hub = await registered(runtime, "hub")
        await hub.join("#hub")
        await hub.join("#den")
        hub.send("MODE #den +i")
        hub.send("MONITOR + c1n,c2n,nobody")
        tagged = await registered(runtime, "tagged", TAG_CAPS)
        await tagged.join("#hub")
        keeper = await registered(runtime, "keeper")
        keeper.send(f"PRIVMSG NickServ :REGISTER {PASSWORD}")
        await keeper.expect("900", timeout=SLOW_WAIT)
        await sync(keeper)
        await sync(hub)
        town = Town(runtime, Resident(hub), Resident(tagged), Resident(keeper))
        residents = town.residents
        closed = [f"#t{i}" for i in range(1, CYCLES + 1) if i % 3 == 0]
        settled = hangers_ended = True
        looks, objects, allocations = [], [], []
        for first, count in ((1, WARMUP), *((1 + WARMUP + k * PHASE, PHASE) for k in range(3))):
            if first == 1 + WARMUP:
                tracemalloc.start(1)
            await churn(town, first, count)
            hangers_ended = await end_hangers(town) and hangers_ended
            settled = await settle(runtime, len(residents)) and settled
            looks.append({**structures(runtime), **store_rows(db_path, closed)})
            objects.append(objects_by_type())
            if tracemalloc.is_tracing():
                allocations.append(hubbub_allocations())
        tracemalloc.stop()
        yield Churned(backend, runtime, looks, objects, allocations, settled, hangers_ended)
    finally:
        tracemalloc.stop()
        for resident in residents:
            await resident.close()
        await runtime.stop()


# -- the churn's tests ---------------------------------------------------------------------


def growing(series: list[Counter[str]] | list[dict[str, int]], threshold: int) -> dict[str, list[int]]:
    """What grew by at least `threshold` in each of the last two phases: name -> the values."""
    first, middle, last = series[-3], series[-2], series[-1]
    return {
        name: [first.get(name, 0), middle.get(name, 0), last.get(name, 0)]
        for name in last
        if middle.get(name, 0) - first.get(name, 0) >= threshold and last[name] - middle.get(name, 0) >= threshold
    }


@on_the_churn
async def test_the_server_settles_after_each_phase(churned: Churned) -> None:
    assert churned.settled, f"connections still counted: {churned.after['admission.links']} (residents: 3)"


@on_the_churn
@pytest.mark.parametrize("name", RETURNING)
async def test_each_table_is_back_where_it_was_after_the_warm_up(churned: Churned, name: str) -> None:
    assert churned.after[name] == churned.baseline[name], (
        f"{name} after {3 * PHASE} cycles of churn ({churned.backend}): {churned.after[name]!r}; "
        f"after the warm-up: {churned.baseline[name]!r}; after each phase: {[look[name] for look in churned.looks]}"
    )


@on_the_churn
async def test_clients_that_never_register_are_ended_by_the_registration_timeout(churned: Churned) -> None:
    assert churned.hangers_ended


@on_the_churn
async def test_open_files_do_not_grow(churned: Churned) -> None:
    """Descriptors that are not sockets (the store's files; its reader threads open the
    database when first used, each with its WAL): none more after the first phase."""
    files = [look["open files"] for look in churned.looks]
    readers = churned.runtime.config.store.readers if churned.backend == "sqlite" else 0
    assert files[1] == files[2] == files[3] <= files[0] + 2 * readers, files


@on_the_churn
async def test_whowas_stays_within_its_cap(churned: Churned) -> None:
    sizes = [(look["whowas"], look["whowas by nick"], look["whowas nicks"]) for look in churned.looks]
    assert all(size == by_nick <= WHOWAS_CAP and nicks <= size for size, by_nick, nicks in sizes), sizes
    assert sizes[-1][0] == WHOWAS_CAP  # full: the churn did feed it


@on_the_churn
async def test_departures_stay_within_their_cap(churned: Churned) -> None:
    sizes = [look["departures"] for look in churned.looks]
    assert all(size <= DEPARTURES_CAP for size in sizes), sizes
    assert sizes[-1] > 0  # the churn did feed it (the accounts' departures; users without one are forgotten at QUIT)


@on_the_churn
async def test_failed_logins_to_one_account_are_one_record(churned: Churned) -> None:
    """Failures are counted per account name, per address and per address and account
    pair: the same account failed again and again from one address is one record of each
    (what made-up names cost is the xfail further down)."""
    for look in churned.looks:  # (a login to acct that succeeds forgets its pair's failures)
        keys = look["login_throttle"]
        assert "address:127.0.0.1" in keys
        made_up = {k for k in keys if k.startswith(("account:nobody", "pair:127.0.0.1 nobody"))}
        assert set(keys) - made_up <= {"account:acct", "pair:127.0.0.1 acct", "address:127.0.0.1"}, keys


@on_the_churn
async def test_the_store_forgets_closed_channels_that_ended(churned: Churned) -> None:
    if churned.backend != "sqlite":
        pytest.skip("an in-memory store cannot be read from another connection")
    rows = [(look["closed_channels rows"], look["messages of ended closed channels"]) for look in churned.looks]
    assert rows == [(["#den"], 0)] * len(rows)  # the op's +i channel, alive
    # while an open channel's history stays for the next channel of its name (docs/history.md)
    assert churned.after["open churn channels with history"] > churned.baseline["open churn channels with history"]


@on_the_churn
async def test_no_instance_of_a_hubbub_class_outlives_its_client(churned: Churned) -> None:
    before, after = churned.objects[0], churned.objects[-1]
    grown = {name: (before[name], after[name]) for name in after
             if name.startswith("hubbub.") and after[name] > before[name]}  # fmt: skip
    assert not grown, f"live instances after the warm-up -> after {3 * PHASE} more cycles: {grown}"


@on_the_churn
async def test_no_object_type_grows_with_the_cycles(churned: Churned) -> None:
    """Counted by type after each phase (gc): nothing grows by one object every two
    cycles, phase after phase. asyncio's cancelled timers (and their contexts) are let go
    by the loop in bulk, when they are half of its heap: they come and go (the timers
    still live are compared by test_each_table...[timers])."""
    grown = growing(churned.objects, PHASE // 2)
    for noise in ("asyncio.events.TimerHandle", "_contextvars.Context"):
        grown.pop(noise, None)
    assert not grown, f"objects by type after phases 1, 2 and 3 of {PHASE} cycles: {grown}"


@on_the_churn
async def test_no_allocation_site_in_hubbub_grows_with_the_cycles(churned: Churned) -> None:
    """tracemalloc, from the start of phase 1: what each line of hubbub allocated and is
    still alive does not grow by a block every two cycles, phase after phase (phase 1
    fills the bounded caches: WHOWAS, departures, lru caches, SQLite's statements)."""
    blocks = [{line: count for line, (_, count) in look.items()} for look in churned.allocations]
    grown = growing(blocks, PHASE // 2)
    assert not grown, f"live blocks allocated by each line, after phases 1, 2 and 3 of {PHASE} cycles: {grown}"


# -- what grows, on servers of their own ---------------------------------------------------


async def test_expired_login_failures_are_forgotten(make_server, clients) -> None:
    server = await make_server("limits.registration_timeout=2.0", "accounts.login_failures=1000")
    now = [time.time()]
    server.clock = lambda: now[0]
    for name in ("guess1", "guess2", "guess3"):
        client = await with_caps(server, ("sasl",))
        clients.append(client)
        assert await sasl_plain(client, name, name, "wrong") == "904"
        await quits(client)
    throttle = server.services.login_throttle
    guessed = ("guess1", "guess2", "guess3")
    assert sorted(throttle._failures) == sorted(
        [f"account:{name}" for name in guessed] + [f"pair:127.0.0.1 {name}" for name in guessed] + ["address:127.0.0.1"]
    )
    now[0] += server.config.accounts.login_window + 1  # the window is over for all of them
    client = await with_caps(server, ("sasl",))
    clients.append(client)
    assert await sasl_plain(client, "guess4", "guess4", "wrong") == "904"
    await quits(client)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 3.0  # a few timeout sweeps (every half second here)
    while loop.time() < deadline and len(throttle._failures) > 3:
        await asyncio.sleep(0.05)
    kept = sorted(throttle._failures)
    assert kept == ["account:guess4", "address:127.0.0.1", "pair:127.0.0.1 guess4"], "records past the window kept"


async def test_departures_of_users_without_an_account_outlive_their_quit_within_the_bound(server, clients) -> None:
    """Kept by nick and address after the QUIT (the same client may come back as it was:
    a web gateway, a bouncer not logged in), and forgotten, oldest first, past the bound
    every departure is kept under: churn leaves no more behind than that."""
    departures = server.services.departures
    departures.limit = 5
    alice = await connected(server, "alice", "#a", "#b")
    clients.append(alice)
    alice.send("PART #a")
    await alice.expect("PART", "#a")
    assert list(departures._left) == [("u:alice@127.0.0.1", "#a")]  # for a JOIN #a again
    await quits(alice)  # its QUIT is applied before the server closes the connection
    assert sorted(departures._left) == [("u:alice@127.0.0.1", "#a"), ("u:alice@127.0.0.1", "#b")]
    for i in range(8):
        passer = await connected(server, f"passer{i}", "#c")
        await quits(passer)
    assert len(departures._left) == 5
    assert list(departures._left)[-1] == ("u:passer7@127.0.0.1", "#c")


async def test_clients_the_server_drops_or_refuses_leave_nothing_behind(make_server, clients) -> None:
    """Refused past the per-address limit, dropped for Excess Flood, for a ping timeout:
    every table is back where it was, and no connection, user or transport outlives them."""
    server = await make_server("limits.max_clients_per_ip=5", "limits.flood_control=true", "limits.flood_burst=5",
                               "limits.flood_rate=1", "limits.recvq=1024", "limits.ping_interval=0.5",
                               "limits.ping_timeout=3")  # fmt: skip
    # ping_timeout: long enough that the watcher's PONG, or the crowd (which answers no
    # PING) is never late on a loaded machine: one of them let go would free a place
    watcher = Resident(await connected(server, "watcher", "#c"))
    try:
        assert await settle(server, 1)
        start = structures(server)
        objects = objects_by_type()
        crowd = [await LineClient.connect(server) for _ in range(8)]  # 4 more may come; 4 are refused
        clients.extend(crowd)
        refused = 0
        for client in crowd:
            client.send("PING :x")  # the first line decides: IRC (not a person typing)
        for client in crowd:
            line = await client.expect(lambda m: m.command in ("PONG", "ERROR"))
            refused += line.command == "ERROR"
        assert refused == 4
        for client in crowd:
            await client.close()
        assert await settle(server, 1)  # their places are free again before the next one comes
        flooder = await connected(server, "flooder", "#c")
        clients.append(flooder)
        flooder.send("".join(f"PRIVMSG #c :flooding the channel, line {i}\r\n" for i in range(200)))
        assert (await flooder.closed())[-1].endswith("(Excess Flood)")
        await watcher.sees_quit("flooder")
        silent = await connected(server, "silent", "#c")  # answers no PING
        clients.append(silent)
        await watcher.sees_quit("silent")
        assert (await silent.closed())[-1].startswith("ERROR :Closing Link: 127.0.0.1 (Ping timeout")
        for client in (*crowd, flooder, silent):
            await client.close()
        assert await settle(server, 1)
        end = structures(server)
        assert {name: end[name] for name in RETURNING} == {name: start[name] for name in RETURNING}
        grown = {name: (objects[name], count) for name, count in objects_by_type().items()
                 if name.startswith("hubbub.") and name.rpartition(".")[2] in PER_CONNECTION
                 and count > objects[name]}  # fmt: skip
        assert not grown, f"live instances before and after: {grown}"
    finally:
        await watcher.close()
