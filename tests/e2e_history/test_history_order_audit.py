"""Audit: history in the order it was relayed live, when many events share a millisecond.

Every event shown with a time and a msgid is stamped, when applied, at least a
microsecond after the one before (server/apply.py `in_time_order`); the store keeps the
microseconds (schema 4, `messages.time_us`) and CHATHISTORY orders by
(time_ms, time_us, id) (docs/history.md, docs/store.md). These tests make bursts of
events inside one millisecond (the server's clock held still inside it, so that every
event of a burst is moved on by the engine, a microsecond at a time; and bursts
pipelined by several clients on the real clock), then read them back every way a client
can and compare with what the clients saw live. Each test on a SQLite file, then on
PostgreSQL (the `stored` fixture of this folder).
"""

from __future__ import annotations

import time

from hubbub.app import Runtime
from hubbub.irc.message import Message
from tests.e2e_accounts.support import registered_account
from tests.e2e_caps.support import capped
from tests.helpers import LineClient, connected, sync

HISTORY = ("draft/chathistory", "batch", "server-time", "message-tags")
PLAYBACK = (*HISTORY, "draft/event-playback")


class Clock:
    """The server's clock, held still inside one millisecond at a time: every event of
    that millisecond reads the same time, and the engine stamps each a microsecond after
    the one before. `at(n)`: 0.1 ms into the n-th millisecond after a whole second an
    hour ago (room for 900 events before the next millisecond)."""

    def __init__(self, server: Runtime) -> None:
        self.base = float(int(time.time()) - 3600)
        self.now = self.base
        server.clock = lambda: self.now

    def at(self, ms: int) -> None:
        self.now = self.base + ms / 1000 + 0.0001


def stamp(clock: Clock, ms: int) -> str:
    """The server-time of millisecond `ms` of `clock`."""
    whole = int(clock.base) + ms // 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{ms % 1000:03d}Z"


async def batch_of(client: LineClient, line: str, kind: str = "chathistory") -> list[Message]:
    """Send `line`; the messages inside the `kind` batch that answers it."""
    client.send(line)
    opening = await client.expect(lambda m: m.command in ("BATCH", "FAIL"))
    assert opening.command == "BATCH" and opening.params[1] == kind, (line, opening)
    ref = opening.params[0][1:]
    inside = []
    while True:
        message = await client.read_message()
        assert message is not None
        if message.command == "BATCH" and message.params == ["-" + ref]:
            return inside
        assert message.tags.get("batch") == ref, message
        inside.append(message)


async def ids_of(client: LineClient, line: str, kind: str = "chathistory") -> list[str]:
    return [m.tags["msgid"] for m in await batch_of(client, line, kind)]


async def settle(*clients: LineClient) -> None:
    """Every line the clients sent is handled, and what it caused has reached them."""
    for client in clients:
        await sync(client)


def live(watcher: LineClient, since: int, commands: tuple[str, ...] = ("PRIVMSG",)) -> list[Message]:
    """What `watcher` received live from index `since` on, of `commands`, with a msgid."""
    return [m for m in watcher.received[since:] if m.command in commands and "msgid" in m.tags]


async def burst(senders: list[LineClient], channel: str, per_sender: int, tag: str = "") -> None:
    """Each sender pipelines `per_sender` lines at once (none waits for the server), all
    of them before any is answered; returns when they have all been handled."""
    for i in range(per_sender):
        for sender in senders:
            sender.send(f"PRIVMSG {channel} :{tag}{sender.nick} {i}")
    await settle(*senders)


def said(messages: list[Message]) -> list[str]:
    return [m.params[-1] for m in messages if m.command == "PRIVMSG"]


# -- CHATHISTORY through a burst of one millisecond --------------------------------------


