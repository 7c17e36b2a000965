"""Private history between accounts, read markers, redaction and search, over real sockets."""

from __future__ import annotations

from tests.e2e_accounts.support import registered_account
from tests.e2e_caps.support import capped
from tests.e2e_history.test_chathistory import HISTORY, history, talk
from tests.helpers import LineClient, commands, connected, sync


async def logged_in(server, nick: str, account: str, *caps: str, channels: tuple[str, ...] = ()) -> LineClient:
    client = await capped(server, nick, *caps, channels=channels)
    client.send(f"PRIVMSG NickServ :IDENTIFY {account} correct-horse")
    await client.expect("900")
    return client


async def test_a_read_marker_is_never_set_in_the_future_or_before_1970(stored, clients) -> None:
    # A marker from the future stood against every real one after it (markers only move
    # forward); one in year 1 or 9999.9999 came back as `1-01-01...` or `10000-...`, which
    # the client could not even send back.
    server = await stored()
    await registered_account(server, "alice", "correct-horse", "#c")
    laptop = await logged_in(server, "laptop", "alice", *HISTORY, "draft/read-marker", "echo-message", channels=("#c",))
    clients.append(laptop)
    laptop.send("MARKREAD #c timestamp=0001-01-01T00:00:00.000Z")
    assert (await laptop.expect("MARKREAD")).params == ["#c", "timestamp=1970-01-01T00:00:00.000Z"]
    laptop.send("MARKREAD #c timestamp=9999-12-31T23:59:59.9999Z")
    capped_at = (await laptop.expect("MARKREAD")).params[1]
    assert "2000" < capped_at.removeprefix("timestamp=") < "3000"  # now, as the server's clock says
    said = (await talk(laptop, "#c", "later"))[0]
    laptop.send(f"MARKREAD #c timestamp={said.tags['time']}")  # a real marker still moves it on
    assert (await laptop.expect("MARKREAD")).params == ["#c", f"timestamp={said.tags['time']}"]


async def test_private_messages_between_accounts_are_kept_for_both_and_all_their_connections(stored, clients) -> None:
    server = await stored()
    alice = await registered_account(server, "alice")
    bob = await registered_account(server, "bob")
    anon = await connected(server, "anon")
    clients.extend([alice, bob, anon])
    alice.send("PRIVMSG bob :hello bob")
    bob.send("PRIVMSG alice :hi alice")
    anon.send("PRIVMSG alice :not kept: I have no account")
    await sync(alice)
    await sync(bob)
    phone = await logged_in(server, "alice_phone", "alice", *HISTORY)
    clients.append(phone)
    got = await history(phone, "CHATHISTORY LATEST bob * 10")
    assert [(m.source.split("!")[0], m.params) for m in got] == [
        ("alice", ["bob", "hello bob"]), ("bob", ["alice", "hi alice"]),
    ]  # fmt: skip
    phone.send("CHATHISTORY LATEST anon * 10")
    assert (await phone.expect("FAIL")).params[:2] == ["CHATHISTORY", "INVALID_TARGET"]
    outsider = await capped(server, "carol", *HISTORY)
    clients.append(outsider)
    outsider.send("CHATHISTORY LATEST bob * 10")  # no account: no private history at all
    assert (await outsider.expect("FAIL")).params[:2] == ["CHATHISTORY", "INVALID_TARGET"]


async def test_read_markers_are_the_accounts_and_move_forward_only(stored, clients) -> None:
    server = await stored()
    await registered_account(server, "alice", "correct-horse", "#c")
    laptop = await logged_in(server, "laptop", "alice", *HISTORY, "draft/read-marker", "echo-message", channels=("#c",))
    phone = await logged_in(server, "phone", "alice", *HISTORY, "draft/read-marker", channels=("#c",))
    clients.extend([laptop, phone])
    echoes = await talk(laptop, "#c", "one", "two")
    laptop.send("MARKREAD #c")
    assert (await laptop.expect("MARKREAD")).params == ["#c", "*"]
    stamp = echoes[1].tags["time"]
    laptop.send(f"MARKREAD #c timestamp={stamp}")
    assert (await laptop.expect("MARKREAD")).params == ["#c", f"timestamp={stamp}"]
    assert (await phone.expect("MARKREAD")).params == ["#c", f"timestamp={stamp}"]  # the other connection too
    older = echoes[0].tags["time"]
    phone.send(f"MARKREAD #c timestamp={older}")  # behind: the newer one stands
    assert (await phone.expect("MARKREAD")).params == ["#c", f"timestamp={stamp}"]
    phone.send("PART #c")
    phone.send("JOIN #c")
    joined = await phone.collect_until("366")
    assert commands(joined).index("MARKREAD") < commands(joined).index("366")
    for line, code in (("MARKREAD", "NEED_MORE_PARAMS"), ("MARKREAD #c timestamp=soon", "INVALID_PARAMS")):
        phone.send(line)
        assert (await phone.expect("FAIL")).params[:2] == ["MARKREAD", code]
    anon = await capped(server, "anon", "draft/read-marker", channels=("#c",))
    clients.append(anon)
    anon.send(f"MARKREAD #c timestamp={stamp}")
    assert (await anon.expect("FAIL")).params[:2] == ["MARKREAD", "INTERNAL_ERROR"]


