"""Seeded random workloads across nodes: whatever clients send, every node's replica
stays equal, every client's own view agrees with the others', no node falls over and
no client gets a line meant for others. Then races found by reading the appliers,
made exact.

A black-box audit: the nodes are real `hubbub serve --cluster` processes on the
session's redis-server (tests/cluster/support.py), with snapshots every 0.2 s so that
they are taken amid the traffic.

The random test drives 6-8 clients spread over 2-3 nodes for rounds of random lines
(JOIN/PART with and without keys, NICK with collisions and case and bracket variants,
MODE +o/-o/+v/+h/+b/+e/+I/+k/+l/+i/+m/+n/+t/+s, KICK, INVITE, TOPIC, RENAME,
PRIVMSG/NOTICE/TAGMSG to channels, nicks and @#channels, AWAY, SETNAME, QUIT and
reconnect, and lines at the edges of what is valid), each client's lines written in
one go without waiting, so that what clients on different nodes send interleaves; an
operator on some node hands out ranks with SAMODE meanwhile; some rounds open with
races (one nick, or its case variant, claimed from two nodes at once; JOINs from every
node into a channel just limited; KICK/MODE/PART/TOPIC/NICK/RENAME on one channel from
every node at once). A round ends when every client has the PONG of a PING written
after its lines. Lines are aimed where they can act: at the channels a client is in
and the nicks in use, as its own lines told it. With even seeds, halfway a node joins
(from a snapshot) and takes some clients, and at three quarters a node stops.

Then, once every node has caught up:
- `DIGEST` answers one hash from every node;
- channel by channel NAMES, TOPIC, MODE, the +b/+e/+I lists and WHO, and LIST, WHO *,
  ISON, USERHOST, WHOWAS, LUSERS and WHOIS of every nick read alike from every node
  (asked by an operator on each, before and after SAMODE -s shows secret channels);
- each client's own picture of its channels, rebuilt from nothing but the lines it
  received (the NAMES of its JOIN, then JOIN, PART, KICK, QUIT, NICK, MODE, TOPIC and
  RENAME lines), equals what NAMES and TOPIC answer it at the end, and each NAMES it
  asked for meanwhile;
- no client got a line about a channel it was not in, a message to another nick, a
  status message below its rank, a QUIT/NICK/AWAY of someone it shares no channel
  with, or one msgid twice;
- two clients in one channel saw the same events in the same order between the first
  and the last event both saw (every member is told everything, in the log's order);
- every node still runs, answers PING, and logged no error.
`HUBBUB_AUDIT_SEEDS=10-50` (and `HUBBUB_AUDIT_ROUNDS=40`) runs more of them.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
import redis.asyncio as aioredis

from hubbub.irc.message import Message
from tests.cluster.support import OPER_PASSWORD, Cluster, Node, caught_up, digests, oper_up
from tests.helpers import LineClient, sync
from tests.services import RedisServer

TOKEN = re.compile(r"tok\d+")
WAIT = 30.0  # seconds: bounded waits, generous for a loaded machine

# -- names --------------------------------------------------------------------------------

_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold(name: str) -> str:
    """CASEMAPPING=ascii."""
    return name.translate(_LOWER)


# nicks that collide (Nick/nick/NICK) and nearly do ([] vs {}, \ vs |, ^ vs ~)
NICKS = ["Nick", "nick", "NICK", "a[b]", "a{b}", "A[B]", "x\\y", "x|y", "q^", "q~", "Zed", "zed", "o_o", "W[1]", "w{1}"]
CHANNELS = ["#a", "#A", "#b[1]", "#b{1}", "#B[1]", "#kk", "#Kk", "#lim", "#z\\", "#z|", "#café", "#CAFÉ"]
KEYS = ["k1", "k2", "K1"]
BANS = ["nick!*@*", "a[b]!*@*", "A{B}!*@*", "x?y!*@*", "*{*!*@*", "*!u3@*", "Zed*!*@*", "*!*@*", "q^!*@*"]
TEXTS = ["hi", "hello there", "\x01ACTION waves\x01", "\x01VERSION\x01", "a b c", ":colon"]
# draft/channel-rename for all: without it, a RENAME's NAMES may come after one's own NICK
# and show the old nick (test_a_rename_shown_as_part_and_join_..., below)
CAPS_ALWAYS = ["message-tags", "echo-message", "multi-prefix", "draft/channel-rename"]
CAPS_SOME = ["away-notify", "extended-join", "setname", "invite-notify", "server-time"]
PREFIXES = "~&@%+"
RANK = {p: i for i, p in enumerate(reversed(PREFIXES), start=1)}  # + 1 ... ~ 5
LETTER_PREFIX = {"q": "~", "a": "&", "o": "@", "h": "%", "v": "+"}
LIST_MODES, SETTING_MODES, WHEN_SET_MODES = "beI", "k", "l"


def nick_of(source: str | None) -> str:
    return (source or "").partition("!")[0]


# -- clients ------------------------------------------------------------------------------


class Conn:
    """One connection: a LineClient whose every line is read as it comes (so that no
    output backs up) and kept; PINGs written by the test resolve when their PONG comes."""

    _tokens = itertools.count(1)

    def __init__(self, client: LineClient, label: str) -> None:
        self.client = client
        self.label = label
        self.pongs: dict[str, asyncio.Future[None]] = {}
        self.eof = asyncio.get_running_loop().create_future()
        self.reader: asyncio.Task[None] | None = None
        self.arrived = asyncio.Event()

    @property
    def stream(self) -> list[Message]:
        return self.client.received

    def start_reading(self) -> None:
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            while (message := await self.client.read_message(timeout=3600)) is not None:
                self.arrived.set()
                if message.command == "PONG" and message.params and message.params[-1] in self.pongs:
                    future = self.pongs.pop(message.params[-1])
                    if not future.done():
                        future.set_result(None)
        except (ConnectionError, OSError):
            pass
        finally:
            if not self.eof.done():
                self.eof.set_result(None)

    def write(self, lines: list[str], ping: bool = True) -> asyncio.Future[None]:
        """Write `lines` at once (then a PING); the future resolves at its PONG, or at
        the end of the connection."""
        done: asyncio.Future[None]
        if ping:
            token = f"tok{next(self._tokens)}"
            done = self.pongs[token] = asyncio.get_running_loop().create_future()
            lines = [*lines, f"PING {token}"]
        else:
            done = self.eof
        if lines:
            self.client.send("\r\n".join(lines))
        return done

    async def settle(self, done: asyncio.Future[None]) -> None:
        await asyncio.wait_for(asyncio.wait([done, self.eof], return_when=asyncio.FIRST_COMPLETED), WAIT)

    async def ask(self, line: str) -> list[Message]:
        """What the server answered `line` (everything up to a PING's PONG)."""
        start = len(self.stream)
        done = self.write([line])
        await self.settle(done)
        assert not self.eof.done(), f"{self.label}: closed while asking {line!r}: {self.client.raw[-5:]}"
        return [m for m in self.stream[start:] if not (m.command == "PONG" and TOKEN.fullmatch(m.params[-1]))]

    async def wait(self, wanted: Callable[[Message], bool], since: int) -> Message:
        """The first line from `since` on that `wanted` accepts (waiting for it)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while True:
            for message in self.stream[since:]:
                if wanted(message):
                    return message
            since = len(self.stream)
            assert not self.eof.done(), f"{self.label}: closed: {self.client.raw[-5:]}"
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), max(0.01, deadline - loop.time()))

    async def caught_up(self) -> None:
        """This node has applied everything in the log before now (see support.caught_up)."""
        assert [m for m in await self.ask("AWAY :catching up") if m.command == "306"], self.label
        assert [m for m in await self.ask("AWAY") if m.command == "305"], self.label

    async def digests(self, nodes: int) -> dict[str, str]:
        """support.digests, read by this connection's reader."""
        start = len(self.stream)
        self.write(["DIGEST"])
        found: dict[str, str] = {}
        seen: list[Message] = []
        while len(found) < nodes:
            message = await self.wait(
                lambda m: m.command == "NOTICE" and m.params[-1].startswith("DIGEST ") and m not in seen, start)
            seen.append(message)
            _, server, digest = message.params[-1].split()
            found[server] = digest
        return found

    async def close(self) -> None:
        await self.client.close()
        if self.reader is not None:
            await asyncio.gather(self.reader, return_exceptions=True)


async def connect(cluster: Cluster, node: Node, label: str, caps: list[str], nicks: list[str], user: str) -> Conn:
    """A registered connection: the first free nick of `nicks` (then one of its own)."""
    client = await cluster.client(node)
    client.send("CAP LS 302")
    client.send(f"CAP REQ :{' '.join(caps)}")
    await client.expect("CAP", "*", "ACK", timeout=WAIT)
    client.send("CAP END")
    tries = [*nicks, f"{label}x{next(Conn._tokens)}"]
    client.send(f"NICK {tries[0]}")
    client.send(f"USER {user} 0 * :{label}")
    for nick in tries[1:]:
        reply = await client.expect(lambda m: m.command in ("001", "433", "432"), timeout=WAIT)
        if reply.command == "001":
            break
        client.send(f"NICK {nick}")
    else:
        await client.expect("001", timeout=WAIT)
    await client.expect(lambda m: m.command in ("376", "422"), timeout=WAIT)
    conn = Conn(client, label)
    conn.start_reading()
    return conn


@dataclass
class Actor:
    index: int
    node: Node
    caps: list[str]
    conns: list[Conn] = field(default_factory=list)
    trackers: list[Tracker] = field(default_factory=list)  # one per connection: its lines read so far
    read: int = 0

    @property
    def conn(self) -> Conn:
        return self.conns[-1]

    @property
    def tracker(self) -> Tracker:
        return self.trackers[-1]

    @property
    def user(self) -> str:
        return f"u{self.index}"

    def attach(self, conn: Conn) -> None:
        self.conns.append(conn)
        self.trackers.append(Tracker(f"c{self.index}.{len(self.conns) - 1}"))
        self.read = 0

    def follow(self) -> None:
        """Read what the connection received since last time into its picture."""
        stream = self.conn.stream
        for message in stream[self.read :]:
            self.tracker.feed(message)
        self.read = len(stream)


# -- what a client may send ---------------------------------------------------------------


class Workload:
    """Random lines, aimed mostly where they can act: at the channels a client is in,
    the nicks in use and, for commands that need a rank, the channels it has one in
    (each as its own lines told it, after the last round)."""

    def __init__(self, rng: random.Random, actors: list[Actor]) -> None:
        self.rng = rng
        self.actors = actors
        self.counter = itertools.count(1)
        self.actor: Actor | None = None

    def nick(self) -> str:
        if self.rng.random() < 0.6:
            return self.rng.choice([a.tracker.me for a in self.actors])
        return self.rng.choice(NICKS)

    def channel(self, ranked: bool = False) -> str:
        views = list(self.actor.tracker.channels.values()) if self.actor is not None else []
        if ranked:
            me = fold(self.actor.tracker.me) if self.actor is not None else ""
            views = [v for v in views if v.members.get(me, ("", set()))[1] & set("~&@%")] or views
        if views and self.rng.random() < 0.75:
            return self.rng.choice(views).name
        return self.rng.choice(CHANNELS)

    def text(self, actor: Actor) -> str:
        return f"{self.rng.choice(TEXTS)} [{actor.index}.{next(self.counter)}]"

    def mode(self) -> str:
        r = self.rng
        sign = r.choice("+-")
        kind = r.choice("ooooovvvbbbkklliimnts")
        if kind in "ov":
            return f"{sign}{kind} {self.nick()}"
        if kind == "b":
            return f"{sign}b {r.choice(BANS)}"
        if kind == "k":
            return f"+k {r.choice(KEYS)}" if sign == "+" else "-k *"
        if kind == "l":
            return f"+l {r.choice([1, 1, 2, 3])}" if sign == "+" else "-l"
        return f"{sign}{kind}"

    def odd(self) -> str:
        """Lines at the edges of what is valid."""
        r = self.rng
        ch, nick = self.channel(), self.nick()
        return r.choice([
            "JOIN 0", f"PART {ch},{self.channel()}", f"KICK {ch} {nick},{self.nick()} :both", f"MODE {ch} +l 0",
            f"MODE {ch} +l 99999999999999999999", f"MODE {ch} +l -1", f"MODE {ch} +b", f"MODE {ch} +k :",
            f"MODE {ch} +ooo {nick} {self.nick()} {self.nick()}", f"MODE {ch} -o+o {nick} {nick}",
            f"MODE {ch} +b-b {r.choice(BANS)} {r.choice(BANS)}", f"MODE {ch} +e {r.choice(BANS)}",
            f"MODE {ch} +I {r.choice(BANS)}", f"MODE {ch} +vvvvv {nick} {nick} {nick} {nick} {nick}",
            f"TOPIC {ch} :{'é' * 200}{'x' * 200}", f"NICK {nick.upper()}", f"NICK {nick.lower()}", "NICK 1x",
            f"INVITE {nick} #nowhere", f"MODE {nick} +i", f"JOIN {ch} k1,k2", f"JOIN {ch},{ch}", f"PART {ch} :{ch}",
            f"PRIVMSG {ch},{nick} :two [{next(self.counter)}]", f"NAMES {ch},{self.channel()}", "LIST", "WHO *",
            f"WHOIS {nick}", f"NOTICE @{ch} :ops [{next(self.counter)}]", f"MODE {ch} +m-m+t-t", f"KICK {ch} {nick}",
            f"TOPIC {ch} :{' ' * 3}", f"JOIN {ch.upper()}", f"PART {ch.lower()}", f"MODE {ch} +s-s+i-i",
        ])  # fmt: skip

    def line(self, actor: Actor) -> str:
        r = self.rng
        choice = r.choices(
            ["join", "part", "nick", "mode", "modes", "kick", "invite", "topic", "privmsg", "notice", "tagmsg",
             "status", "away", "setname", "query", "odd", "rename", "quit"],
            weights=[16, 9, 8, 16, 3, 7, 4, 5, 12, 3, 3, 2, 3, 2, 3, 8, 2, 1],
        )[0]  # fmt: skip
        ch = self.channel(ranked=choice in ("mode", "modes", "kick", "invite", "topic", "rename"))
        if choice == "join":
            key = r.choice([None, None, *KEYS])
            if r.random() < 0.15:
                return f"JOIN {ch},{self.channel()} {key or 'x'}"
            return f"JOIN {ch} {key}" if key else f"JOIN {ch}"
        if choice == "part":
            return r.choice([f"PART {ch}", f"PART {ch} :bye"])
        if choice == "nick":
            return f"NICK {self.nick()}"
        if choice == "mode":
            return f"MODE {ch} {self.mode()}"
        if choice == "modes":
            return f"MODE {ch} +ov-v {self.nick()} {self.nick()} {self.nick()}"
        if choice == "kick":
            return f"KICK {ch} {self.nick()} :out"
        if choice == "invite":
            return f"INVITE {self.nick()} {ch}"
        if choice == "topic":
            return r.choice([f"TOPIC {ch} :topic {next(self.counter)}", f"TOPIC {ch} :", f"TOPIC {ch}"])
        if choice in ("privmsg", "notice"):
            target = ch if r.random() < 0.7 else self.nick()
            return f"{choice.upper()} {target} :{self.text(actor)}"
        if choice == "tagmsg":
            target = ch if r.random() < 0.7 else self.nick()
            return f"@+typing=active TAGMSG {target}"
        if choice == "status":
            return f"PRIVMSG {r.choice('@+')}{ch} :{self.text(actor)}"
        if choice == "away":
            return r.choice(["AWAY :gone", "AWAY"])
        if choice == "setname":
            return f"SETNAME :real {next(self.counter)}"
        if choice == "query":
            return r.choice([f"NAMES {ch}", f"MODE {ch}", f"WHO {ch}", f"TOPIC {ch}"])
        if choice == "odd":
            return self.odd()
        if choice == "rename":
            return f"RENAME {ch} {r.choice([*CHANNELS, ch.swapcase()])} :renamed"
        return "QUIT :again"

    def chunk(self, actor: Actor) -> list[str]:
        self.actor = actor
        lines = [self.line(actor) for _ in range(self.rng.randint(4, 16))]
        if "QUIT :again" in lines:
            lines = lines[: lines.index("QUIT :again") + 1]
        return lines

    def oper(self) -> list[str]:
        """An operator's SAMODEs: ops and voices for anyone, so that many can moderate."""
        r = self.rng
        lines = []
        for _ in range(r.randint(2, 6)):
            tracker = r.choice(self.actors).tracker
            if tracker.channels and r.random() < 0.7:  # a rank for someone in a channel
                view = r.choice(list(tracker.channels.values()))
                lines.append(f"SAMODE {view.name} {r.choice(['+o', '+o', '+h', '+v', '-o'])} {tracker.me}")
            else:
                lines.append(f"SAMODE {r.choice(CHANNELS)} {r.choice(['+l 1', '-l', '-i', '-k *', '-b *!*@*'])}")
        return lines


# -- one client's picture, rebuilt from its lines --------------------------------------------


@dataclass
class View:
    name: str
    members: dict[str, tuple[str, set[str]]] = field(default_factory=dict)  # folded nick -> (nick, prefixes)
    topic: str = ""
    listing: bool = True  # reading the NAMES of one's JOIN


def names_of(view: View) -> list[str]:
    """The members as NAMES with multi-prefix shows them."""
    return ["".join(p for p in PREFIXES if p in prefixes) + nick for nick, prefixes in view.members.values()]


@dataclass
class Segment:
    """One stay of a client in a channel: the events it was told there, in order."""

    who: str
    channel: str
    events: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    ids: list[str | None] = field(default_factory=list)


class Tracker:
    """One connection's picture of its channels, from the lines it received alone; and
    what in those lines it should not have been told (`problems`)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.me = ""
        self.channels: dict[str, View] = {}
        self.problems: list[str] = []
        self.segments: list[Segment] = []
        self.open: dict[str, Segment] = {}
        self.seen_ids: set[str] = set()
        self.asked_names: dict[str, list[str]] = {}
        self.line = ""

    def bad(self, what: str) -> None:
        self.problems.append(f"{self.label}: {what}: {self.line}")

    def shares(self, nick: str) -> list[View]:
        return [v for v in self.channels.values() if fold(nick) in v.members]

    def record(self, key: str, message: Message) -> None:
        segment = self.open.get(key)
        if segment is None:
            return
        params = message.params[:1] if message.command == "JOIN" else message.params
        segment.events.append((message.command + " " + nick_of(message.source), tuple(params)))
        segment.ids.append(message.tags.get("msgid"))

    def enter(self, name: str) -> None:
        key = fold(name)
        self.channels[key] = View(name)
        self.open[key] = segment = Segment(self.label, key)
        self.segments.append(segment)

    def leave(self, key: str) -> None:
        self.channels.pop(key, None)
        self.open.pop(key, None)

    def feed(self, message: Message) -> None:
        self.line = f"{message.source} {message.command} {message.params}"
        msgid = message.tags.get("msgid")
        if msgid is not None and message.command in ("PRIVMSG", "NOTICE", "TAGMSG", "JOIN", "PART", "KICK", "TOPIC"):
            to_self = fold(nick_of(message.source)) == fold(self.me) == fold(message.params[0])
            if msgid in self.seen_ids and not to_self:  # to oneself: delivered, and echoed
                self.bad("the same msgid twice")
            self.seen_ids.add(msgid)
        handler = getattr(self, "on_" + message.command, None)
        if handler is not None:
            handler(message)

    def on_001(self, m: Message) -> None:
        self.me = m.params[0]

    def on_ERROR(self, m: Message) -> None:
        if "Internal error" in m.params[-1]:
            self.bad("an internal error")

    def on_JOIN(self, m: Message) -> None:
        who, key = nick_of(m.source), fold(m.params[0])
        if fold(who) == fold(self.me):
            if key in self.channels:
                self.bad("JOIN of a channel it is in")
            self.enter(m.params[0])
            self.record(key, m)
            return
        view = self.channels.get(key)
        if view is None:
            self.bad("JOIN to a channel it is not in")
            return
        if fold(who) in view.members:
            self.bad("JOIN of a member")
        view.members[fold(who)] = (who, set())
        self.record(key, m)

    def _gone(self, key: str, who: str, m: Message) -> None:
        view = self.channels.get(key)
        if view is None:
            self.bad(f"{m.command} in a channel it is not in")
            return
        self.record(key, m)
        if fold(who) == fold(self.me):
            self.leave(key)
        elif view.members.pop(fold(who), None) is None:
            self.bad(f"{m.command} of a nick not in the channel")

    def on_PART(self, m: Message) -> None:
        self._gone(fold(m.params[0]), nick_of(m.source), m)

    def on_KICK(self, m: Message) -> None:
        self._gone(fold(m.params[0]), m.params[1], m)

    def on_QUIT(self, m: Message) -> None:
        who = nick_of(m.source)
        views = self.shares(who)
        if not views:
            self.bad("QUIT of a nick sharing no channel")
        for view in views:
            self.record(fold(view.name), m)
            del view.members[fold(who)]

    def on_NICK(self, m: Message) -> None:
        who, new = nick_of(m.source), m.params[0]
        if fold(who) == fold(self.me):
            self.me = new
        elif not self.shares(who):
            self.bad("NICK of a nick sharing no channel")
        for view in self.shares(who):
            self.record(fold(view.name), m)
            # a nick change keeps the member's place
            members = [(fold(new), (new, v[1])) if k == fold(who) else (k, v) for k, v in view.members.items()]
            view.members.clear()
            view.members.update(members)

    def on_AWAY(self, m: Message) -> None:
        who = nick_of(m.source)
        if fold(who) != fold(self.me) and not self.shares(who):
            self.bad("AWAY of a nick sharing no channel")

    on_SETNAME = on_AWAY

    def on_INVITE(self, m: Message) -> None:
        if fold(m.params[0]) != fold(self.me) and fold(m.params[1]) not in self.channels:
            self.bad("INVITE notice for a channel it is not in")

    def on_TOPIC(self, m: Message) -> None:
        view = self.channels.get(fold(m.params[0]))
        if view is None:
            self.bad("TOPIC in a channel it is not in")
            return
        view.topic = m.params[1]
        self.record(fold(view.name), m)

    def on_332(self, m: Message) -> None:
        view = self.channels.get(fold(m.params[1]))
        if view is not None and view.listing:
            view.topic = m.params[2]

    def on_353(self, m: Message) -> None:
        key = fold(m.params[2])
        view = self.channels.get(key)
        names = m.params[3].split()
        if view is not None and view.listing:
            for name in names:
                nick = name.lstrip(PREFIXES)
                view.members[fold(nick)] = (nick, set(name[: len(name) - len(nick)]))
        else:
            self.asked_names.setdefault(key, []).extend(names)

    def on_366(self, m: Message) -> None:
        key = fold(m.params[1])
        view = self.channels.get(key)
        if view is not None and view.listing:
            view.listing = False
            if fold(self.me) not in view.members:
                self.bad("the NAMES of its JOIN without itself")
        elif key in self.asked_names:
            asked = self.asked_names.pop(key)
            if view is not None and asked != names_of(view):
                self.bad(f"NAMES {asked} while it knew {names_of(view)}")

    def on_RENAME(self, m: Message) -> None:
        old, new = fold(m.params[0]), fold(m.params[1])
        view = self.channels.get(old)
        if view is None:
            self.bad("RENAME of a channel it is not in")
            return
        self.record(old, m)
        if new != old and new in self.channels:
            self.bad("RENAME onto a channel it is in")
        self.leave(old)
        members, topic = view.members, view.topic
        self.enter(m.params[1])
        fresh = self.channels[new]
        fresh.members, fresh.topic, fresh.listing = members, topic, False
        self.record(new, m)

    def on_MODE(self, m: Message) -> None:
        if not m.params[0].startswith("#"):
            return
        key = fold(m.params[0])
        view = self.channels.get(key)
        if view is None:
            self.bad("MODE of a channel it is not in")
            return
        self.record(key, m)
        args = list(m.params[2:])
        adding = True
        for letter in m.params[1]:
            if letter in "+-":
                adding = letter == "+"
            elif letter in LETTER_PREFIX:
                nick = args.pop(0)
                member = view.members.get(fold(nick))
                if member is None:
                    self.bad(f"MODE {letter} of a nick not in the channel")
                    continue
                (member[1].add if adding else member[1].discard)(LETTER_PREFIX[letter])
            elif letter in LIST_MODES + SETTING_MODES or (letter in WHEN_SET_MODES and adding):
                args.pop(0)

    def on_PRIVMSG(self, m: Message) -> None:
        source = m.source or ""
        if "!" not in source:
            return
        target = m.params[0]
        status = ""
        while target[:1] in PREFIXES and target[1:2] in (*PREFIXES, "#"):
            status, target = status + target[0], target[1:]
        if not target.startswith("#"):
            if fold(nick_of(source)) != fold(self.me) and fold(target) != fold(self.me):
                self.bad("a message to another nick")
            return
        key = fold(target)
        view = self.channels.get(key)
        if view is None:
            if fold(nick_of(source)) != fold(self.me):  # one's own echo may go anywhere
                self.bad("a message to a channel it is not in")
            return
        if status:
            mine = view.members.get(fold(self.me), ("", set()))[1]
            if fold(nick_of(source)) != fold(self.me) and max((RANK[p] for p in mine), default=0) < RANK[status[-1]]:
                self.bad("a status message below its rank")
            return
        self.record(key, m)

    on_NOTICE = on_PRIVMSG
    on_TAGMSG = on_PRIVMSG


def disagreements(segments: list[Segment]) -> list[str]:
    """Two stays in one channel that saw the same events between the first and the last
    event both saw, but not alike (one missed one, or saw them in another order)."""
    found = []
    by_channel: dict[str, list[Segment]] = {}
    for segment in segments:
        by_channel.setdefault(segment.channel, []).append(segment)
    for channel, stays in by_channel.items():
        for one, other in itertools.combinations(stays, 2):
            if one.who == other.who:
                continue
            mine = {i: n for n, i in enumerate(one.ids) if i is not None}
            theirs = {i: n for n, i in enumerate(other.ids) if i is not None}
            common = [i for i in mine if i in theirs]
            if not common:
                continue
            a, b = mine[common[0]], mine[common[-1]]
            c, d = theirs[common[0]], theirs[common[-1]]
            if one.events[a : b + 1] != other.events[c : d + 1]:
                found.append(f"{channel}: {one.who} saw {one.events[a : b + 1]}\n  {other.who} saw "
                             f"{other.events[c : d + 1]}")  # fmt: skip
    return found


# -- the run ------------------------------------------------------------------------------


def numerics(replies: list[Message]) -> list[list[str]]:
    """Numeric replies without the asker's nick."""
    return [[m.command, *m.params[1:]] for m in replies if m.command.isdigit()]


def names_in(replies: list[Message]) -> list[str]:
    return [name for m in replies if m.command == "353" for name in m.params[3].split()]


NODE_SETTINGS = ("history.autoreplay_lines=0", "cluster.snapshot_interval=0.2")  # snapshots amid the traffic


async def run(cluster: Cluster, seed: int, rounds: int, churn: bool) -> None:
    """`rounds` rounds of random lines; with `churn`, halfway a node joins the network
    (from a snapshot) and takes some clients, and at three quarters one of the first
    nodes stops (SIGTERM), its clients going to another."""
    rng = random.Random(seed)
    nodes = await cluster.start(rng.choice([2, 3]), *NODE_SETTINGS)
    actors = [Actor(i, nodes[i % len(nodes)], CAPS_ALWAYS + rng.sample(CAPS_SOME, rng.randint(0, 4)))
              for i in range(rng.randint(6, 8))]  # fmt: skip
    workload = Workload(rng, actors)
    observers: dict[Node, Conn] = {}

    async def observe(node: Node) -> None:
        observers[node] = observer = await connect(cluster, node, f"obs{len(observers)}", CAPS_ALWAYS,
                                                   [f"obs{len(observers)}"], "obs")  # fmt: skip
        assert [m for m in await observer.ask(f"OPER admin {OPER_PASSWORD}") if m.command == "381"]

    async def reconnect(actor: Actor) -> None:
        await actor.conn.close()
        actor.follow()
        actor.attach(await connect(cluster, actor.node, f"c{actor.index}", actor.caps, rng.sample(NICKS, 3),
                                   actor.user))  # fmt: skip

    for node in nodes:
        await observe(node)
    for actor in actors:
        actor.attach(await connect(cluster, actor.node, f"c{actor.index}", actor.caps, rng.sample(NICKS, 3),
                                   actor.user))  # fmt: skip
    try:
        for round_ in range(rounds):
            if churn and round_ == rounds // 2:  # a node joins, from a snapshot, and takes some clients
                late = await cluster.add(*NODE_SETTINGS)
                nodes.append(late)
                await observe(late)
                for actor in rng.sample(actors, 3):
                    actor.conn.write(["QUIT :moving"], ping=False)
                    await actor.conn.settle(actor.conn.eof)
                    actor.node = late
                    await reconnect(actor)
            if churn and round_ == 3 * rounds // 4:  # a node stops; its clients go elsewhere
                gone = nodes.pop(rng.randrange(len(nodes) - 1))
                await observers.pop(gone).close()
                await gone.stop()
                for actor in actors:
                    if actor.node is gone:
                        await actor.conn.settle(actor.conn.eof)
                        actor.node = rng.choice(nodes)
                        await reconnect(actor)
            chunks = {actor.index: workload.chunk(actor) for actor in actors}
            race = rng.random()
            first = [a for a in actors if a.node is nodes[0]]
            others = [a for a in actors if a.node is not nodes[0]]
            if race < 0.25 and first and others:  # one nick claimed from two nodes at once (or its case variant)
                nick = workload.nick()
                chunks[rng.choice(first).index].insert(0, f"NICK {nick}")
                chunks[rng.choice(others).index].insert(0, f"NICK {rng.choice([nick, nick.swapcase()])}")
            elif race < 0.45:  # JOINs from every node into a channel just limited
                channel = rng.choice(["#lim", "#a", "#kk"])
                for actor in rng.sample(actors, 3):
                    chunks[actor.index].insert(0, f"JOIN {channel}")
                observers[nodes[0]].write([f"SAMODE {channel} +l {rng.randint(1, 3)}"], ping=False)
            elif race < 0.6:  # one channel's modes and memberships changed from every node at once
                channel, nick = workload.channel(), workload.nick()
                for actor in rng.sample(actors, 3):
                    chunks[actor.index].insert(0, rng.choice([f"KICK {channel} {nick}", f"MODE {channel} -o {nick}",
                                                              f"MODE {channel} +o {nick}", f"PART {channel}",
                                                              f"TOPIC {channel} :race", f"NICK {nick}",
                                                              f"RENAME {channel} {workload.channel()} :race"]))
            observer = observers[rng.choice(nodes)]
            sent = observer.write(workload.oper())
            waits = [(actor, actor.conn.write(chunks[actor.index], ping=chunks[actor.index][-1] != "QUIT :again"))
                     for actor in actors]  # fmt: skip
            await asyncio.gather(observer.settle(sent), *(actor.conn.settle(done) for actor, done in waits))
            for actor in actors:
                if actor.conn.eof.done():
                    await reconnect(actor)
                actor.follow()
        await check(cluster, nodes, actors, [observers[node] for node in nodes])
    finally:
        for conn in [*observers.values(), *(c for a in actors for c in a.conns)]:
            await conn.close()


async def check(cluster: Cluster, nodes: list[Node], actors: list[Actor], observers: list[Conn]) -> None:
    for observer in observers:
        await observer.caught_up()
    # nodes alive, answering, without internal errors
    for node in nodes:
        assert node.process is not None and node.process.returncode is None, cluster.logs()
    for observer in observers:
        assert [m for m in await observer.ask("PING alive") if m.command == "PONG"], observer.label
    # one hash from every node
    found = await observers[0].digests(len(nodes))
    assert len(set(found.values())) == 1, found
    for actor in actors:  # every line its node sent it before now is read
        await actor.conn.ask("PING synced")
        actor.follow()
    trackers = [tracker for actor in actors for tracker in actor.trackers]
    problems = [problem for tracker in trackers for problem in tracker.problems]
    if problems and os.environ.get("AUDIT_DUMP"):
        for actor in actors:
            for n, conn in enumerate(actor.conns):
                with open(f"{os.environ['AUDIT_DUMP']}/c{actor.index}.{n}.txt", "w") as out:
                    out.write("\n".join(conn.client.raw))
    assert not problems, "\n".join(problems[:20])
    segments = [s for t in trackers for s in t.segments]
    differ = disagreements(segments)
    assert not differ, "\n".join(differ[:5])
    await compare_views(actors, observers)
    failures = [entry for node in cluster.nodes for entry in errors_logged(node)]
    assert not failures, "\n".join(failures[:3])


TIMESTAMPED = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (\w+) ")
# Errors that are not failures of the workload (none today: the heartbeat's lookup of a
# node that left while it asked Redis, once logged here, is fixed in engine/redis.py).
KNOWN: tuple[str, ...] = ()


def errors_logged(node: Node) -> list[str]:
    """The ERROR (and worse) records of a node's log, with their tracebacks."""
    records: list[list[str]] = []
    for line in node.log:
        if TIMESTAMPED.match(line) or not records:
            records.append([line])
        else:
            records[-1].append(line)
    found = []
    for record in records:
        level = TIMESTAMPED.match(record[0])
        if (level is not None and level.group(1) in ("ERROR", "CRITICAL")) or any("Traceback" in r for r in record):
            if not any(known in record[0] for known in KNOWN):
                found.append(f"{node.name}: {''.join(record)}")
    return found


async def compare_views(actors: list[Actor], observers: list[Conn]) -> None:
    channels = sorted({fold(c) for c in CHANNELS})
    for phase in ("as set", "secret shown"):
        for channel in channels:
            for query in (f"NAMES {channel}", f"TOPIC {channel}", f"MODE {channel}", f"WHO {channel}",
                          f"MODE {channel} b", f"MODE {channel} e", f"MODE {channel} I"):
                seen = [numerics(await o.ask(query)) for o in observers]
                assert all(s == seen[0] for s in seen), (phase, query, seen)
        for query in ("LIST", "WHO *", f"ISON {' '.join(NICKS)}", f"USERHOST {' '.join(NICKS[:5])}",
                      f"USERHOST {' '.join(NICKS[5:10])}", f"WHOWAS {','.join(NICKS)}"):
            seen = [numerics(await o.ask(query)) for o in observers]
            assert all(s == seen[0] for s in seen), (phase, query, seen)
        seen = [[r for r in numerics(await o.ask("LUSERS")) if r[0] in ("251", "252", "253", "254", "266")]
                for o in observers]  # 255 and 265 count this node's clients
        assert all(s == seen[0] for s in seen), (phase, "LUSERS", seen)
        for nick in NICKS:
            seen = [numerics(await o.ask(f"WHOIS {nick}")) for o in observers]
            # idle times are each node's; a node describes itself, and others as nodes of the network
            seen = [[p[:-1] if p[0] == "312" else p for p in s if p[0] != "317"] for s in seen]
            assert all(s == seen[0] for s in seen), (phase, "WHOIS", [[r for r in s if r not in seen[0]] for s in seen],
                                                     [[r for r in seen[0] if r not in s] for s in seen])
        if phase == "as set":
            for channel in channels:
                observers[0].write([f"SAMODE {channel} -s"])
            for observer in observers:
                await observer.caught_up()
    # each client's own picture, and what it is told now
    for actor in actors:
        tracker = actor.tracker
        for view in list(tracker.channels.values()):
            names = names_in(await actor.conn.ask(f"NAMES {view.name}"))
            assert names == names_of(view), ("NAMES != own picture", tracker.label, view.name, names, names_of(view))
            topic = [m.params[2] for m in await actor.conn.ask(f"TOPIC {view.name}") if m.command == "332"]
            assert topic == ([view.topic] if view.topic else []), (tracker.label, view.name, topic, view.topic)


_SEEDS = os.environ.get("HUBBUB_AUDIT_SEEDS", "")  # "10-50": more seeds, to look for trouble
# 1: two nodes; 2: two, then a third joins and one stops; 5: three; 12: three, then four, then three
SEEDS = list(range(*map(int, _SEEDS.split("-")))) if _SEEDS else [1, 2, 5, 12]
ROUNDS = int(os.environ.get("HUBBUB_AUDIT_ROUNDS", "30"))  # each client sends about 10 lines a round


@pytest.mark.parametrize("seed", SEEDS)
async def test_a_random_workload_leaves_every_node_and_every_client_agreeing(cluster: Cluster, seed: int) -> None:
    await run(cluster, seed, ROUNDS, churn=seed % 2 == 0)


# -- races made exact ---------------------------------------------------------------------
#
# Two nodes each take a line in against their own replica before either has the other's
# event: Redis is paused for writes (CLIENT PAUSE WRITE) while they do, so that each
# node handles its line, and its append to the log waits. A witness client on each node
# answering PING shows the node has read the lines written to it before; CLIENT LIST
# shows the appends waiting. Unpaused, Redis takes the appends in the order they came.


@asynccontextmanager
async def log_paused(url: str) -> AsyncIterator[Callable[[int], Awaitable[None]]]:
    """Inside, Redis takes no writes; `waiting(n)` returns once `n` appends wait."""
    redis = aioredis.from_url(url)

    async def waiting(count: int) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while True:
            listed = (await redis.execute_command("CLIENT", "LIST")).decode()
            blocked = [row for row in listed.splitlines() if " cmd=evalsha " in row and "flags=b" in row]
            if len(blocked) >= count:
                return
            assert loop.time() < deadline, listed
            await asyncio.sleep(0.01)

    await redis.execute_command("CLIENT", "PAUSE", 10_000, "WRITE")  # lifted by itself, at worst
    try:
        yield waiting
    finally:
        await redis.execute_command("CLIENT", "UNPAUSE")
        await redis.aclose()


async def two_nodes(cluster: Cluster) -> tuple[Node, Node, LineClient, LineClient]:
    """Two nodes, each with a witness (whose PONG shows the node read what came before)."""
    n1, n2 = await cluster.start(2)
    w1, w2 = await cluster.client(n1, "w1"), await cluster.client(n2, "w2")
    return n1, n2, w1, w2


async def agreed(clients: list[LineClient], nodes: int) -> None:
    """Every node has applied everything, and all hash alike."""
    for client in clients:
        await caught_up(client)
    await oper_up(clients[0])
    found = await digests(clients[0], nodes)
    assert len(set(found.values())) == 1, found


async def names(client: LineClient, channel: str) -> list[str]:
    client.send(f"NAMES {channel}")
    return [n for m in await client.collect_until("366") if m.command == "353" for n in m.params[-1].split()]


@pytest.mark.parametrize(("first", "second", "both"), [("Nick", "Nick", False), ("Nick", "nick", False),
                                                       ("a[b]", "a{b}", True)])  # fmt: skip
async def test_one_nick_claimed_from_two_nodes_at_once_goes_to_the_first_in_the_log(
    cluster: Cluster, redis_server: RedisServer, first: str, second: str, both: bool
) -> None:
    n1, n2, w1, w2 = await two_nodes(cluster)
    b, c = await cluster.client(n1, "b"), await cluster.client(n2, "c")
    async with log_paused(redis_server.url) as waiting:
        b.send(f"NICK {first}")
        await sync(w1)
        await waiting(1)
        c.send(f"NICK {second}")
        await sync(w2)
        await waiting(2)
    assert (await b.expect(lambda m: m.command in ("NICK", "433"))).command == "NICK"
    assert (await c.expect(lambda m: m.command in ("NICK", "433"))).command == ("NICK" if both else "433")
    await agreed([w1, w2], 2)
    for witness in (w1, w2):
        witness.send(f"ISON {first} {second} c" if both else f"ISON {first} c")
        assert (await witness.expect("303")).params[-1].split() == ([first, second] if both else [first, "c"])


async def test_one_channel_created_from_two_nodes_at_once_has_one_first_op(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    n1, n2, w1, w2 = await two_nodes(cluster)
    b, c = await cluster.client(n1, "b"), await cluster.client(n2, "c")
    async with log_paused(redis_server.url) as waiting:
        b.send("JOIN #new")
        await sync(w1)
        await waiting(1)
        c.send("JOIN #NEW")
        await sync(w2)
        await waiting(2)
    await b.expect("366")
    await c.expect("366")
    await agreed([w1, w2], 2)
    assert await names(w1, "#new") == await names(w2, "#new") == ["@b", "c"]


async def test_joins_from_two_nodes_into_the_last_place_let_one_in(cluster: Cluster, redis_server: RedisServer) -> None:
    n1, n2, w1, w2 = await two_nodes(cluster)
    op = await cluster.client(n1, "op", "#lim")
    op.send("MODE #lim +l 2")
    await op.expect("MODE", "#lim", "+l")
    b, c = await cluster.client(n1, "b"), await cluster.client(n2, "c")
    await agreed([w1, w2], 2)
    async with log_paused(redis_server.url) as waiting:
        b.send("JOIN #lim")
        await sync(w1)
        await waiting(1)
        c.send("JOIN #lim")
        await sync(w2)
        await waiting(2)
    before = await op.collect_until(lambda m: m.command == "JOIN")
    assert before[-1].source.startswith("b!")  # b's JOIN is first in the log
    assert (await b.expect(lambda m: m.command in ("366", "471"))).command == "366"
    await agreed([w1, w2], 2)
    assert await names(w1, "#lim") == await names(w2, "#lim")
    assert await names(w1, "#lim") == ["@op", "b"]  # (it was: @op b c, three in a channel limited to two)
    assert (await c.expect(lambda m: m.command in ("366", "471"))).command == "471"


@pytest.mark.parametrize("mode", ["+l 1", "+i", "+k sesame", "+b c!*@*"])
async def test_a_join_after_the_mode_that_shuts_the_channel_is_refused(
    cluster: Cluster, redis_server: RedisServer, mode: str
) -> None:
    n1, n2, w1, w2 = await two_nodes(cluster)
    op = await cluster.client(n1, "op", "#shut")
    c = await cluster.client(n2, "c")
    await agreed([w1, w2], 2)
    async with log_paused(redis_server.url) as waiting:
        op.send(f"MODE #shut {mode}")
        await sync(w1)
        await waiting(1)
        c.send("JOIN #shut")
        await sync(w2)
        await waiting(2)
    before = await op.collect_until(lambda m: m.command == "MODE" and m.params[:2] == ["#shut", mode.split()[0]])
    assert not [m for m in before if m.command == "JOIN"]  # the MODE is first in the log
    await agreed([w1, w2], 2)
    assert await names(w1, "#shut") == await names(w2, "#shut")
    assert await names(w1, "#shut") == ["@op"]  # today: @op c
    assert (await c.expect(lambda m: m.command in ("366", "471", "473", "474", "475"))).command != "366"


async def deopped_first(redis_server: RedisServer, boss: LineClient, rogue: LineClient, line: str,
                        w1: LineClient, w2: LineClient) -> None:  # fmt: skip
    """boss (node 1) ops rogue (node 2) in #c, then takes it back while rogue sends `line`
    as the op it still is on its node: the deop is first in the log, `line` after it."""
    # rogue's JOIN must have reached boss's node, or the +o meets a stranger (441)
    await boss.expect(lambda m: m.command == "JOIN" and (m.source or "").startswith("rogue!"))
    boss.send("MODE #c +o rogue")
    await rogue.expect("MODE", "#c", "+o", "rogue")
    await agreed([w1, w2], 2)
    async with log_paused(redis_server.url) as waiting:
        boss.send("MODE #c -o rogue")
        await sync(w1)
        await waiting(1)
        rogue.send(line)
        await sync(w2)
        await waiting(2)


async def test_a_kick_by_an_op_deopped_first_in_the_log_is_refused(cluster: Cluster, redis_server: RedisServer) -> None:
    n1, n2, w1, w2 = await two_nodes(cluster)
    boss = await cluster.client(n1, "boss", "#c")
    rogue = await cluster.client(n2, "rogue", "#c")
    victim = await cluster.client(n1, "victim", "#c")
    await deopped_first(redis_server, boss, rogue, "KICK #c victim :bye", w1, w2)
    before = await victim.collect_until(lambda m: m.command == "MODE" and m.params == ["#c", "-o", "rogue"])
    assert not [m for m in before if m.command == "KICK"]  # the deop is first in the log
    await agreed([w1, w2], 2)
    assert await names(w1, "#c") == await names(w2, "#c")
    assert await names(w1, "#c") == ["@boss", "rogue", "victim"]  # (it was: the victim gone)
    refused = await rogue.expect(lambda m: m.command in ("482", "KICK"))
    assert refused.command == "482" and refused.params[1] == "#c", refused  # the kicker is told


async def test_a_rename_shown_as_part_and_join_gives_its_names_before_the_member_s_next_event(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    """Found by the random workload (one seed of thirty): the client's picture then held
    its old nick as another member of the channel, and not itself."""
    n1, n2, w1, w2 = await two_nodes(cluster)
    op = await cluster.client(n2, "op", "#old")
    member = await cluster.client(n1, "member", "#old")  # without draft/channel-rename
    await agreed([w1, w2], 2)
    await sync(op)  # its lines so far are read
    async with log_paused(redis_server.url) as waiting:
        op.send("RENAME #old #new :moving")
        await sync(w2)
        await waiting(1)
        member.send("NICK renamed")  # its NICK waits to be ordered, after the RENAME
        await sync(w1)
        await waiting(2)
    seen = [m.command for m in await op.collect_until("NICK") if m.command in ("PART", "JOIN", "NICK")]
    assert seen == ["PART", "JOIN", "NICK"]  # the RENAME is first in the log
    got = await member.collect_until("NICK")
    shown = [(m.command, m.params[-1] if m.command == "353" else None) for m in got
             if m.command in ("PART", "JOIN", "NICK", "353", "366")]  # fmt: skip
    # (it was PART, JOIN, NICK, 353 '@op member' (its old nick), 366: Connection.follow held
    # the NAMES behind the member's own NICK still being ordered)
    assert shown == [("PART", None), ("JOIN", None), ("353", "@op member"), ("366", None), ("NICK", None)], shown


async def test_a_topic_by_an_op_deopped_first_in_the_log_is_refused(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    n1, n2, w1, w2 = await two_nodes(cluster)
    boss = await cluster.client(n1, "boss", "#c")  # #c is +t from its creation
    rogue = await cluster.client(n2, "rogue", "#c")
    await deopped_first(redis_server, boss, rogue, "TOPIC #c :mine now", w1, w2)
    refused = await rogue.expect(lambda m: m.command in ("482", "TOPIC"))
    assert refused.command == "482" and refused.params[1] == "#c", refused  # the deop came first
    await agreed([w1, w2], 2)
    boss.send("TOPIC #c")
    assert (await boss.expect(lambda m: m.command in ("331", "332"))).command == "331"  # no topic set


async def test_a_mode_by_an_op_deopped_first_in_the_log_is_refused_but_samode_is_not(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    n1, n2, w1, w2 = await two_nodes(cluster)
    boss = await cluster.client(n1, "boss", "#c")
    rogue = await cluster.client(n2, "rogue", "#c")
    await deopped_first(redis_server, boss, rogue, "MODE #c +i-o boss", w1, w2)
    refused = await rogue.expect(lambda m: m.command == "482" or (m.command == "MODE" and m.params[1] != "-o"))
    assert refused.command == "482" and refused.params[1] == "#c", refused  # the deop came first
    await agreed([w1, w2], 2)
    assert await names(w1, "#c") == await names(w2, "#c") == ["@boss", "rogue"]
    boss.send("MODE #c")
    assert "i" not in (await boss.expect("324")).params[2]
    # an operator's SAMODE needs no rank, in the log's order too
    await oper_up(rogue)
    rogue.send("SAMODE #c +i")
    await boss.expect("MODE", "#c", "+i")
