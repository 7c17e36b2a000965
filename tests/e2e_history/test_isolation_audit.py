"""An isolation audit over real sockets: a malicious user, registered or not, tries to read
conversations and channel history it may not see, to learn what is hidden (invisible
members, secret channels), to act in another's name (forged tags, labels, REDACT,
MARKREAD, NickServ and ChanServ), and to confuse the store (NUL and CR in multiline
batches, names that fold together, LIKE wildcards in account names).

Not repeated here: what test_history_privacy.py and tests/e2e_accounts already cover.
Four of these once failed (a dropped account's closed channel, a +R channel's history, REDACT by the
next holder of a dropped name, METADATA SYNC naming invisible members): fixed, and kept so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from hubbub.app import Runtime
from hubbub.irc.message import Message
from tests.e2e_accounts.support import NS, registered_account
from tests.e2e_caps.support import capped
from tests.e2e_history.test_chathistory import HISTORY, history, talk
from tests.helpers import LineClient, commands, connected, sync

SEARCH = "soju.im/search"
REDACTION = "draft/message-redaction"
MARKER = "draft/read-marker"
META = ("draft/metadata-2", "batch", "message-tags")
EVER = "timestamp=2000-01-01T00:00:00.000Z timestamp=2999-01-01T00:00:00.000Z"
CS = "ChanServ!ChanServ@services"

Make = Callable[..., Awaitable[Runtime]]


@pytest.fixture
async def hist(make_server: Make, tmp_path: Path) -> Make:
    """`await hist(*overrides)`: a server keeping history in a SQLite file of the test's
    own (for what does not depend on the backend; `stored` runs both)."""

    async def make(*overrides: str) -> Runtime:
        return await make_server(f"store.db='{tmp_path / 'hubbub.db'}'", *overrides)

    return make


# -- helpers ------------------------------------------------------------------------------------


def texts(found: list[Message]) -> list[str]:
    return [m.params[-1] for m in found if m.command in ("PRIVMSG", "NOTICE")]


async def answer(client: LineClient, line: str) -> list[Message]:
    """Everything `line` is answered with (what was on its way before is read first)."""
    await sync(client)
    client.send(line)
    return await sync(client)


async def refused(client: LineClient, line: str) -> list[str]:
    """`line` must be answered with one FAIL and nothing else: its params."""
    got = await answer(client, line)
    assert commands(got) == ["FAIL"], (line, got)
    return got[0].params


async def with_caps(client: LineClient, *caps: str) -> LineClient:
    client.send("CAP REQ :" + " ".join(caps))
    ack = await client.expect("CAP")
    assert ack.params[1] == "ACK", ack
    return client


async def account(server: Runtime, nick: str, *caps: str, channels: tuple[str, ...] = ()) -> LineClient:
    """A client that registered the account `nick` (and is logged in), then negotiated `caps`."""
    client = await registered_account(server, nick, "correct-horse", *channels)
    return await with_caps(client, *caps) if caps else client


async def service(client: LineClient, to: str, line: str) -> str:
    """Say `line` to NickServ or ChanServ; its first answer."""
    source = NS if to == "NickServ" else CS
    client.send(f"PRIVMSG {to} :{line}")
    return (await client.expect(lambda m: m.command == "NOTICE" and m.source == source)).params[-1]


async def drop_account(client: LineClient, name: str) -> None:
    """NickServ DROP in its two steps."""
    assert (await service(client, "NickServ", "DROP")).startswith("Warning")
    code = (await client.expect(lambda m: m.command == "NOTICE" and m.source == NS)).params[-1].split()[-1]
    client.send(f"PRIVMSG NickServ :DROP {name} {code}")
    await client.expect("901")


async def chanserv_register(client: LineClient, channel: str) -> None:
    assert await service(client, "ChanServ", f"REGISTER {channel}") == f"Channel {channel} successfully registered"


async def targets(client: LineClient) -> list[str]:
    got = await answer(client, f"CHATHISTORY TARGETS {EVER} 50")
    assert commands(got)[0] == "BATCH" and commands(got)[-1] == "BATCH", got
    return sorted(m.params[1] for m in got if m.command == "CHATHISTORY")


# -- history: references, names and the store ----------------------------------------------------


async def test_msgids_of_a_secret_channel_or_a_dm_bring_nothing_through_an_open_channel(hist, clients) -> None:
    server = await hist()
    alice = await account(server, "alice", *HISTORY, "echo-message", channels=("#secret", "#open"))
    bob = await account(server, "bob", *HISTORY, "echo-message")
    mallory = await capped(server, "mallory", *HISTORY, "draft/event-playback")
    clients.extend([alice, bob, mallory])
    alice.send("MODE #secret +s")
    await alice.expect("MODE")
    open_ids = [m.tags["msgid"] for m in await talk(alice, "#open", "o1", "o2")]
    secret = [m.tags["msgid"] for m in await talk(alice, "#secret", "s1", "s2", "s3")]
    private = [m.tags["msgid"] for m in await talk(alice, "bob", "p1", "p2", "p3")]
    await talk(alice, "#open", "o3")
    for ids in (secret, private):
        for line in (
            f"CHATHISTORY AROUND #open msgid={ids[1]} 10",
            f"CHATHISTORY BETWEEN #open msgid={ids[0]} msgid={ids[2]} 10",
            f"CHATHISTORY BETWEEN #open msgid={open_ids[0]} msgid={ids[2]} 10",
            f"CHATHISTORY BEFORE #open msgid={ids[2]} 10",
            f"CHATHISTORY AFTER #open msgid={ids[0]} 10",
            f"CHATHISTORY LATEST #open msgid={ids[0]} 10",
        ):
            assert await history(mallory, line) == [], line  # an unknown reference: nothing, from nowhere
    # and the open channel itself is there for the outsider, and only it
    assert texts(await history(mallory, "CHATHISTORY LATEST #open * 10")) == ["o1", "o2", "o3"]


async def test_brackets_and_braces_are_different_channels_and_capitals_are_not(hist, clients) -> None:
    # CASEMAPPING=ascii: `[` and `{` do not fold together (they would under rfc1459).
    server = await hist()
    alice = await capped(server, "alice", *HISTORY, "echo-message", channels=("#ch[an",))
    bob = await capped(server, "bob", *HISTORY, "echo-message", channels=("#ch{an",))
    clients.extend([alice, bob])
    await talk(alice, "#ch[an", "square")
    await talk(bob, "#ch{an", "curly")
    alice.send("MODE #CH[AN +s")
    await alice.expect("MODE")
    for name in ("#ch[an", "#CH[AN", "#Ch[An"):
        params = await refused(bob, f"CHATHISTORY LATEST {name} * 10")
        assert params[:2] == ["CHATHISTORY", "INVALID_TARGET"], (name, params)
    assert texts(await history(bob, "CHATHISTORY LATEST #CH{AN * 10")) == ["curly"]
    assert texts(await history(alice, "CHATHISTORY LATEST #cH[aN * 10")) == ["square"]
    assert texts(await history(alice, "CHATHISTORY LATEST #ch{an * 10")) == ["curly"]  # open: anyone may read


async def test_underscores_in_account_names_are_literal_for_targets_and_drop(stored, clients) -> None:
    # Private conversations are found with LIKE patterns on `dm:<a> <b>` keys: `a_c` must
    # not match `abc` (the `_` wildcard), on either backend.
    server = await stored()
    a_c = await account(server, "a_c", *HISTORY, "echo-message")
    abc = await account(server, "abc", *HISTORY, "echo-message")
    zed = await account(server, "zed", *HISTORY)
    clients.extend([a_c, abc, zed])
    await talk(abc, "zed", "between abc and zed")
    await talk(a_c, "zed", "between a_c and zed")
    assert await targets(a_c) == ["zed"]
    assert await targets(abc) == ["zed"]
    assert await targets(zed) == ["a_c", "abc"]
    await drop_account(a_c, "a_c")
    assert await targets(zed) == ["abc"]  # a_c's conversation went with it, abc's stays
    assert texts(await history(abc, "CHATHISTORY LATEST zed * 10")) == ["between abc and zed"]


async def test_search_from_takes_like_wildcards_literally(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *HISTORY, SEARCH, "echo-message", channels=("#c",))
    a_ice = await capped(server, "a_ice", *HISTORY, SEARCH, "echo-message", channels=("#c",))
    clients.extend([alice, a_ice])
    await talk(alice, "#c", "said by alice")
    await talk(a_ice, "#c", "said by a_ice")

    async def search(line: str) -> list[str]:
        got = await answer(alice, line)
        assert commands(got)[0] == "BATCH" and got[0].params[1] == SEARCH, got
        return texts(got)

    assert await search("SEARCH in=#c;from=a_ice") == ["said by a_ice"]
    assert await search("SEARCH in=#c;from=A_ICE;text=said") == ["said by a_ice"]
    for pattern in ("%", "a%", "_lice", "%ice", "*", "a?ice"):
        assert await search(f"SEARCH in=#c;from={pattern}") == [], pattern


async def test_taking_an_offline_accounts_nick_opens_none_of_its_conversations(hist, clients) -> None:
    # With enforce = rename, a registered nick may be held for a while by someone else:
    # logged in to another account, carol holds "bob" and must read nothing of bob's.
    server = await hist()
    caps = (*HISTORY, SEARCH, MARKER, "echo-message")
    alice = await account(server, "alice", *caps)
    bob = await account(server, "bob", *caps)
    carol = await account(server, "carol", *caps)
    clients.extend([alice, bob, carol])
    stamp = (await talk(alice, "bob", "for bob only"))[0].tags["time"]
    bob.send(f"MARKREAD alice timestamp={stamp}")
    await bob.expect("MARKREAD")
    bob.send("QUIT")
    await bob.closed()
    clients.remove(bob)
    carol.send("NICK bob")
    await carol.expect("NICK")
    assert await history(carol, "CHATHISTORY LATEST alice * 10") == []
    assert texts(await answer(carol, "SEARCH in=alice;text=bob")) == []
    assert (await answer(carol, "MARKREAD alice"))[0].params == ["alice", "*"]
    assert await targets(carol) == []
    assert await history(alice, "CHATHISTORY LATEST bob * 10") == []  # "bob" is carol now: another conversation
    assert "PRIVMSG" not in commands(await sync(carol))


async def test_statusmsg_prefixed_names_are_no_conversation(hist, clients) -> None:
    server = await hist()
    caps = (*HISTORY, SEARCH, MARKER, REDACTION, "echo-message")
    alice = await account(server, "alice", *caps, channels=("#c",))
    clients.append(alice)
    said = (await talk(alice, "#c", "for everyone"))[0].tags["msgid"]
    alice.send("PRIVMSG @#c :for the ops")
    await alice.expect(lambda m: m.command == "PRIVMSG" and m.params[0] == "@#c")
    assert texts(await history(alice, "CHATHISTORY LATEST #c * 10")) == ["for everyone"]  # STATUSMSG: not kept
    for name in ("@#c", "+#c", "~@#c"):
        assert (await refused(alice, f"CHATHISTORY LATEST {name} * 10"))[:2] == ["CHATHISTORY", "INVALID_TARGET"]
        assert (await refused(alice, f"SEARCH in={name}"))[:3] == ["SEARCH", "INVALID_PARAMS", "in"]
        assert (await refused(alice, f"MARKREAD {name}"))[:2] == ["MARKREAD", "INVALID_PARAMS"]
        assert (await refused(alice, f"REDACT {name} {said}"))[:2] == ["REDACT", "INVALID_TARGET"]


async def test_multiline_lines_with_nul_or_cr_are_refused_and_the_rest_stays_text(hist, clients) -> None:
    server = await hist()
    alice = await capped(server, "alice", *HISTORY, "echo-message", "draft/multiline", channels=("#c",))
    bob = await capped(server, "bob", *HISTORY, channels=("#c",))
    clients.extend([alice, bob])
    await sync(alice)
    alice.send("BATCH +m draft/multiline #c")
    alice.send("@batch=m PRIVMSG #c :first")
    alice.send(b"@batch=m PRIVMSG #c :nul\x00here\r\n")
    alice.send(b"@batch=m PRIVMSG #c :bare\rcr\r\n")
    alice.send("@batch=m PRIVMSG #c :PRIVMSG #other :injected")
    alice.send("@batch=m PRIVMSG #c :last")
    alice.send("BATCH -m")
    got = await sync(alice)
    fails = [m.params for m in got if m.command == "FAIL"]
    assert fails == [["*", "INVALID_MESSAGE", "Could not parse that line"]] * 2, got
    live = [m for m in await sync(bob) if m.command == "PRIVMSG"]
    assert [m.params for m in live] == [["#c", "first"], ["#c", "PRIVMSG #other :injected"], ["#c", "last"]]
    kept = await history(bob, "CHATHISTORY LATEST #c * 10")
    assert [m.params for m in kept] == [m.params for m in live]
    assert not any(ch in p for m in kept for p in m.params for ch in "\0\r\n")


# -- history: names freed and taken again --------------------------------------------------------


async def test_nickserv_drop_of_the_founder_forgets_an_empty_secret_channels_history(stored, clients) -> None:
    server = await stored()
    alice = await account(server, "alice", channels=("#vault",))
    clients.append(alice)
    await chanserv_register(alice, "#vault")
    alice.send("MODE #vault +s")
    alice.send("PRIVMSG #vault :the combination is 1234")
    alice.send("PART #vault")
    await alice.expect("PART")  # registered: #vault stays, empty
    await drop_account(alice, "alice")
    mallory = await capped(server, "mallory", *HISTORY, channels=("#vault",))
    plain = await connected(server, "plain")  # no chathistory: the replay on JOIN
    clients.extend([mallory, plain])
    assert texts(await history(mallory, "CHATHISTORY LATEST #vault * 10")) == []
    plain.send("JOIN #vault")
    await plain.expect("366")
    assert texts(await sync(plain)) == []


async def test_nickserv_drop_of_the_founder_of_an_occupied_secret_channel_forgets_it_later(hist, clients) -> None:
    # The path that works: the channel is still in use when its founder is dropped, and
    # takes its history along when its last member leaves.
    server = await hist()
    alice = await account(server, "alice", channels=("#vault",))
    bob = await connected(server, "bob", "#vault")
    clients.extend([alice, bob])
    await chanserv_register(alice, "#vault")
    alice.send("MODE #vault +s")
    alice.send("PRIVMSG #vault :the combination is 1234")
    alice.send("PART #vault")
    await alice.expect("PART")
    await drop_account(alice, "alice")
    bob.send("PART #vault")
    await bob.expect(lambda m: m.command == "PART" and (m.source or "").startswith("bob!"))  # not alice's
    mallory = await capped(server, "mallory", *HISTORY, channels=("#vault",))
    clients.append(mallory)
    assert texts(await history(mallory, "CHATHISTORY LATEST #vault * 10")) == []


async def test_chanserv_drop_of_an_empty_secret_channel_forgets_its_history(hist, clients) -> None:
    # The control of the test above: the same channel dropped through ChanServ.
    server = await hist()
    alice = await account(server, "alice", channels=("#vault",))
    clients.append(alice)
    await chanserv_register(alice, "#vault")
    alice.send("MODE #vault +s")
    alice.send("PRIVMSG #vault :the combination is 1234")
    alice.send("PART #vault")
    await alice.expect("PART")
    assert (await service(alice, "ChanServ", "DROP #vault")).startswith("Warning")
    code = (await alice.expect("NOTICE")).params[-1].split()[-1]
    assert await service(alice, "ChanServ", f"DROP #vault {code}") == "Channel #vault is now unregistered"
    mallory = await capped(server, "mallory", *HISTORY, channels=("#vault",))
    clients.append(mallory)
    assert texts(await history(mallory, "CHATHISTORY LATEST #vault * 10")) == []


async def test_a_plus_r_channel_is_closed_to_those_without_an_account_through_every_command(hist, clients) -> None:
    server = await hist()
    caps = (*HISTORY, SEARCH, MARKER, REDACTION, "echo-message")
    alice = await account(server, "alice", *caps, channels=("#members",))
    guest = await capped(server, "guest", *caps)
    clients.extend([alice, guest])
    alice.send("MODE #members +R")
    await alice.expect("MODE")
    said = (await talk(alice, "#members", "for accounts only"))[0]
    for line in ("SEARCH in=#members;text=accounts", "MARKREAD #members", f"REDACT #members {said.tags['msgid']}"):
        here = await refused(guest, line)
        nowhere = await refused(guest, line.replace("#members", "#nowhere"))
        assert here == [("#members" if p == "#nowhere" else p) for p in nowhere], (line, here)
    assert await targets(guest) == []


async def test_a_plus_r_channels_history_is_not_left_to_an_unregistered_creator(stored, clients) -> None:
    server = await stored()
    alice = await account(server, "alice", channels=("#members",))
    clients.append(alice)
    alice.send("MODE #members +R")
    alice.send("PRIVMSG #members :for accounts only")
    alice.send("PART #members")
    await alice.expect("PART")
    guest = await capped(server, "guest", *HISTORY, SEARCH, channels=("#members",))
    clients.append(guest)
    assert texts(await history(guest, "CHATHISTORY LATEST #members * 10")) == []


# -- acting in another's name -------------------------------------------------------------------


async def test_a_new_account_of_a_dropped_name_cannot_redact_the_old_holders_messages(hist, clients) -> None:
    server = await hist()
    alice = await account(server, "alice", "echo-message", "message-tags", channels=("#c",))
    watcher = await capped(server, "watcher", *HISTORY, channels=("#c",))
    clients.extend([alice, watcher])
    said = (await talk(alice, "#c", "words of the first alice"))[0].tags["msgid"]
    await drop_account(alice, "alice")
    alice.send("QUIT")
    await alice.closed()
    clients.remove(alice)
    heir = await account(server, "alice", REDACTION)
    clients.append(heir)
    got = await answer(heir, f"REDACT #c {said}")
    assert [m.params[:2] for m in got if m.command == "FAIL"] == [["REDACT", "REDACT_FORBIDDEN"]], got
    assert texts(await history(watcher, "CHATHISTORY LATEST #c * 10")) == ["words of the first alice"]


async def test_redact_outside_a_public_channel_and_across_conversations(hist, clients) -> None:
    server = await hist()
    caps = (*HISTORY, REDACTION, "echo-message")
    alice = await account(server, "alice", *caps, channels=("#pub",))
    bob = await account(server, "bob", *caps, channels=("#own",))
    clients.extend([alice, bob])
    in_pub = (await talk(alice, "#pub", "alice in pub"))[0].tags["msgid"]
    to_bob = (await talk(alice, "bob", "alice to bob"))[0].tags["msgid"]
    # bob is not in #pub, may read it (public), and may not delete another's message there
    assert (await refused(bob, f"REDACT #pub {in_pub}"))[:2] == ["REDACT", "REDACT_FORBIDDEN"]
    # op of #own, bob names messages of elsewhere through it: they are not there
    for msgid in (in_pub, to_bob):
        assert (await refused(bob, f"REDACT #own {msgid}"))[:2] == ["REDACT", "UNKNOWN_MSGID"]
    assert texts(await history(bob, "CHATHISTORY LATEST #pub * 10")) == ["alice in pub"]
    assert texts(await history(bob, "CHATHISTORY LATEST alice * 10")) == ["alice to bob"]
    # once bob left, alice still deletes her own message in her public channel; bob hears nothing of it
    alice.send(f"REDACT #pub {in_pub}")
    assert (await alice.expect("REDACT")).params == ["#pub", in_pub]
    assert "REDACT" not in commands(await sync(bob))


async def test_read_markers_are_each_accounts_own_on_a_shared_channel(hist, clients) -> None:
    server = await hist()
    caps = (*HISTORY, MARKER, "echo-message")
    alice = await account(server, "alice", *caps, channels=("#c",))
    bob = await account(server, "bob", *caps, channels=("#c",))
    clients.extend([alice, bob])
    first, second = (m.tags["time"] for m in await talk(alice, "#c", "one", "two"))
    alice.send(f"MARKREAD #c timestamp={second}")
    assert (await alice.expect("MARKREAD")).params == ["#c", f"timestamp={second}"]
    assert "MARKREAD" not in commands(await sync(bob))  # alice's marker is not told to bob
    assert (await answer(bob, "MARKREAD #c"))[0].params == ["#c", "*"]
    bob.send(f"MARKREAD #c timestamp={first}")
    assert (await bob.expect("MARKREAD")).params == ["#c", f"timestamp={first}"]
    assert "MARKREAD" not in commands(await sync(alice))
    assert (await answer(alice, "MARKREAD #c"))[0].params == ["#c", f"timestamp={second}"]
    # no parameter names another account: extra ones change nothing
    bob.send(f"MARKREAD #c timestamp={second} alice")
    assert (await bob.expect("MARKREAD")).params == ["#c", f"timestamp={second}"]
    assert "MARKREAD" not in commands(await sync(alice))


async def test_forged_server_tags_are_replaced_live_and_in_history(hist, clients) -> None:
    server = await hist()
    caps = (*HISTORY, "echo-message", "account-tag", "draft/event-playback")
    alice = await account(server, "alice", *caps, channels=("#c",))
    anon = await capped(server, "anon", *caps, channels=("#c",))
    bob = await capped(server, "bob", *caps, channels=("#c",))
    clients.extend([alice, anon, bob])
    forged = "account=root;msgid=forged;time=2000-01-01T00:00:00.000Z;bot;+draft/reply=abc"
    alice.send(f"@{forged} PRIVMSG #c :from alice")
    anon.send(f"@{forged} PRIVMSG #c :from anon")
    anon.send(f"@{forged};+draft/react=x TAGMSG #c")
    live = [await bob.expect("PRIVMSG"), await bob.expect("PRIVMSG"), await bob.expect("TAGMSG")]
    kept = [m for m in await history(bob, "CHATHISTORY LATEST #c * 10") if m.command in ("PRIVMSG", "TAGMSG")]
    assert [m.params[-1] for m in kept] == ["from alice", "from anon", "#c"]
    for got in (*live, *kept):
        assert got.tags["msgid"] != "forged" and not got.tags["time"].startswith("2000"), got
        assert "bot" not in got.tags and got.tags["+draft/reply"] == "abc", got
    assert [m.tags.get("account") for m in live] == ["alice", None, None]
    assert [m.tags.get("account") for m in kept] == ["alice", None, None]
    assert [m.tags["msgid"] for m in live] == [m.tags["msgid"] for m in kept]


async def test_a_label_or_a_stray_batch_tag_reaches_nobody_else(server, clients) -> None:
    caps = ("labeled-response", "batch", "message-tags", "echo-message")
    alice = await capped(server, "alice", *caps)
    bob = await capped(server, "bob", *caps)
    clients.extend([alice, bob])
    alice.send("@label=same;batch=zz PRIVMSG bob :hello")
    echo = await alice.expect("PRIVMSG")
    assert echo.tags.get("label") == "same" and "batch" not in echo.tags, echo
    got = await bob.expect("PRIVMSG")
    assert "label" not in got.tags and "batch" not in got.tags, got
    bob.send("@label=same PING :mine")
    pong = await bob.expect("PONG")
    assert pong.tags.get("label") == "same"
    assert "PONG" not in commands(await sync(alice)) and "ACK" not in commands(await sync(alice))


async def test_an_oversized_client_tag_is_refused_and_kept_nowhere(hist, clients) -> None:
    server = await hist()
    alice = await capped(server, "alice", *HISTORY, "echo-message", channels=("#c",))
    bob = await capped(server, "bob", *HISTORY, channels=("#c",))
    clients.extend([alice, bob])
    too_big = "+draft/x=" + "a" * (4095 - len("+draft/x="))  # 4095 bytes of tag data: one past the limit
    got = await answer(alice, f"@{too_big} PRIVMSG #c :too big")
    assert commands(got) == ["417"], got
    # message-tags: the limit counts every tag, client-only or not
    assert commands(await answer(alice, "@draft/x=" + "b" * 5000 + " PRIVMSG #c :too big too")) == ["417"]
    server_tag = "draft/x=" + "b" * 100  # not a client tag: dropped, the message goes out
    alice.send(f"@{server_tag} PRIVMSG #c :server tag dropped")
    await alice.expect("PRIVMSG")
    live = [m for m in await sync(bob) if m.command == "PRIVMSG"]
    assert [(m.params[-1], "draft/x" in m.tags) for m in live] == [("server tag dropped", False)]
    kept = await history(bob, "CHATHISTORY LATEST #c * 10")
    assert [(m.params[-1], "draft/x" in m.tags) for m in kept] == [("server tag dropped", False)]


async def test_what_is_said_to_nickserv_is_echoed_to_its_sender_alone_and_not_kept(hist, clients) -> None:
    """echo-message echoes a message to a service, as ergo does, to the connection that
    sent it only: not to the account's other connections, and never into history."""
    server = await hist()
    alice = await account(server, "alice", *HISTORY, SEARCH, "echo-message")
    other = await connected(server, "alice2")
    clients.extend([alice, other])
    assert (await service(other, "NickServ", "IDENTIFY alice correct-horse")).startswith("You're now logged in")
    other = await with_caps(other, "echo-message")
    assert await service(alice, "NickServ", "SET PASSWORD a-new-secret-123") == "Password changed"
    alice.send("NICKSERV INFO")
    await alice.expect(lambda m: m.command == "NOTICE" and m.source == NS)
    await sync(alice)
    echoes = [m.params for m in alice.received if m.command == "PRIVMSG"]
    assert echoes == [["NickServ", "SET PASSWORD a-new-secret-123"]]
    assert "PRIVMSG" not in commands(await sync(other))
    assert await targets(alice) == []
    for name in ("NickServ", "nickserv"):
        assert (await refused(alice, f"CHATHISTORY LATEST {name} * 10"))[:2] == ["CHATHISTORY", "INVALID_TARGET"]
        assert (await refused(alice, f"SEARCH in={name};text=secret"))[:2] == ["SEARCH", "INVALID_PARAMS"]