async def test_every_subcommand_through_a_burst_of_one_millisecond(stored, clients) -> None:
    server = await stored()
    clock = Clock(server)
    clock.at(0)
    watcher = await capped(server, "watcher", *HISTORY, channels=("#c",))
    senders = [await connected(server, nick, "#c") for nick in ("ann", "ben", "cat")]
    clients.extend([watcher, *senders])
    mark = len(watcher.received)
    senders[0].send("PRIVMSG #c :early")
    await settle(senders[0])
    clock.at(10)
    await burst(senders, "#c", 20)  # 60 messages, one millisecond
    clock.at(20)
    senders[1].send("PRIVMSG #c :late")
    await settle(senders[1], watcher)
    seen = live(watcher, mark)
    ids = [m.tags["msgid"] for m in seen]
    assert len(ids) == 62 and len(set(ids)) == 62
    assert {m.tags["time"] for m in seen[1:-1]} == {stamp(clock, 10)}  # the burst shares one millisecond
    b = ids[1:-1]  # the burst alone

    assert await ids_of(watcher, "CHATHISTORY LATEST #c * 0") == ids
    assert await ids_of(watcher, "CHATHISTORY LATEST #c * 5") == ids[-5:]
    assert await ids_of(watcher, f"CHATHISTORY LATEST #c msgid={ids[50]} 5") == ids[-5:]
    assert await ids_of(watcher, f"CHATHISTORY LATEST #c msgid={ids[58]} 100") == ids[59:]
    assert await ids_of(watcher, f"CHATHISTORY BEFORE #c msgid={ids[30]} 4") == ids[26:30]
    assert await ids_of(watcher, f"CHATHISTORY BEFORE #c msgid={ids[3]} 100") == ids[:3]
    assert await ids_of(watcher, f"CHATHISTORY AFTER #c msgid={ids[30]} 4") == ids[31:35]
    assert await ids_of(watcher, f"CHATHISTORY AFTER #c msgid={ids[58]} 100") == ids[59:]
    assert await ids_of(watcher, f"CHATHISTORY AROUND #c msgid={ids[30]} 9") == ids[26:35]
    assert await ids_of(watcher, f"CHATHISTORY AROUND #c msgid={ids[1]} 9") == ids[0:9]  # one before: the rest after
    assert await ids_of(watcher, f"CHATHISTORY BETWEEN #c msgid={ids[5]} msgid={ids[40]} 10") == ids[6:16]
    assert await ids_of(watcher, f"CHATHISTORY BETWEEN #c msgid={ids[40]} msgid={ids[5]} 10") == ids[30:40]
    assert await ids_of(watcher, f"CHATHISTORY BETWEEN #c msgid={ids[5]} msgid={ids[40]} 100") == ids[6:40]
    assert await ids_of(watcher, f"CHATHISTORY BETWEEN #c msgid={ids[40]} msgid={ids[5]} 100") == ids[6:40]
    assert await ids_of(watcher, f"CHATHISTORY BETWEEN #c msgid={ids[7]} msgid={ids[8]} 10") == []

    # a timestamp stands for its whole millisecond, and bounds are exclusive
    t_early, t_burst, t_late = stamp(clock, 0), stamp(clock, 10), stamp(clock, 20)
    assert await ids_of(watcher, f"CHATHISTORY BEFORE #c timestamp={t_burst} 100") == ids[:1]
    assert await ids_of(watcher, f"CHATHISTORY AFTER #c timestamp={t_burst} 100") == ids[-1:]
    assert await ids_of(watcher, f"CHATHISTORY LATEST #c timestamp={t_burst} 100") == ids[-1:]
    assert await ids_of(watcher, f"CHATHISTORY AFTER #c timestamp={t_early} 7") == b[:7]
    assert await ids_of(watcher, f"CHATHISTORY BEFORE #c timestamp={t_late} 7") == b[-7:]
    assert await ids_of(watcher, f"CHATHISTORY LATEST #c timestamp={t_early} 7") == ids[-7:]
    assert await ids_of(watcher, f"CHATHISTORY BETWEEN #c timestamp={t_early} timestamp={t_late} 100") == b
    assert await ids_of(watcher, f"CHATHISTORY BETWEEN #c timestamp={t_early} timestamp={t_late} 5") == b[:5]
    assert await ids_of(watcher, f"CHATHISTORY BETWEEN #c timestamp={t_late} timestamp={t_early} 5") == b[-5:]
    assert await ids_of(watcher, f"CHATHISTORY BETWEEN #c timestamp={t_burst} timestamp={t_late} 100") == []
    # AROUND: the millisecond's own messages count with the later half
    assert await ids_of(watcher, f"CHATHISTORY AROUND #c timestamp={t_burst} 10") == ids[:10]
    # a msgid bound against a timestamp bound, both ways
    assert await ids_of(watcher, f"CHATHISTORY BETWEEN #c msgid={ids[50]} timestamp={t_late} 100") == ids[51:61]
    assert await ids_of(watcher, f"CHATHISTORY BETWEEN #c timestamp={t_late} msgid={ids[50]} 3") == ids[58:61]
    assert await ids_of(watcher, f"CHATHISTORY BETWEEN #c msgid={ids[10]} timestamp={t_early} 3") == ids[7:10]