async def test_redact_removes_a_message_for_everyone(stored, clients) -> None:
    server = await stored()
    caps = (*HISTORY, "draft/message-redaction", "echo-message")
    op = await capped(server, "op", *caps, channels=("#c",))
    bob = await capped(server, "bob", *caps, channels=("#c",))
    carol = await capped(server, "carol", *caps, channels=("#c",))
    clients.extend([op, bob, carol])
    mine, other = (await talk(bob, "#c", "oops", "fine"))
    carol_says = (await talk(carol, "#c", "carol here"))[0]
    bob.send(f"REDACT #c {mine.tags['msgid']} :typo")
    for client in (op, bob, carol):
        redact = await client.expect("REDACT")
        assert redact.params == ["#c", mine.tags["msgid"], "typo"] and redact.source.startswith("bob!")
    bob.send(f"REDACT #c {carol_says.tags['msgid']}")
    assert (await bob.expect("FAIL")).params[:2] == ["REDACT", "REDACT_FORBIDDEN"]
    op.send(f"REDACT #c {other.tags['msgid']}")  # an operator may remove anyone's
    await bob.expect("REDACT")
    bob.send("REDACT #c nosuchmsgid")
    assert (await bob.expect("FAIL")).params[:2] == ["REDACT", "UNKNOWN_MSGID"]
    left = await history(carol, "CHATHISTORY LATEST #c * 10")
    assert [m.params[-1] for m in left] == ["carol here"]


async def test_search_finds_words_by_sender_and_time(stored, clients) -> None:
    server = await stored()
    caps = (*HISTORY, "soju.im/search", "echo-message")
    alice = await capped(server, "alice", *caps, channels=("#c",))
    bob = await capped(server, "bob", *caps, channels=("#c",))
    clients.extend([alice, bob])
    first = (await talk(alice, "#c", "the quick brown fox", "nothing to see"))[0]
    middle = (await talk(bob, "#c", "a quick word from bob"))[0]
    await talk(alice, "#c", "quick again")
    # `after` counts from a millisecond on: a message of the same millisecond is in it
    since_middle = ["a quick word from bob", "quick again"]
    if first.tags["time"] == middle.tags["time"]:
        since_middle.insert(0, "the quick brown fox")

    async def search(line: str) -> list[str]:
        alice.send(line)
        opening = await alice.expect("BATCH")
        assert opening.params[1] == "soju.im/search"
        found = []
        while True:
            message = await alice.read_message()
            assert message is not None
            if message.command == "BATCH":
                return found
            found.append(message.params[-1])

    assert await search("SEARCH in=#c;text=quick") == ["the quick brown fox", "a quick word from bob", "quick again"]
    assert await search("SEARCH in=#c;text=quick;from=bob") == ["a quick word from bob"]
    assert await search(f"SEARCH in=#c;text=quick;after={middle.tags['time']}") == since_middle
    assert await search("SEARCH in=#c;text=quick;limit=1") == ["quick again"]
    assert await search("SEARCH in=#c;text=absent") == []
    for line, code in (("SEARCH text=quick", "INVALID_PARAMS"), ("SEARCH in=#c;limit=zero", "INVALID_PARAMS")):
        alice.send(line)
        assert (await alice.expect("FAIL")).params[:2] == ["SEARCH", code]
    alice.send("MODE #c +s")
    outsider = await capped(server, "carol", *caps)
    clients.append(outsider)
    outsider.send("SEARCH in=#c;text=quick")
    assert (await outsider.expect("FAIL")).params[:2] == ["SEARCH", "INVALID_PARAMS"]


async def test_a_renamed_channel_keeps_each_account_s_read_marker_for_every_client(stored, clients) -> None:
    """A client without draft/channel-rename is shown the rename as PART and JOIN: like a
    real JOIN, MARKREAD of the marker it had comes before the end of NAMES. A client with
    it, and a later connection, read the same marker under the new name."""
    server = await stored()
    op = await registered_account(server, "alice", "correct-horse", "#foo")
    laptop = await logged_in(server, "laptop", "alice", *HISTORY, "draft/read-marker", "echo-message",
                             channels=("#foo",))  # fmt: skip
    clients.extend([op, laptop])
    said = (await talk(laptop, "#foo", "read up to here"))[0]
    laptop.send(f"MARKREAD #foo timestamp={said.tags['time']}")
    assert (await laptop.expect("MARKREAD")).params == ["#foo", f"timestamp={said.tags['time']}"]
    op.send("RENAME #foo #bar :tidier")
    shown = await laptop.collect_until("366")
    assert commands(shown)[:2] == ["PART", "JOIN"]
    assert [m.params for m in shown if m.command == "MARKREAD"] == [["#bar", f"timestamp={said.tags['time']}"]]
    phone = await logged_in(server, "phone", "alice", "draft/read-marker", "draft/channel-rename")
    clients.append(phone)
    phone.send("MARKREAD #bar")
    assert (await phone.expect("MARKREAD")).params == ["#bar", f"timestamp={said.tags['time']}"]
    laptop.send("MARKREAD #bar")  # and the laptop asking again: the same
    assert (await laptop.expect("MARKREAD")).params == ["#bar", f"timestamp={said.tags['time']}"]