async def test_nicks_that_fold_to_a_service_are_refused(server, clients) -> None:
    early = await LineClient.connect(server)
    clients.append(early)
    early.send("NICK NICKSERV")
    assert (await early.expect("432")).params[1:] == ["NICKSERV", "Reserved for a service"]
    alice = await connected(server, "alice")
    clients.append(alice)
    for nick in ("nickserv", "NickServ", "cHaNsErV", "CHANSERV"):
        alice.send(f"NICK {nick}")
        assert (await alice.expect("432")).params[1:] == [nick, "Reserved for a service"]
    # a near name is a nick like any other, and never receives what is said to the service
    near = await connected(server, "NickServ_")
    clients.append(near)
    alice.send("PRIVMSG nickserv :HELP")
    await alice.expect(lambda m: m.command == "NOTICE" and m.source == NS)
    assert "PRIVMSG" not in commands(await sync(near))


# -- learning what is hidden --------------------------------------------------------------------


async def test_metadata_sync_of_a_channel_names_no_invisible_member_to_outsiders(server, clients) -> None:
    alice = await capped(server, "alice", *META, channels=("#c",))
    ghost = await capped(server, "ghost", *META, channels=("#c",))
    eve = await capped(server, "eve", *META)
    clients.extend([alice, ghost, eve])
    ghost.send("MODE ghost +i")
    await ghost.expect("MODE")
    for client, value in ((alice, "here"), (ghost, "hiding")):
        client.send(f"METADATA * SET status :{value}")
        await client.expect("761")
    eve.send("METADATA * SUB status")
    await sync(eve)
    names = (await answer(eve, "NAMES #c"))[0].params[-1].split()
    assert names == ["@alice"]  # ghost is hidden here...
    synced = [m.params for m in await answer(eve, "METADATA #c SYNC") if m.command == "METADATA"]
    assert ["alice", "status", "*", "here"] in synced  # the visible member's key is there
    assert [p for p in synced if p[0] == "ghost"] == []  # ...and must be here too