async def test_paging_through_a_burst_gives_every_message_once_in_live_order(stored, clients) -> None:
    server = await stored()
    clock = Clock(server)
    clock.at(0)
    watcher = await capped(server, "watcher", *HISTORY, channels=("#c",))
    other = await capped(server, "other", *HISTORY, channels=("#c",))
    senders = [await connected(server, nick, "#c") for nick in ("ann", "ben", "cat", "dan")]
    clients.extend([watcher, other, *senders])
    mark, other_mark = len(watcher.received), len(other.received)
    clock.at(5)
    await burst(senders, "#c", 12)  # 48 in one millisecond
    clock.at(6)
    await burst(senders[:2], "#c", 10, "next ")  # 20 in the next
    await settle(watcher, other)
    ids = [m.tags["msgid"] for m in live(watcher, mark)]
    assert [m.tags["msgid"] for m in live(other, other_mark)] == ids  # one live order for everyone
    assert len(ids) == 68

    for size in (1, 7, 48):
        pages = [await ids_of(watcher, f"CHATHISTORY LATEST #c * {size}")]
        while pages[-1]:
            pages.append(await ids_of(watcher, f"CHATHISTORY BEFORE #c msgid={pages[-1][0]} {size}"))
        backwards = [msgid for page in reversed(pages) for msgid in page]
        assert backwards == ids, size
        assert all(len(page) == size for page in pages[1:-2]), size

        first = await ids_of(watcher, f"CHATHISTORY AFTER #c timestamp={stamp(clock, 4)} {size}")
        pages = [first]
        while pages[-1]:
            pages.append(await ids_of(watcher, f"CHATHISTORY AFTER #c msgid={pages[-1][-1]} {size}"))
        forwards = [msgid for page in pages for msgid in page]
        assert forwards == ids, size


async def test_pipelined_bursts_on_the_real_clock_come_back_in_live_order(stored, clients) -> None:
    """No clock held: several clients pipeline at once, as fast as the server takes them."""
    server = await stored()
    watcher = await capped(server, "watcher", *HISTORY, channels=("#c", "#d"))
    senders = [await connected(server, nick, "#c", "#d") for nick in ("ann", "ben", "cat")]
    clients.extend([watcher, *senders])
    mark = len(watcher.received)
    for i in range(25):
        for sender in senders:
            sender.send(f"PRIVMSG #c :{sender.nick} {i}")
            sender.send(f"NOTICE #d :{sender.nick} {i}")
    await settle(*senders, watcher)
    for channel in ("#c", "#d"):
        seen = [m for m in live(watcher, mark, ("PRIVMSG", "NOTICE")) if m.params[0] == channel]
        assert len(seen) == 75
        assert [m.tags["time"] for m in seen] == sorted(m.tags["time"] for m in seen)
        got = await batch_of(watcher, f"CHATHISTORY LATEST {channel} * 100")
        assert [(m.tags["msgid"], m.tags["time"], m.params[-1]) for m in got] == [
            (m.tags["msgid"], m.tags["time"], m.params[-1]) for m in seen
        ]
        ids = [m.tags["msgid"] for m in seen]
        pages = [await ids_of(watcher, f"CHATHISTORY LATEST {channel} * 8")]
        while pages[-1]:
            pages.append(await ids_of(watcher, f"CHATHISTORY BEFORE {channel} msgid={pages[-1][0]} 8"))
        assert [msgid for page in reversed(pages) for msgid in page] == ids


# -- event playback ------------------------------------------------------------------------


