"""draft/chathistory over real sockets, against a server with a real store (SQLite, PostgreSQL).

Each test talks, then asks for the past with every subcommand and both kinds of
reference, and checks the batch that comes back line by line.
"""

from __future__ import annotations

import time

from hubbub.irc.message import Message
from tests.e2e_caps.support import batches, capped
from tests.helpers import STAMP, LineClient, commands, connected, isupport_tokens, sync, unstamped

HISTORY = ("draft/chathistory", "batch", "server-time", "message-tags")


async def talk(sender: LineClient, channel: str, *texts: str) -> list[Message]:
    """Send `texts` to `channel` with echo-message on; the echoes (with their msgid and time)."""
    echoes = []
    for text in texts:
        sender.send(f"PRIVMSG {channel} :{text}")
        echoes.append(await sender.expect(lambda m, text=text: m.command == "PRIVMSG" and m.params[-1] == text))
    return echoes


async def history(client: LineClient, line: str) -> list[Message]:
    """Send a CHATHISTORY line; the messages inside the chathistory batch it answers with."""
    client.send(line)
    opening = await client.expect("BATCH")
    assert opening.params[1] == "chathistory", opening
    ref = opening.params[0][1:]
    inside = []
    while True:
        message = await client.read_message()
        assert message is not None
        if message.command == "BATCH" and message.params == ["-" + ref]:
            return inside
        assert message.tags.get("batch") == ref, message
        inside.append(message)


async def test_latest_returns_the_last_messages_oldest_first_with_their_msgid_and_time(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *HISTORY, "echo-message", channels=("#c",))
    clients.append(alice)
    echoes = await talk(alice, "#c", *(f"line {i}" for i in range(5)))
    got = await history(alice, "CHATHISTORY LATEST #c * 3")
    assert [m.params for m in got] == [["#c", "line 2"], ["#c", "line 3"], ["#c", "line 4"]]
    assert [m.tags["msgid"] for m in got] == [e.tags["msgid"] for e in echoes[2:]]
    assert [m.tags["time"] for m in got] == [e.tags["time"] for e in echoes[2:]]
    assert all(m.source == "alice!~u@127.0.0.1" for m in got)


async def test_each_subcommand_with_msgid_and_timestamp_bounds_is_exclusive(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *HISTORY, "echo-message", channels=("#c",))
    clients.append(alice)
    echoes = await talk(alice, "#c", *(f"m{i}" for i in range(10)))
    ids = [e.tags["msgid"] for e in echoes]

    def texts(found: list[Message]) -> list[str]:
        return [m.params[-1] for m in found]

    assert texts(await history(alice, f"CHATHISTORY BEFORE #c msgid={ids[5]} 3")) == ["m2", "m3", "m4"]
    assert texts(await history(alice, f"CHATHISTORY AFTER #c msgid={ids[5]} 3")) == ["m6", "m7", "m8"]
    assert texts(await history(alice, f"CHATHISTORY LATEST #c msgid={ids[7]} 10")) == ["m8", "m9"]
    assert texts(await history(alice, f"CHATHISTORY BETWEEN #c msgid={ids[1]} msgid={ids[5]} 10")) == [
        "m2", "m3", "m4",
    ]  # fmt: skip
    # counted from the first bound: backwards when it is the later one
    assert texts(await history(alice, f"CHATHISTORY BETWEEN #c msgid={ids[8]} msgid={ids[1]} 2")) == ["m6", "m7"]
    around = texts(await history(alice, f"CHATHISTORY AROUND #c msgid={ids[5]} 5"))
    assert around == ["m3", "m4", "m5", "m6", "m7"]
    stamp = echoes[5].tags["time"]
    before = texts(await history(alice, f"CHATHISTORY BEFORE #c timestamp={stamp} 100"))
    after = texts(await history(alice, f"CHATHISTORY AFTER #c timestamp={stamp} 100"))
    times = [e.tags["time"] for e in echoes]  # several may share a millisecond: a time bound excludes it whole
    assert before == [f"m{i}" for i in range(10) if times[i] < stamp]
    assert after == [f"m{i}" for i in range(10) if times[i] > stamp]
    assert texts(await history(alice, "CHATHISTORY LATEST #c * 0")) == [f"m{i}" for i in range(10)]  # 0: the maximum


async def test_an_empty_history_is_an_empty_batch(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *HISTORY, channels=("#quiet",))
    clients.append(alice)
    assert await history(alice, "CHATHISTORY LATEST #quiet * 10") == []
    assert await history(alice, "CHATHISTORY BEFORE #quiet msgid=unknown 10") == []