async def test_invisible_members_are_hidden_from_outsiders_but_ison_and_userhost_answer(server, clients) -> None:
    # RFC 2812: +i hides a user from WHO masks and from NAMES/WHO of channels one is not
    # in; ISON and USERHOST name a nick one already knows, invisible or not.
    alice = await connected(server, "alice", "#c")
    ghost = await connected(server, "ghost", "#c", "#s")
    eve = await connected(server, "eve")
    clients.extend([alice, ghost, eve])
    ghost.send("MODE ghost +i")
    ghost.send("MODE #s +s")
    await sync(ghost)
    assert (await answer(eve, "NAMES #c"))[0].params[-1].split() == ["@alice"]
    assert [m.params[5] for m in await answer(eve, "WHO #c") if m.command == "352"] == ["alice"]
    assert [m.params[5] for m in await answer(eve, "WHO gh*") if m.command == "352"] == []
    # the count is every member's, as Modern IRC and other servers give it: +i hides who, not how many
    assert [m.params[2] for m in await answer(eve, "LIST #c") if m.command == "322"] == ["2"]
    whois = await answer(eve, "WHOIS ghost")
    assert "319" not in commands(whois), whois  # neither #c (she is invisible) nor #s (secret)
    assert (await answer(eve, "ISON ghost nobody"))[0].params[-1] == "ghost"
    assert (await answer(eve, "USERHOST ghost"))[0].params[-1] == "ghost=+~u@127.0.0.1"
    # a member sees her in the channel they share, and only there
    assert "ghost" in (await answer(alice, "NAMES #c"))[0].params[-1].split()
    assert [m.params[-1] for m in await answer(alice, "WHOIS ghost") if m.command == "319"] == ["#c"]