async def test_events_and_messages_of_one_millisecond_play_back_in_live_order(stored, clients) -> None:
    server = await stored()
    clock = Clock(server)
    clock.at(0)
    ann = await connected(server, "ann", "#c")  # the channel's op
    watcher = await capped(server, "watcher", *PLAYBACK, channels=("#c",))
    plain_reader = await capped(server, "reader", *HISTORY, channels=("#c",))  # no event-playback
    ben = await connected(server, "ben")
    cat = await connected(server, "cat", "#c")
    clients.extend([ann, watcher, plain_reader, ben, cat])
    ann.send("PRIVMSG #c :start")
    start = await watcher.expect("PRIVMSG", "#c", "start")
    await settle(ann, cat, ben, plain_reader)
    mark = len(watcher.received)
    clock.at(3)
    # every line valid whatever the order the server interleaves the three connections in
    ann.send("PRIVMSG #c :ann one")
    ann.send("TOPIC #c :a topic")
    ann.send("MODE #c +l 50")
    ann.send("PRIVMSG #c :ann two")
    ann.send("MODE #c -l")
    ann.send("NOTICE #c :ann three")
    ben.send("JOIN #c")
    ben.send("PRIVMSG #c :ben one")
    ben.send("PART #c :off")
    ben.send("JOIN #c")
    ben.send("PRIVMSG #c :ben two")
    cat.send("PRIVMSG #c :cat one")
    cat.send("NICK kit")
    cat.send("PRIVMSG #c :kit two")
    cat.send("PART #c :bye")
    await settle(ann, ben, cat, watcher)
    kinds = ("PRIVMSG", "NOTICE", "JOIN", "PART", "TOPIC", "MODE", "NICK")
    seen = live(watcher, mark, kinds)
    assert sorted(m.command for m in seen) == sorted(
        ["PRIVMSG"] * 6 + ["NOTICE", "TOPIC", "MODE", "MODE", "JOIN", "JOIN", "PART", "PART", "NICK"]
    )
    assert {m.tags["time"] for m in seen} == {stamp(clock, 3)}

    def shape(messages: list[Message]) -> list[tuple[str, str, str]]:
        return [(m.tags["msgid"], m.command, m.params[-1]) for m in messages]

    got = await batch_of(watcher, f"CHATHISTORY AFTER #c msgid={start.tags['msgid']} 100")
    assert shape(got) == shape(seen)
    assert shape(await batch_of(watcher, "CHATHISTORY LATEST #c * 15")) == shape(seen)
    # paged backwards three at a time from the newest, events counting like messages
    pages = [await batch_of(watcher, "CHATHISTORY LATEST #c * 3")]
    while pages[-1] and pages[-1][0].tags["msgid"] != seen[0].tags["msgid"]:
        pages.append(await batch_of(watcher, f"CHATHISTORY BEFORE #c msgid={pages[-1][0].tags['msgid']} 3"))
    assert shape([m for page in reversed(pages) for m in page]) == shape(seen)
    # the messages alone, in the same order, for a client without event-playback
    messages = [m for m in seen if m.command in ("PRIVMSG", "NOTICE")]
    got = await batch_of(plain_reader, f"CHATHISTORY AFTER #c msgid={start.tags['msgid']} 100")
    assert shape(got) == shape(messages)
    # an event's msgid is a reference like a message's
    middle, first = seen[7].tags["msgid"], start.tags["msgid"]
    assert shape(await batch_of(watcher, f"CHATHISTORY AROUND #c msgid={middle} 5")) == shape(seen[5:10])
    assert shape(await batch_of(watcher, f"CHATHISTORY BEFORE #c msgid={middle} 7")) == shape(seen[:7])
    assert shape(await batch_of(watcher, f"CHATHISTORY BETWEEN #c msgid={first} msgid={middle} 100")) == shape(seen[:7])


# -- TARGETS --------------------------------------------------------------------------------


async def test_targets_of_one_millisecond_come_latest_first(stored, clients) -> None:
    server = await stored()
    clock = Clock(server)
    clock.at(0)
    alice = await capped(server, "alice", *HISTORY, channels=("#a", "#b", "#c"))
    clients.append(alice)
    wide = f"timestamp={stamp(clock, -60_000)} timestamp={stamp(clock, 60_000)}"
    backwards = f"timestamp={stamp(clock, 60_000)} timestamp={stamp(clock, -60_000)}"

    async def targets(line: str) -> list[str]:
        return [m.params[1] for m in await batch_of(alice, line, "draft/chathistory-targets")]

    clock.at(7)
    for channel in ("#a", "#b", "#c"):  # said in this order, within one millisecond
        alice.send(f"PRIVMSG {channel} :hello {channel}")
    await settle(alice)
    assert await targets(f"CHATHISTORY TARGETS {wide} 10") == ["#c", "#b", "#a"]
    assert await targets(f"CHATHISTORY TARGETS {backwards} 1") == ["#c"]  # the latest conversation
    assert await targets(f"CHATHISTORY TARGETS {wide} 1") == ["#a"]  # the earliest
    alice.send("PRIVMSG #a :again")  # the same millisecond still: #a is now the latest
    await settle(alice)
    assert await targets(f"CHATHISTORY TARGETS {wide} 10") == ["#a", "#c", "#b"]
    assert await targets(f"CHATHISTORY TARGETS {backwards} 2") == ["#a", "#c"]