async def test_errors_are_the_standard_replies_and_the_connection_stays_usable(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *HISTORY, channels=("#c",))
    bob = await capped(server, "bob", *HISTORY)
    clients.extend([alice, bob])
    alice.send("MODE #c +s")
    await alice.expect("MODE")
    cases = [
        (alice, "CHATHISTORY FROBNICATE #c * 10", ["CHATHISTORY", "UNKNOWN_COMMAND", "FROBNICATE"]),
        (alice, "CHATHISTORY LATEST #c *", ["CHATHISTORY", "NEED_MORE_PARAMS", "LATEST"]),
        (alice, "CHATHISTORY LATEST #c * 10 extra", ["CHATHISTORY", "INVALID_PARAMS", "LATEST"]),
        (alice, "CHATHISTORY BEFORE #c timestamp=yesterday 10", ["CHATHISTORY", "INVALID_PARAMS", "BEFORE"]),
        (alice, "CHATHISTORY BEFORE #c * 10", ["CHATHISTORY", "INVALID_PARAMS", "BEFORE"]),
        (alice, "CHATHISTORY LATEST #c * ten", ["CHATHISTORY", "INVALID_PARAMS", "LATEST"]),
        (bob, "CHATHISTORY LATEST #c * 10", ["CHATHISTORY", "INVALID_TARGET", "LATEST", "#c"]),  # secret
        (bob, "CHATHISTORY LATEST #nowhere * 10", ["CHATHISTORY", "INVALID_TARGET", "LATEST", "#nowhere"]),
        (bob, "CHATHISTORY LATEST alice * 10", ["CHATHISTORY", "INVALID_TARGET", "LATEST", "alice"]),  # no account
    ]
    for client, line, params in cases:
        client.send(line)
        fail = await client.expect("FAIL")
        assert fail.params[: len(params)] == params, (line, fail)
    for client in (alice, bob):
        assert "PONG" not in commands(await sync(client))  # nothing else came, and it still answers


async def test_history_is_advertised(stored, clients) -> None:
    server = await stored("history.chathistory_max=50")
    client = await LineClient.connect(server)
    clients.append(client)
    client.send("CAP LS 302")
    ls = await client.expect("CAP")
    assert "draft/chathistory" in ls.params[-1] and "draft/event-playback" in ls.params[-1]
    client.send("CAP END")
    await client.register("alice")
    tokens = isupport_tokens(client.received)
    assert tokens["CHATHISTORY"] == "50" and tokens["MSGREFTYPES"] == "timestamp,msgid"


async def test_without_history_nothing_is_advertised(stored, clients) -> None:
    server = await stored("history.enabled=false")
    client = await LineClient.connect(server)
    clients.append(client)
    client.send("CAP LS 302")
    ls = await client.expect("CAP")
    assert "draft/chathistory" not in ls.params[-1]
    client.send("CAP END")
    await client.register("alice")
    assert "CHATHISTORY" not in isupport_tokens(client.received)


async def test_event_playback_brings_joins_parts_topics_kicks_nicks_and_quits(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *HISTORY, "draft/event-playback", channels=("#c",))
    bob = await connected(server, "bob", "#c")
    carol = await connected(server, "carol", "#c")
    clients.extend([alice, bob, carol])
    for line in ("TOPIC #c :the topic", "KICK #c carol :out"):
        alice.send(line)
    bob.send("PRIVMSG #c :hi")
    bob.send("NICK robert")
    await alice.expect("NICK")
    bob.send("PART #c :later")
    await alice.expect("PART")
    got = await history(alice, "CHATHISTORY LATEST #c * 20")
    assert commands(got) == ["JOIN", "JOIN", "JOIN", "TOPIC", "KICK", "PRIVMSG", "NICK", "PART"]
    assert got[6].source.startswith("bob!") and got[6].params == ["robert"]
    assert got[4].params == ["#c", "carol", "out"]
    plain = await capped(server, "dave", *HISTORY, channels=("#c",))
    clients.append(plain)
    assert commands(await history(plain, "CHATHISTORY LATEST #c * 20")) == ["PRIVMSG"]  # without the cap