async def test_away_setname_and_account_notices_reach_no_stranger(server, clients) -> None:
    notices = ("away-notify", "account-notify", "setname", "message-tags")
    ghost = await connected(server, "ghost", "#own")
    watcher = await capped(server, "watcher", *notices)  # monitors ghost, without extended-monitor
    stranger = await capped(server, "stranger", *notices, "extended-monitor")  # monitors nobody
    follower = await capped(server, "follower", *notices, "extended-monitor")  # monitors ghost: told (spec)
    clients.extend([ghost, watcher, stranger, follower])
    for client in (watcher, follower):
        client.send("MONITOR + ghost")
        assert (await client.expect("730")).params[-1].startswith("ghost!")
    ghost.send("MODE ghost +i")
    ghost.send("AWAY :gone fishing")
    await ghost.expect("306")
    ghost.send("SETNAME :A New Name")
    ghost.send("PRIVMSG NickServ :REGISTER correct-horse")
    await ghost.expect("900")
    await sync(ghost)
    for client in (watcher, stranger):
        heard = commands(await sync(client))
        assert not {"AWAY", "SETNAME", "ACCOUNT", "METADATA"} & set(heard), heard
    assert [m.command for m in await sync(follower)] == ["AWAY", "SETNAME", "ACCOUNT"]