async def test_targets_in_different_milliseconds_come_latest_first_and_bounds_exclude_their_millisecond(
    stored, clients
) -> None:
    server = await stored()
    clock = Clock(server)
    clock.at(0)
    alice = await capped(server, "alice", *HISTORY, channels=("#a", "#b", "#c"))
    clients.append(alice)
    for ms, channel in ((10, "#a"), (11, "#b"), (12, "#c"), (13, "#a")):
        clock.at(ms)
        alice.send(f"PRIVMSG {channel} :at {ms}")
        await settle(alice)

    async def targets(first: int, second: int, limit: int) -> list[tuple[str, str]]:
        line = f"CHATHISTORY TARGETS timestamp={stamp(clock, first)} timestamp={stamp(clock, second)} {limit}"
        return [(m.params[1], m.params[2]) for m in await batch_of(alice, line, "draft/chathistory-targets")]

    everything = [("#a", stamp(clock, 13)), ("#c", stamp(clock, 12)), ("#b", stamp(clock, 11))]
    assert await targets(0, 100, 10) == everything
    assert await targets(100, 0, 1) == everything[:1]
    assert await targets(0, 100, 1) == [("#b", stamp(clock, 11))]
    assert await targets(11, 13, 10) == [("#c", stamp(clock, 12))]  # both bounds exclusive
    assert await targets(13, 11, 10) == [("#c", stamp(clock, 12))]


# -- MARKREAD, REDACT, SEARCH inside a burst ------------------------------------------------


async def test_a_read_marker_inside_a_burst_marks_its_whole_millisecond(stored, clients) -> None:
    server = await stored()
    clock = Clock(server)
    clock.at(0)
    await registered_account(server, "alice", "correct-horse", "#c")
    laptop = await capped(server, "laptop", *HISTORY, "draft/read-marker", channels=("#c",))
    laptop.send("PRIVMSG NickServ :IDENTIFY alice correct-horse")
    await laptop.expect("900")
    senders = [await connected(server, nick, "#c") for nick in ("ann", "ben")]
    clients.extend([laptop, *senders])
    mark = len(laptop.received)
    clock.at(10)
    senders[0].send("PRIVMSG #c :before")
    await settle(senders[0])
    clock.at(20)
    await burst(senders, "#c", 10)
    clock.at(30)
    senders[1].send("PRIVMSG #c :after")
    await settle(senders[1], laptop)
    seen = live(laptop, mark)
    inside = seen[8]
    laptop.send(f"MARKREAD #c timestamp={inside.tags['time']}")
    assert (await laptop.expect("MARKREAD")).params == ["#c", f"timestamp={stamp(clock, 20)}"]
    laptop.send(f"MARKREAD #c timestamp={seen[0].tags['time']}")  # older: the marker stands
    assert (await laptop.expect("MARKREAD")).params == ["#c", f"timestamp={stamp(clock, 20)}"]
    laptop.send(f"MARKREAD #c timestamp={seen[15].tags['time']}")  # the same millisecond: the same marker
    assert (await laptop.expect("MARKREAD")).params == ["#c", f"timestamp={stamp(clock, 20)}"]
    laptop.send("MARKREAD #c")
    marker = (await laptop.expect("MARKREAD")).params[1]
    # what is unread after the marker: what was said after its millisecond, nothing of the burst
    unread = await batch_of(laptop, f"CHATHISTORY AFTER #c {marker} 100")
    assert said(unread) == ["after"]
    read = await batch_of(laptop, f"CHATHISTORY BEFORE #c {marker} 100")
    assert said(read) == ["before"]
    assert [m.tags["msgid"] for m in unread] == [m.tags["msgid"] for m in seen if m.tags["time"] > marker[10:]]


async def test_a_redacted_message_inside_a_burst_leaves_the_rest_in_order(stored, clients) -> None:
    server = await stored()
    clock = Clock(server)
    clock.at(0)
    watcher = await capped(server, "watcher", *HISTORY, "soju.im/search", channels=("#c",))
    ann = await capped(server, "ann", "draft/message-redaction", channels=("#c",))
    ben = await connected(server, "ben", "#c")
    clients.extend([watcher, ann, ben])
    mark = len(watcher.received)
    clock.at(10)
    await burst([ann, ben], "#c", 10, "word ")
    await settle(watcher)
    seen = live(watcher, mark)
    ids = [m.tags["msgid"] for m in seen]
    k = next(i for i, m in enumerate(seen) if m.source.startswith("ann!") and 8 <= i)  # one in the middle
    ann.send(f"REDACT #c {ids[k]} :oops")
    await ann.expect("REDACT", "#c", ids[k])
    await settle(ann, watcher)
    kept = ids[:k] + ids[k + 1 :]
    assert await ids_of(watcher, "CHATHISTORY LATEST #c * 100") == kept
    assert await ids_of(watcher, f"CHATHISTORY BEFORE #c msgid={ids[k + 1]} 3") == ids[k - 3 : k]
    assert await ids_of(watcher, f"CHATHISTORY AFTER #c msgid={ids[k - 1]} 3") == ids[k + 1 : k + 4]
    around = ids[k - 2 : k] + ids[k + 1 : k + 4]
    assert await ids_of(watcher, f"CHATHISTORY AROUND #c msgid={ids[k + 1]} 5") == around
    assert await ids_of(watcher, f"CHATHISTORY BETWEEN #c msgid={ids[k - 2]} msgid={ids[k + 2]} 10") == [
        ids[k - 1], ids[k + 1],
    ]  # fmt: skip
    assert await ids_of(watcher, f"CHATHISTORY BEFORE #c msgid={ids[k]} 10") == []  # gone: an unknown msgid
    assert await ids_of(watcher, "SEARCH in=#c;text=word", "soju.im/search") == kept


