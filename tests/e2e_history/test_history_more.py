"""More of the history over real sockets: quits in event playback, NOTICE and TAGMSG,
account and client-only tags, time bounds, SEARCH's `before`, and replies kept in order."""

from __future__ import annotations

import datetime
import time

from hubbub.irc.message import Message
from tests.e2e_accounts.support import registered_account
from tests.e2e_caps.support import capped
from tests.e2e_history.test_chathistory import HISTORY, history, talk
from tests.e2e_history.test_reading import logged_in
from tests.helpers import LineClient, commands, connected, sync


def seconds(stamp: str) -> float:
    """A server-time tag (`2026-12-02T07:55:42.887Z`) as seconds since the epoch."""
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def stamp(moment: float) -> str:
    """Seconds since the epoch as a server-time timestamp, to the millisecond."""
    when = datetime.datetime.fromtimestamp(moment, datetime.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def texts(found: list[Message]) -> list[str]:
    return [m.params[-1] for m in found]


async def spaced_talk(server, sender: LineClient, channel: str, *lines: str) -> list[Message]:
    """Say `lines` one whole second apart on the server's clock, so that no two share a
    millisecond and a time can be picked between any two; the echoes."""
    base = float(int(time.time()))
    now = [base]
    server.clock = lambda: now[0]
    echoes = []
    for i, text in enumerate(lines):
        now[0] = base + i + 1
        echoes.extend(await talk(sender, channel, text))
    return echoes


def midpoint(a: Message, b: Message) -> str:
    """A timestamp between the server-time of two messages."""
    return stamp((seconds(a.tags["time"]) + seconds(b.tags["time"])) / 2)


async def test_event_playback_replays_a_quit_in_every_channel_the_quitter_was_in(stored, clients) -> None:
    """A QUIT is not tied to one channel: each channel the user left must keep it, as members saw it."""
    server = await stored()
    alice = await capped(server, "alice", *HISTORY, "draft/event-playback", channels=("#c", "#d"))
    bob = await connected(server, "bob", "#c", "#d")
    clients.extend([alice, bob])
    bob.send("QUIT :gone fishing")
    live = await alice.expect("QUIT")
    assert "QUIT" not in commands(await sync(alice))  # one QUIT line for alice, for both channels
    for channel in ("#c", "#d"):
        got = await history(alice, f"CHATHISTORY LATEST {channel} * 10")
        assert commands(got) == ["JOIN", "JOIN", "QUIT"], channel
        quit_line = got[-1]
        assert quit_line.source == live.source and quit_line.source.startswith("bob!")
        assert quit_line.params == live.params and "gone fishing" in quit_line.params[-1]
        assert quit_line.tags["msgid"] == live.tags["msgid"] and quit_line.tags["time"] == live.tags["time"]


async def test_notice_and_tagmsg_to_a_channel_are_kept(stored, clients) -> None:
    """NOTICE is history like PRIVMSG; a TAGMSG (a reaction) comes back with its client-only
    tag to a client with message-tags and event-playback, and not without event-playback."""
    server = await stored()
    alice = await capped(server, "alice", *HISTORY, "echo-message", channels=("#c",))
    clients.append(alice)
    said = (await talk(alice, "#c", "a message"))[0]
    alice.send("NOTICE #c :a notice")
    notice = await alice.expect("NOTICE", "#c")
    alice.send(f"@+draft/react=\U0001f44d;+draft/reply={said.tags['msgid']} TAGMSG #c")
    tagmsg = await alice.expect("TAGMSG", "#c")
    reader = await capped(server, "reader", *HISTORY, "draft/event-playback")
    clients.append(reader)
    got = [m for m in await history(reader, "CHATHISTORY LATEST #c * 10") if m.command != "JOIN"]
    assert commands(got) == ["PRIVMSG", "NOTICE", "TAGMSG"]
    assert got[1].params == ["#c", "a notice"] and got[1].tags["msgid"] == notice.tags["msgid"]
    assert got[2].params == ["#c"] and got[2].source.startswith("alice!")
    assert got[2].tags["msgid"] == tagmsg.tags["msgid"]
    assert got[2].tags["+draft/react"] == "\U0001f44d" and got[2].tags["+draft/reply"] == said.tags["msgid"]
    plain = await capped(server, "plain", *HISTORY)  # no event-playback: messages only, the NOTICE too
    clients.append(plain)
    assert commands(await history(plain, "CHATHISTORY LATEST #c * 10")) == ["PRIVMSG", "NOTICE"]
    # message-tags: no TAGMSG reaches a client without the capability, from history either
    untagged = await capped(server, "untagged", "draft/chathistory", "batch", "server-time", "draft/event-playback")
    clients.append(untagged)
    got = [m for m in await history(untagged, "CHATHISTORY LATEST #c * 10") if m.command != "JOIN"]
    assert commands(got) == ["PRIVMSG", "NOTICE"]


async def test_account_and_client_only_tags_come_back_with_a_message(stored, clients) -> None:
    """History is the line as relayed: a logged-in sender's account (with account-tag) and
    the client-only tags it sent, each only to a client that asked for such tags."""
    server = await stored()
    clients.append(await registered_account(server, "dana"))
    dana = await logged_in(server, "dana_phone", "dana", "message-tags", channels=("#c",))
    anon = await capped(server, "anon", "message-tags", channels=("#c",))
    clients.extend([dana, anon])
    dana.send("@+foo=bar;+example.com/x=a\\sb PRIVMSG #c :tagged")
    await anon.expect("PRIVMSG", "#c", "tagged")  # two connections: their lines in this order
    anon.send("PRIVMSG #c :no account")
    await dana.expect("PRIVMSG", "#c", "no account")
    full = await capped(server, "full", *HISTORY, "account-tag")
    clients.append(full)
    got = await history(full, "CHATHISTORY LATEST #c * 10")
    assert texts(got) == ["tagged", "no account"]
    assert got[0].tags["account"] == "dana" and got[0].source.startswith("dana_phone!")
    assert got[0].tags["+foo"] == "bar" and got[0].tags["+example.com/x"] == "a b"
    assert "account" not in got[1].tags and not any(k.startswith("+") for k in got[1].tags)
    no_account_tag = await capped(server, "tags", *HISTORY)
    clients.append(no_account_tag)
    got = await history(no_account_tag, "CHATHISTORY LATEST #c * 10")
    assert "account" not in got[0].tags and got[0].tags["+foo"] == "bar"


async def test_latest_around_and_between_with_timestamp_bounds(stored, clients) -> None:
    """Time references pick messages by their server-time, exclusive of the bound, oldest first."""
    server = await stored()
    alice = await capped(server, "alice", *HISTORY, "echo-message", channels=("#c",))
    clients.append(alice)
    e = await spaced_talk(server, alice, "#c", *(f"m{i}" for i in range(6)))
    assert len({m.tags["time"] for m in e}) == 6
    between_1_2, between_3_4 = midpoint(e[1], e[2]), midpoint(e[3], e[4])

    async def ask(line: str) -> list[str]:
        return texts(await history(alice, line))

    assert await ask(f"CHATHISTORY LATEST #c timestamp={between_1_2} 10") == ["m2", "m3", "m4", "m5"]
    assert await ask(f"CHATHISTORY LATEST #c timestamp={between_1_2} 2") == ["m4", "m5"]  # the latest of them
    assert await ask(f"CHATHISTORY LATEST #c timestamp={e[4].tags['time']} 10") == ["m5"]
    assert await ask(f"CHATHISTORY AROUND #c timestamp={between_1_2} 4") == ["m0", "m1", "m2", "m3"]
    assert await ask(f"CHATHISTORY AROUND #c timestamp={between_3_4} 2") == ["m3", "m4"]
    # the message at the time itself, in the later half: a client jumping to it gets it
    assert await ask(f"CHATHISTORY AROUND #c timestamp={e[2].tags['time']} 4") == ["m0", "m1", "m2", "m3"]
    assert await ask(f"CHATHISTORY AROUND #c timestamp={e[2].tags['time']} 1") == ["m2"]
    assert await ask(f"CHATHISTORY BETWEEN #c timestamp={between_1_2} timestamp={between_3_4} 10") == ["m2", "m3"]
    assert await ask(f"CHATHISTORY BETWEEN #c timestamp={e[0].tags['time']} timestamp={e[5].tags['time']} 3") == [
        "m1", "m2", "m3",
    ]  # fmt: skip
    # the later bound first: counted back from it, still returned oldest first
    assert await ask(f"CHATHISTORY BETWEEN #c timestamp={e[5].tags['time']} timestamp={e[0].tags['time']} 3") == [
        "m2", "m3", "m4",
    ]  # fmt: skip
    assert await ask(f"CHATHISTORY BETWEEN #c timestamp={between_3_4} timestamp={between_1_2} 10") == ["m2", "m3"]


async def test_search_with_before_returns_only_what_was_said_until_then(stored, clients) -> None:
    """`before` bounds a search by time (docs: included), and the newest of what is left comes back."""
    server = await stored()
    caps = (*HISTORY, "soju.im/search", "echo-message")
    alice = await capped(server, "alice", *caps, channels=("#c",))
    clients.append(alice)
    e = await spaced_talk(server, alice, "#c", "apple one", "apple two", "pear", "apple three", "apple four")

    async def search(line: str) -> list[str]:
        alice.send(line)
        opening = await alice.expect("BATCH")
        assert opening.params[1] == "soju.im/search"
        found = []
        while True:
            message = await alice.read_message()
            assert message is not None
            if message.command == "BATCH" and message.params == ["-" + opening.params[0][1:]]:
                return found
            assert message.tags.get("batch") == opening.params[0][1:]
            found.append(message.params[-1])

    cut = midpoint(e[2], e[3])
    assert await search(f"SEARCH in=#c;text=apple;before={cut}") == ["apple one", "apple two"]
    assert await search(f"SEARCH in=#c;before=timestamp={cut}") == ["apple one", "apple two", "pear"]
    assert await search(f"SEARCH in=#c;text=apple;before={e[1].tags['time']}") == ["apple one", "apple two"]
    assert await search(f"SEARCH in=#c;text=apple;before={cut};limit=1") == ["apple two"]
    assert await search(f"SEARCH in=#c;text=apple;after={e[1].tags['time']};before={cut}") == ["apple two"]
    assert await search(f"SEARCH in=#c;text=apple;before={e[0].tags['time'][:4]}-01-01T00:00:00Z") == []


async def test_a_line_sent_after_chathistory_is_answered_after_its_batch(stored, clients) -> None:
    """The store answers off the event loop: a PING in the same write must still wait for
    the history before it, or the client would read its replies out of order."""
    server = await stored()
    alice = await capped(server, "alice", *HISTORY, channels=("#c",))
    clients.append(alice)
    for i in range(60):
        alice.send(f"PRIVMSG #c :line {i}")
    await sync(alice)
    alice.send(b"CHATHISTORY LATEST #c * 50\r\nPING :after-history\r\n")
    got = await alice.collect_until(lambda m: m.command == "PONG" and m.params[-1] == "after-history")
    opening = got[0]
    assert opening.command == "BATCH" and opening.params[1] == "chathistory", got[:3]
    ref = opening.params[0][1:]
    assert got[-2].command == "BATCH" and got[-2].params == ["-" + ref]
    assert texts(got[1:-2]) == [f"line {i}" for i in range(10, 60)]
    assert all(m.tags.get("batch") == ref for m in got[1:-2])