async def test_an_unregistered_connection_learns_nothing_of_others(hist, clients) -> None:
    server = await hist()
    alice = await account(server, "alice", "echo-message", channels=("#c",))
    clients.append(alice)
    await talk(alice, "#c", "said in #c")
    early = await LineClient.connect(server)
    clients.append(early)
    early.send("CAP LS 302")
    await early.expect("CAP")
    for line in ("WHOIS alice", "WHO *", "NAMES #c", "LIST", "ISON alice", "USERHOST alice", "MONITOR + alice",
                 "CHATHISTORY LATEST #c * 10", "SEARCH in=#c", "MARKREAD #c", "TOPIC #c", "MODE #c",
                 "PRIVMSG alice :hi", "WHOWAS alice", "INVITE alice #c"):  # fmt: skip
        got = await answer(early, line)
        assert commands(got) == ["451"], (line, got)
    for line in ("METADATA alice GET status", "METADATA #c LIST", "METADATA *ALL SYNC"):
        assert (await refused(early, line))[:2] == ["METADATA", "INVALID_TARGET"], line
    assert (await refused(early, "REGISTER * * some-password"))[:2] == ["REGISTER", "COMPLETE_CONNECTION_REQUIRED"]
    assert "PRIVMSG" not in commands(await sync(alice))
    # and nobody learns of it before it is registered: its nick is no one's yet
    early.send("NICK shy")
    await sync(early)
    for line, code in (("MONITOR + shy", "731"), ("WHOIS shy", "401"), ("ISON shy", "303")):
        got = await answer(alice, line)
        assert got[0].command == code and "shy!" not in got[0].params[-1], (line, got)
    assert (await answer(alice, "ISON shy"))[0].params[-1] == ""