async def test_search_returns_the_newest_matches_of_a_burst_in_live_order(stored, clients) -> None:
    server = await stored()
    clock = Clock(server)
    clock.at(0)
    watcher = await capped(server, "watcher", *HISTORY, "soju.im/search", channels=("#c",))
    senders = [await connected(server, nick, "#c") for nick in ("ann", "ben", "cat")]
    clients.extend([watcher, *senders])
    mark = len(watcher.received)
    clock.at(10)
    await burst(senders, "#c", 10, "needle ")
    clock.at(11)
    await burst(senders, "#c", 4, "needle later ")
    await settle(watcher)
    seen = live(watcher, mark)
    ids = [m.tags["msgid"] for m in seen]
    assert len(ids) == 42

    async def search(attributes: str) -> list[str]:
        return await ids_of(watcher, f"SEARCH {attributes}", "soju.im/search")

    assert await search("in=#c;text=needle") == ids
    assert await search("in=#c;text=needle;limit=5") == ids[-5:]
    assert await search("in=#c") == ids
    assert await search("in=#c;limit=7") == ids[-7:]
    assert await search("in=#c;text=needle;from=ben") == [m.tags["msgid"] for m in seen if m.source.startswith("ben!")]
    assert await search("in=#c;from=cat;limit=3") == [m.tags["msgid"] for m in seen if m.source.startswith("cat!")][-3:]
    t10, t11 = stamp(clock, 10), stamp(clock, 11)
    assert await search(f"in=#c;text=needle;after={t10};before={t10}") == ids[:30]  # both included
    assert await search(f"in=#c;after={t11}") == ids[30:]
    assert await search(f"in=#c;text=needle;before={t10};limit=4") == ids[26:30]


# -- replay on join, for a client that cannot ask ------------------------------------------


async def joined_replay(client: LineClient, channel: str = "#c") -> tuple[list[str], list[str]]:
    """JOIN (the client has `batch` and `server-time`, not draft/chathistory): the lines
    replayed in the chathistory batch, and those that came live, until the server is done."""
    client.send(f"JOIN {channel}")
    await client.expect("366", client.nick, channel)
    after = await sync(client)
    replayed = [m.params[-1] for m in after if m.command == "PRIVMSG" and "batch" in m.tags]
    other = [m.params[-1] for m in after if m.command == "PRIVMSG" and "batch" not in m.tags]
    return replayed, other


async def test_autoreplay_has_what_came_before_the_join_once_and_nothing_after(stored, clients) -> None:
    server = await stored("history.autoreplay_lines=50")
    clock = Clock(server)
    clock.at(0)
    senders = [await connected(server, nick, "#c") for nick in ("ann", "ben")]
    watcher = await connected(server, "watcher", "#c")
    bob = await capped(server, "bob", "batch", "server-time")
    clients.extend([*senders, watcher, bob])
    mark = len(watcher.received)
    clock.at(10)
    await burst(senders, "#c", 8)  # 16 in one millisecond
    await settle(watcher)
    before = said(watcher.received[mark:])
    assert len(before) == 16
    clock.at(11)
    replayed, live_lines = await joined_replay(bob)
    assert replayed == before
    assert live_lines == []
    mark, bob_mark = len(watcher.received), len(bob.received)
    await burst(senders, "#c", 3, "after ")  # the join's millisecond still
    await settle(watcher, bob)
    assert said(bob.received[bob_mark:]) == said(watcher.received[mark:])
    assert len(said(bob.received[bob_mark:])) == 6
    assert all("batch" not in m.tags for m in bob.received[bob_mark:])