async def test_autoreplay_on_join_for_clients_without_chathistory(stored, clients) -> None:
    server = await stored("history.autoreplay_lines=3")
    alice = await connected(server, "alice", "#c")
    clients.append(alice)
    for i in range(5):
        alice.send(f"PRIVMSG #c :old {i}")
    await sync(alice)
    plain = await LineClient.connect(server)
    clients.append(plain)
    await plain.register("bob")
    plain.send("JOIN #c")
    await plain.expect("366")
    replayed = [await plain.expect("PRIVMSG") for _ in range(3)]
    # without batch: each text led by when it was said
    assert [m.params[0] for m in replayed] == ["#c"] * 3
    assert [unstamped(m.params[1]) for m in replayed] == ["old 2", "old 3", "old 4"]
    assert all(STAMP.match(m.params[1]) for m in replayed), replayed
    timed = await capped(server, "carol", "server-time", "batch", channels=())
    clients.append(timed)
    timed.send("JOIN #c")
    got = await timed.collect_until("BATCH")
    assert got[-1].params[1] == "chathistory"
    lines = [await timed.expect("PRIVMSG") for _ in range(3)]
    assert all("time" in m.tags and "batch" in m.tags for m in lines)
    assert [m.params[1] for m in lines] == ["old 2", "old 3", "old 4"]  # in its batch: as said
    modern = await capped(server, "dave", *HISTORY, channels=("#c",))  # asks for itself: no replay
    clients.append(modern)
    assert "PRIVMSG" not in commands(await sync(modern))


async def test_the_replay_on_join_holds_only_what_was_said_before_the_join(stored, clients) -> None:
    """The replay is read from the store after the JOIN: what was said meanwhile has
    reached the joiner live, and must not come again (here, a line stamped later)."""
    server = await stored("history.autoreplay_lines=5")
    now = time.time()
    server.clock = lambda: now
    alice = await connected(server, "alice", "#c")
    clients.append(alice)
    alice.send("PRIVMSG #c :before the join")
    await sync(alice)
    server.clock = lambda: now + 60
    alice.send("PRIVMSG #c :after the join")
    await sync(alice)
    server.clock = lambda: now + 30  # bob joins between the two
    bob = await connected(server, "bob", "#c")
    clients.append(bob)
    stamp = time.strftime("[%H:%M] ", time.gmtime(now))  # when it was said, UTC
    assert [m.params[1] for m in await sync(bob) if m.command == "PRIVMSG"] == [stamp + "before the join"]


async def test_a_labeled_request_gets_its_batch_inside_the_labeled_response(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *HISTORY, "labeled-response", "echo-message", channels=("#c",))
    clients.append(alice)
    await talk(alice, "#c", "one", "two")
    alice.send("@label=h1 CHATHISTORY LATEST #c * 10")
    opening = await alice.expect("BATCH")
    # one reply that is a batch: the label goes on that batch (labeled-response)
    assert opening.tags["label"] == "h1" and opening.params[1] == "chathistory"
    received = [await alice.read_message() for _ in range(3)]
    found = batches([opening, *received])
    assert [m.params[-1] for m in found[opening.params[0][1:]][1:-1]] == ["one", "two"]
    alice.send("@label=h2 CHATHISTORY LATEST #nowhere * 10")  # an error is labeled too
    fail = await alice.expect("FAIL")
    assert fail.tags["label"] == "h2"


async def test_history_survives_a_restart(stored, clients) -> None:
    server = await stored()
    alice = await connected(server, "alice", "#c")
    alice.send("PRIVMSG #c :before the restart")
    await sync(alice)
    await alice.close()
    await server.stop()
    again = await stored()
    bob = await capped(again, "bob", *HISTORY, channels=("#c",))
    clients.append(bob)
    got = await history(bob, "CHATHISTORY LATEST #c * 10")
    assert [m.params for m in got if m.command == "PRIVMSG"] == [["#c", "before the restart"]]


async def test_targets_lists_the_channels_with_history_in_the_range(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *HISTORY, "echo-message", channels=("#a", "#b", "#c"))
    clients.append(alice)
    first = (await talk(alice, "#a", "early"))[0].tags["time"]
    await talk(alice, "#b", "later")
    alice.send(f"CHATHISTORY TARGETS timestamp={first[:4]}-01-01T00:00:00.000Z timestamp=2999-01-01T00:00:00.000Z 10")
    opening = await alice.expect("BATCH")
    assert opening.params[1] == "draft/chathistory-targets"
    listed = [await alice.expect("CHATHISTORY") for _ in range(2)]
    assert {m.params[1] for m in listed} == {"#a", "#b"}
    assert listed[0].params[2] >= listed[1].params[2]  # the most recent first
    await alice.expect("BATCH")


async def test_a_message_to_some_members_only_is_not_kept(stored, clients) -> None:
    """STATUSMSG (`@#c`) reached the ops alone: replaying it to every member would leak it."""
    server = await stored()
    alice = await capped(server, "alice", *HISTORY, "echo-message", channels=("#c",))
    bob = await capped(server, "bob", *HISTORY, channels=("#c",))
    clients.extend([alice, bob])
    bob.send("PRIVMSG @#c :for the ops")
    bob.send("NOTICE +#c :for the voiced")
    await talk(alice, "#c", "for everyone")
    got = await history(bob, "CHATHISTORY LATEST #c * 10")
    assert [m.params for m in got] == [["#c", "for everyone"]]