# -- services ----------------------------------------------------------------------------------


async def test_chanserv_answers_outsiders_of_a_registered_secret_channel_as_for_none(hist, clients) -> None:
    server = await hist()
    alice = await account(server, "alice", channels=("#vault",))
    mallory = await account(server, "mallory")
    clients.extend([alice, mallory])
    await chanserv_register(alice, "#vault")
    alice.send("MODE #vault +s")
    await alice.expect("MODE")
    for line in ("INFO {}", "AMODE {}", "OP {}", "OP {} mallory", "DEOP {} alice", "VOICE {}", "REGISTER {}",
                 "SET {} FOUNDER mallory", "DROP {}", "AMODE {} +o mallory"):  # fmt: skip
        here = await service(mallory, "ChanServ", line.format("#vault"))
        nowhere = await service(mallory, "ChanServ", line.format("#nowhere"))
        assert here == nowhere == "Channel does not exist", (line, here, nowhere)
    assert await service(alice, "ChanServ", "INFO #vault") == "Channel #vault is registered"
    assert (await alice.expect("NOTICE")).params[-1] == "Founder: alice"


async def test_nickserv_acts_on_ones_own_account_only(hist, clients) -> None:
    server = await hist()
    alice = await account(server, "alice")
    bob = await account(server, "bob")
    clients.extend([alice, bob])
    fingerprint = "ab" * 32
    assert await service(alice, "NickServ", f"CERT ADD {fingerprint}") == "Certificate fingerprint successfully added"
    assert await service(bob, "NickServ", f"CERT DEL {fingerprint}") == "Certificate fingerprint not found"
    added = await service(bob, "NickServ", f"CERT ADD {fingerprint}")
    assert added == "That certificate fingerprint is already associated with another account"
    assert await service(alice, "NickServ", "CERT LIST") == (
        "There are 1 certificate fingerprint(s) authorized for account alice."
    )
    assert (await alice.expect("NOTICE")).params[-1] == f"1: {fingerprint}"
    # DROP names one's own account, whatever code is given for another
    refused = await service(bob, "NickServ", "DROP alice 00000000")
    assert refused == "You can drop only the account you're logged into, bob."
    warning = (await bob.expect("NOTICE")).params[-1]
    assert warning == "Warning: dropping bob deletes it for good; its nick is then free for anyone."
    await bob.expect("NOTICE")
    assert await service(alice, "NickServ", "INFO") == "Account: alice"  # still there
    info = [m.params[-1] for m in await sync(alice) if m.command == "NOTICE"]
    assert "Logged in now as: alice" in info
    # INFO of another account tells neither its e-mail nor its certificates
    await service(bob, "NickServ", "INFO alice")
    told = [m.params[-1] for m in await sync(bob) if m.command == "NOTICE"]
    assert not [t for t in told if t.startswith(("Email", "Certificate"))], told