async def test_autoreplay_has_what_was_said_earlier_in_the_joins_millisecond(stored, clients) -> None:
    server = await stored("history.autoreplay_lines=50")
    clock = Clock(server)
    clock.at(0)
    senders = [await connected(server, nick, "#c") for nick in ("ann", "ben")]
    watcher = await connected(server, "watcher", "#c")
    bob = await capped(server, "bob", "batch", "server-time")
    clients.extend([*senders, watcher, bob])
    mark = len(watcher.received)
    senders[0].send("PRIVMSG #c :a millisecond earlier")
    await settle(senders[0])
    clock.at(1)
    await burst(senders, "#c", 4)
    await settle(watcher)
    before = said(watcher.received[mark:])
    replayed, _ = await joined_replay(bob)  # in the same millisecond, after the burst
    mark, bob_mark = len(watcher.received), len(bob.received)
    await burst(senders, "#c", 2, "after ")
    await settle(watcher, bob)
    assert said(bob.received[bob_mark:]) == said(watcher.received[mark:])  # what followed: live, once
    assert replayed == before


async def test_a_rejoin_in_the_same_millisecond_gets_what_was_said_meanwhile(stored, clients) -> None:
    server = await stored("history.autoreplay_lines=50")
    clock = Clock(server)
    clock.at(0)
    ann = await connected(server, "ann", "#c")
    bob = await capped(server, "bob", "batch", "server-time", channels=("#c",))
    clients.extend([ann, bob])
    clock.at(5)
    ann.send("PRIVMSG #c :seen live")
    await bob.expect("PRIVMSG", "#c", "seen live")
    bob.send("PART #c")
    await bob.expect("PART")
    ann.send("PRIVMSG #c :missed one")
    ann.send("PRIVMSG #c :missed two")
    await settle(ann)
    replayed, _ = await joined_replay(bob)
    assert replayed == ["missed one", "missed two"]


async def test_a_rejoin_does_not_replay_again_what_its_user_saw_live_in_its_last_millisecond(stored, clients) -> None:
    server = await stored("history.autoreplay_lines=50")
    clock = Clock(server)
    clock.at(0)
    ann = await connected(server, "ann", "#c")
    bob = await capped(server, "bob", "batch", "server-time", channels=("#c",))
    clients.extend([ann, bob])
    clock.at(5)
    ann.send("PRIVMSG #c :seen live")
    await bob.expect("PRIVMSG", "#c", "seen live")
    bob.send("PART #c")
    await bob.expect("PART")
    clock.at(9)
    ann.send("PRIVMSG #c :missed")
    await settle(ann)
    clock.at(12)
    replayed, _ = await joined_replay(bob)
    assert replayed == ["missed"]


async def test_a_rejoin_in_a_later_millisecond_gets_what_was_said_meanwhile_in_order(stored, clients) -> None:
    server = await stored("history.autoreplay_lines=50")
    clock = Clock(server)
    clock.at(0)
    ann = await connected(server, "ann", "#c")
    ben = await connected(server, "ben", "#c")
    watcher = await connected(server, "watcher", "#c")
    bob = await capped(server, "bob", "batch", "server-time", channels=("#c",))
    clients.extend([ann, ben, watcher, bob])
    clock.at(5)
    bob.send("PART #c")
    await bob.expect("PART")
    mark = len(watcher.received)
    clock.at(9)
    await burst([ann, ben], "#c", 5)
    await settle(watcher)
    clock.at(12)
    replayed, live_lines = await joined_replay(bob)
    assert replayed == said(watcher.received[mark:])
    assert len(replayed) == 10 and live_lines == []


# -- a restart on the same store --------------------------------------------------------------


async def test_history_across_a_restart_keeps_the_order_of_both_runs(stored, clients) -> None:
    server = await stored()
    clock = Clock(server)
    clock.at(0)
    ann = await connected(server, "ann", "#c")  # an open channel: its history waits for its name
    ben = await connected(server, "ben", "#c")
    watcher = await capped(server, "watcher", *HISTORY, channels=("#c",))
    mark = len(watcher.received)
    clock.at(10)
    await burst([ann, ben], "#c", 10)
    await settle(watcher)
    first_run = [m.tags["msgid"] for m in live(watcher, mark)]
    for client in (ann, ben, watcher):
        await client.close()
    await server.stop()

    again = await stored()
    base = clock.base
    clock = Clock(again)
    clock.base = base  # the same second as the first run's
    clock.at(20)
    watcher = await capped(again, "watcher", *HISTORY, channels=("#c",))
    senders = [await connected(again, nick, "#c") for nick in ("ann", "ben")]
    clients.extend([watcher, *senders])
    mark = len(watcher.received)
    clock.at(30)
    await burst(senders, "#c", 10, "again ")
    await settle(watcher)
    second_run = [m.tags["msgid"] for m in live(watcher, mark)]
    ids = first_run + second_run
    assert len(set(ids)) == 40
    got = await batch_of(watcher, "CHATHISTORY LATEST #c * 100")
    assert [m.tags["msgid"] for m in got if m.command == "PRIVMSG"] == ids
    pages = [await ids_of(watcher, "CHATHISTORY LATEST #c * 6")]
    while pages[-1]:
        pages.append(await ids_of(watcher, f"CHATHISTORY BEFORE #c msgid={pages[-1][0]} 6"))
    assert [msgid for page in reversed(pages) for msgid in page] == ids
    assert await ids_of(watcher, f"CHATHISTORY AFTER #c msgid={first_run[-3]} 4") == ids[18:22]
    assert await ids_of(watcher, f"CHATHISTORY BETWEEN #c msgid={second_run[1]} msgid={first_run[8]} 3") == [
        first_run[18], first_run[19], second_run[0],
    ]  # fmt: skip


async def test_a_restart_onto_a_clock_just_behind_still_puts_the_new_messages_after_the_old(stored, clients) -> None:
    """docs/history.md: a message is never stamped at or before the one relayed before it
    (a clock stepping back by less than a second is moved past): the one before may be
    from the run before a restart (a quick restart, the clock stepped back meanwhile)."""
    server = await stored()
    clock = Clock(server)
    clock.at(0)
    ann = await connected(server, "ann", "#c")
    watcher = await capped(server, "watcher", *HISTORY, channels=("#c",))
    mark = len(watcher.received)
    clock.at(10)
    await burst([ann], "#c", 5)
    await settle(watcher)
    first_run = [m.tags["msgid"] for m in live(watcher, mark)]
    for client in (ann, watcher):
        await client.close()
    await server.stop()
    again = await stored()
    base = clock.base
    clock = Clock(again)
    clock.base = base
    clock.at(9)  # a millisecond behind the last message of the first run
    watcher = await capped(again, "watcher", *HISTORY, channels=("#c",))
    ann = await connected(again, "ann", "#c")
    clients.extend([watcher, ann])
    mark = len(watcher.received)
    await burst([ann], "#c", 5, "again ")
    await settle(watcher)
    second_run = [m.tags["msgid"] for m in live(watcher, mark)]
    assert await ids_of(watcher, "CHATHISTORY LATEST #c * 100") == first_run + second_run


# -- private conversations ----------------------------------------------------------------


async def account(server: Runtime, nick: str, *caps: str) -> LineClient:
    client = await capped(server, nick, *caps)
    client.send("PRIVMSG NickServ :REGISTER correct-horse")
    await client.expect("900")
    return client


async def test_a_private_burst_between_two_accounts_comes_back_in_live_order_for_both(stored, clients) -> None:
    server = await stored()
    clock = Clock(server)
    clock.at(0)
    alice = await account(server, "alice", *HISTORY, "echo-message")
    bob = await account(server, "bob", *HISTORY, "echo-message")
    clients.extend([alice, bob])
    await settle(alice, bob)
    marks = len(alice.received), len(bob.received)
    clock.at(10)
    for i in range(12):
        alice.send(f"PRIVMSG bob :from alice {i}")
        bob.send(f"PRIVMSG alice :from bob {i}")
    await settle(alice, bob, alice)
    seen_by_alice = [m.tags["msgid"] for m in live(alice, marks[0])]
    seen_by_bob = [m.tags["msgid"] for m in live(bob, marks[1])]
    assert len(seen_by_alice) == 24 and seen_by_alice == seen_by_bob
    assert await ids_of(alice, "CHATHISTORY LATEST bob * 100") == seen_by_alice
    assert await ids_of(bob, "CHATHISTORY LATEST alice * 100") == seen_by_alice
    pages = [await ids_of(bob, "CHATHISTORY LATEST alice * 5")]
    while pages[-1]:
        pages.append(await ids_of(bob, f"CHATHISTORY BEFORE alice msgid={pages[-1][0]} 5"))
    assert [msgid for page in reversed(pages) for msgid in page] == seen_by_alice
    t = stamp(clock, 10)
    assert await ids_of(alice, f"CHATHISTORY BETWEEN bob timestamp={t} timestamp={stamp(clock, 0)} 100") == []
