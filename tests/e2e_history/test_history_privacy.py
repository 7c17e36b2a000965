"""Who may read history, over real sockets: nothing of a channel one may not read, or of
a private conversation one is not in, comes back through CHATHISTORY, TARGETS, SEARCH,
REDACT, MARKREAD or the replay on JOIN; and a refusal reads exactly as for a target
that does not exist (docs/history.md, "Who may read what")."""

from __future__ import annotations

from hubbub.irc.message import Message
from tests.e2e_accounts.support import registered_account
from tests.e2e_caps.support import capped
from tests.e2e_history.test_chathistory import HISTORY, history, talk
from tests.helpers import STAMP, LineClient, commands, connected, sync, unstamped

SEARCH = "soju.im/search"
REDACTION = "draft/message-redaction"
MARKER = "draft/read-marker"
EVER = "timestamp=2000-01-01T00:00:00.000Z timestamp=2999-01-01T00:00:00.000Z"


async def account(server, nick: str, *caps: str, channels: tuple[str, ...] = ()) -> LineClient:
    """A client that registered the account `nick` (and is logged in to it), then negotiated `caps`."""
    client = await registered_account(server, nick, "correct-horse", *channels)
    if caps:
        client.send("CAP REQ :" + " ".join(caps))
        ack = await client.expect("CAP")
        assert ack.params[1] == "ACK", ack
    return client


async def refused(client: LineClient, line: str) -> list[str]:
    """Send `line`; it must be answered with one FAIL and nothing else: its params."""
    await sync(client)  # what was on its way before (live lines) is not the answer
    client.send(line)
    got = await sync(client)
    assert commands(got) == ["FAIL"], (line, got)
    return got[0].params


def texts(found: list[Message]) -> list[str]:
    return [m.params[-1] for m in found]


def every_request(target: str, ids: list[str]) -> list[str]:
    """A CHATHISTORY request of each subcommand, with references to real messages."""
    return [
        f"CHATHISTORY LATEST {target} * 10",
        f"CHATHISTORY LATEST {target} msgid={ids[0]} 10",
        f"CHATHISTORY BEFORE {target} msgid={ids[-1]} 10",
        f"CHATHISTORY AFTER {target} msgid={ids[0]} 10",
        f"CHATHISTORY AROUND {target} msgid={ids[1]} 10",
        f"CHATHISTORY BETWEEN {target} msgid={ids[0]} msgid={ids[-1]} 10",
        f"CHATHISTORY AFTER {target} timestamp=2000-01-01T00:00:00.000Z 10",
    ]


async def closed_like_nowhere(client: LineClient, target: str, ids: list[str]) -> None:
    """Every subcommand on `target` is refused exactly as on a channel that does not exist."""
    for line in every_request(target, ids):
        sub = line.split()[1]
        params = await refused(client, line)
        nowhere = await refused(client, line.replace(f" {target} ", " #nowhere "))
        assert params == ["CHATHISTORY", "INVALID_TARGET", sub, target, "Messages could not be retrieved"], line
        assert params == [target if p == "#nowhere" else p for p in nowhere], (line, nowhere)


async def test_a_secret_channel_is_closed_to_outsiders_exactly_as_a_missing_one(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *HISTORY, "echo-message", channels=("#secret",))
    mallory = await capped(server, "mallory", *HISTORY, "draft/event-playback")
    clients.extend([alice, mallory])
    alice.send("MODE #secret +s")
    await alice.expect("MODE")
    ids = [m.tags["msgid"] for m in await talk(alice, "#secret", "one", "two", "three")]
    assert texts(await history(alice, "CHATHISTORY LATEST #secret * 10")) == ["one", "two", "three"]
    await closed_like_nowhere(mallory, "#secret", ids)
    await closed_like_nowhere(mallory, "#SECRET", ids)  # another case of the same name


async def test_invite_only_keyed_and_banning_channels_are_closed_to_those_outside(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *HISTORY, "echo-message", channels=("#inv", "#key", "#ban", "#open"))
    mallory = await capped(server, "mallory", *HISTORY)
    clients.extend([alice, mallory])
    for line in ("MODE #inv +i", "MODE #key +k sesame", "MODE #ban +b mallory!*@*"):
        alice.send(line)
        await alice.expect("MODE")
    ids = {}
    for channel in ("#inv", "#key", "#ban", "#open"):
        ids[channel] = [m.tags["msgid"] for m in await talk(alice, channel, f"{channel} one", f"{channel} two")]
    for channel in ("#inv", "#key", "#ban"):
        await closed_like_nowhere(mallory, channel, ids[channel])
    # an invitation lets one in, but does not open the history before one is in
    alice.send("INVITE mallory #inv")
    await mallory.expect("INVITE")
    await refused(mallory, "CHATHISTORY LATEST #inv * 10")
    # a public channel: anyone who could walk in may read it (docs/history.md)
    assert texts(await history(mallory, "CHATHISTORY LATEST #open * 10")) == ["#open one", "#open two"]
    # and once it is closed, it is closed to them
    alice.send("MODE #open +i")
    await alice.expect("MODE")
    await closed_like_nowhere(mallory, "#open", ids["#open"])


async def test_leaving_or_being_kicked_from_a_secret_channel_ends_reading(stored, clients) -> None:
    server = await stored()
    alice = await capped(server, "alice", *HISTORY, "echo-message", channels=("#secret", "#open"))
    bob = await capped(server, "bob", *HISTORY, channels=("#secret", "#open"))
    clients.extend([alice, bob])
    alice.send("MODE #secret +s")
    await alice.expect("MODE")
    ids = [m.tags["msgid"] for m in await talk(alice, "#secret", "s1", "s2")]
    await talk(alice, "#open", "o1")
    assert texts(await history(bob, "CHATHISTORY LATEST #secret * 10")) == ["s1", "s2"]
    bob.send("PART #secret")
    await bob.expect("PART")
    await closed_like_nowhere(bob, "#secret", ids)
    await bob.join("#secret")
    assert texts(await history(bob, "CHATHISTORY LATEST #secret * 10")) == ["s1", "s2"]
    alice.send("KICK #secret bob :out")
    await bob.expect("KICK")
    await closed_like_nowhere(bob, "#secret", ids)
    bob.send("PART #open")  # a public channel stays readable after leaving it
    await bob.expect("PART")
    assert texts(await history(bob, "CHATHISTORY LATEST #open * 10")) == ["o1"]


async def test_targets_lists_only_what_the_asker_may_see(stored, clients) -> None:
    server = await stored()
    alice = await account(server, "alice", *HISTORY, "echo-message", channels=("#secret", "#open"))
    bob = await account(server, "bob", *HISTORY)
    carol = await account(server, "carol", *HISTORY)
    anon = await capped(server, "anon", *HISTORY, channels=("#open",))
    clients.extend([alice, bob, carol, anon])
    alice.send("MODE #secret +s")
    await alice.expect("MODE")
    await talk(alice, "#secret", "hidden")
    await talk(alice, "#open", "public")
    await talk(alice, "bob", "between alice and bob")

    async def targets(client: LineClient) -> list[str]:
        await sync(client)
        client.send(f"CHATHISTORY TARGETS {EVER} 50")
        got = await sync(client)
        assert commands(got)[0] == "BATCH" and commands(got)[-1] == "BATCH", got
        assert set(commands(got[1:-1])) <= {"CHATHISTORY"}, got
        return sorted(m.params[1] for m in got[1:-1])

    assert await targets(alice) == ["#open", "#secret", "bob"]
    assert await targets(bob) == ["alice"]  # not the channels he is not in
    assert await targets(carol) == []  # nobody else's conversations, no secret channel
    assert await targets(anon) == ["#open"]  # without an account: no private conversation
    await carol.join("#open")
    assert await targets(carol) == ["#open"]
    alice.send("PART #secret")
    await alice.expect("PART")
    alice.send("PRIVMSG NickServ :LOGOUT")
    await alice.expect("901")
    assert await targets(alice) == ["#open"]  # neither the channel left nor, logged out, the conversation


async def test_private_conversations_are_read_by_their_two_accounts_only(stored, clients) -> None:
    server = await stored()
    alice = await account(server, "alice", *HISTORY, "echo-message")
    bob = await account(server, "bob", *HISTORY, "echo-message")
    carol = await account(server, "carol", *HISTORY)
    anon = await capped(server, "anon", *HISTORY)
    clients.extend([alice, bob, carol, anon])
    ids = [m.tags["msgid"] for m in await talk(alice, "bob", "a1", "a2")]
    ids += [m.tags["msgid"] for m in await talk(bob, "alice", "b1")]
    assert texts(await history(alice, "CHATHISTORY LATEST bob * 10")) == ["a1", "a2", "b1"]
    assert texts(await history(bob, "CHATHISTORY LATEST alice * 10")) == ["a1", "a2", "b1"]
    # carol names either side: that is her own (empty) conversation with them, whatever the references
    for other in ("alice", "bob", "ALICE"):
        for line in every_request(other, ids):
            assert await history(carol, line) == [], line
    for other in ("alice", "bob", "carol"):  # without an account, none at all
        for line in every_request(other, ids):
            assert (await refused(anon, line))[:2] == ["CHATHISTORY", "INVALID_TARGET"], line


async def test_a_nick_changing_hands_does_not_open_the_old_conversation(stored, clients) -> None:
    server = await stored()
    alice = await account(server, "alice", *HISTORY, "echo-message")
    bob = await account(server, "bob", *HISTORY)
    clients.extend([alice, bob])
    await talk(alice, "bob", "just for bob")
    alice.send("NICK alicia")
    await alice.expect("NICK")
    mallory = await account(server, "mallory", *HISTORY)
    clients.append(mallory)
    mallory.send("NICK alice")
    await mallory.expect("NICK")
    # "alice" is now mallory: bob's conversation with her is another one, empty
    assert await history(bob, "CHATHISTORY LATEST alice * 10") == []
    assert texts(await history(bob, "CHATHISTORY LATEST alicia * 10")) == ["just for bob"]
    assert await history(mallory, "CHATHISTORY LATEST bob * 10") == []
    mallory.send("PRIVMSG NickServ :LOGOUT")
    await mallory.expect("901")
    await refused(mallory, "CHATHISTORY LATEST bob * 10")  # logged out: nothing private
    await refused(bob, "CHATHISTORY LATEST alice * 10")  # a nick without an account: no conversation


async def test_search_never_reaches_past_what_the_asker_may_read(stored, clients) -> None:
    server = await stored()
    caps = (*HISTORY, SEARCH, "echo-message")
    alice = await account(server, "alice", *caps, channels=("#secret", "#open", "#inv"))
    bob = await account(server, "bob", *caps)
    carol = await account(server, "carol", *caps)
    anon = await capped(server, "anon", *caps)
    clients.extend([alice, bob, carol, anon])
    for line in ("MODE #secret +s", "MODE #inv +i"):
        alice.send(line)
        await alice.expect("MODE")
    for where in ("#secret", "#open", "#inv", "bob"):
        await talk(alice, where, f"pineapple in {where}")
    await talk(carol, "bob", "pineapple from carol")

    async def search(client: LineClient, line: str) -> list[str]:
        await sync(client)
        client.send(line)
        got = await sync(client)
        assert commands(got)[0] == "BATCH" and got[0].params[1] == SEARCH, got
        return texts([m for m in got if m.command != "BATCH"])

    assert await search(alice, "SEARCH in=#secret;text=pineapple") == ["pineapple in #secret"]
    assert (await refused(carol, "SEARCH text=pineapple"))[:3] == ["SEARCH", "INVALID_PARAMS", "in"]
    for where in ("#secret", "#inv", "#nowhere"):
        for attributes in ("text=pineapple", "", "from=alice"):
            params = await refused(carol, f"SEARCH in={where};{attributes}".rstrip(";"))
            assert params == ["SEARCH", "INVALID_PARAMS", "in", "You cannot search there"], where
    assert await search(carol, "SEARCH in=#open;text=pineapple") == ["pineapple in #open"]
    assert await search(carol, "SEARCH in=bob;text=pineapple") == ["pineapple from carol"]
    assert await search(carol, "SEARCH in=alice;text=pineapple") == []
    assert await search(carol, "SEARCH in=bob") == ["pineapple from carol"]  # no text: still only hers
    assert await search(carol, "SEARCH in=bob;from=alice") == []
    assert await search(bob, "SEARCH in=alice;text=pineapple") == ["pineapple in bob"]
    for where in ("bob", "alice", "anon"):
        assert (await refused(anon, f"SEARCH in={where};text=pineapple"))[:3] == ["SEARCH", "INVALID_PARAMS", "in"]


async def test_redact_only_what_and_where_one_may(stored, clients) -> None:
    server = await stored()
    caps = (*HISTORY, REDACTION, "echo-message")
    alice = await account(server, "alice", *caps, channels=("#a", "#b"))
    bob = await account(server, "bob", *caps)
    carol = await account(server, "carol", *caps)
    anon = await capped(server, "anon", *caps)
    clients.extend([alice, bob, carol, anon])
    alice.send("MODE #b +s")
    await alice.expect("MODE")
    for client in (bob, carol):
        await client.join("#a")
    in_b = (await talk(alice, "#b", "only in b"))[0].tags["msgid"]
    bob_in_a = (await talk(bob, "#a", "bob in a"))[0].tags["msgid"]
    to_bob = (await talk(alice, "bob", "alice to bob"))[0].tags["msgid"]
    # bob, op of #c (he made it), names #b's message through #c: it is not there
    await bob.join("#c")
    await talk(bob, "#c", "bob in c")
    params = await refused(bob, f"REDACT #c {in_b}")
    assert params[:4] == ["REDACT", "UNKNOWN_MSGID", "#c", in_b]
    # a member without rank cannot delete another's message
    params = await refused(carol, f"REDACT #a {bob_in_a}")
    assert params[:4] == ["REDACT", "REDACT_FORBIDDEN", "#a", bob_in_a]
    # outside a secret channel: refused as anywhere that does not exist
    for client in (bob, carol):
        assert await refused(client, f"REDACT #b {in_b}") == [
            "REDACT", "INVALID_TARGET", "#b", "You cannot delete messages there",
        ]  # fmt: skip
        assert await refused(client, f"REDACT #nowhere {in_b}") == [
            "REDACT", "INVALID_TARGET", "#nowhere", "You cannot delete messages there",
        ]  # fmt: skip
    # someone else's private conversation: carol's own with either side holds no such message
    for other in ("alice", "bob"):
        assert (await refused(carol, f"REDACT {other} {to_bob}"))[:2] == ["REDACT", "UNKNOWN_MSGID"]
    # the other side of a conversation may not delete what was said to them
    assert (await refused(bob, f"REDACT alice {to_bob}"))[:2] == ["REDACT", "REDACT_FORBIDDEN"]
    for other in ("alice", "bob"):  # without an account: no private conversation at all
        assert (await refused(anon, f"REDACT {other} {to_bob}"))[:2] == ["REDACT", "INVALID_TARGET"]
    assert texts(await history(alice, "CHATHISTORY LATEST #b * 10")) == ["only in b"]
    assert texts(await history(bob, "CHATHISTORY LATEST #a * 10")) == ["bob in a"]
    assert texts(await history(bob, "CHATHISTORY LATEST alice * 10")) == ["alice to bob"]
    assert texts(await history(bob, "CHATHISTORY LATEST #c * 10")) == ["bob in c"]
    # and a REDACT that is allowed reaches none of those outside
    alice.send(f"REDACT #b {in_b}")
    assert (await alice.expect("REDACT")).params == ["#b", in_b]
    for client in (bob, carol, anon):
        assert "REDACT" not in commands(await sync(client))
    assert await history(alice, "CHATHISTORY LATEST #b * 10") == []


async def test_markread_on_a_target_one_may_not_read_reveals_nothing(stored, clients) -> None:
    server = await stored()
    caps = (*HISTORY, MARKER, "echo-message")
    alice = await account(server, "alice", *caps, channels=("#secret",))
    mallory = await account(server, "mallory", *caps)
    anon = await capped(server, "anon", *caps)
    clients.extend([alice, mallory, anon])
    alice.send("MODE #secret +s")
    await alice.expect("MODE")
    stamp = (await talk(alice, "#secret", "read me"))[0].tags["time"]
    alice.send(f"MARKREAD #secret timestamp={stamp}")
    assert (await alice.expect("MARKREAD")).params == ["#secret", f"timestamp={stamp}"]
    for client in (mallory, anon):
        for tail in ("", f" timestamp={stamp}", " *"):
            secret = await refused(client, f"MARKREAD #secret{tail}")
            nowhere = await refused(client, f"MARKREAD #nowhere{tail}")
            assert secret == ["MARKREAD", "INVALID_PARAMS", "#secret", "Invalid target"]
            assert nowhere == ["MARKREAD", "INVALID_PARAMS", "#nowhere", "Invalid target"]
    # mallory's attempt moved nothing: alice's marker stands
    alice.send("MARKREAD #secret")
    assert (await alice.expect("MARKREAD")).params == ["#secret", f"timestamp={stamp}"]
    assert (await refused(anon, "MARKREAD alice"))[:2] == ["MARKREAD", "INVALID_PARAMS"]  # no account: no DM
    # mallory's marker of her conversation with alice is hers, not alice's
    mallory.send("MARKREAD alice")
    assert (await mallory.expect("MARKREAD")).params == ["alice", "*"]


async def test_the_replay_on_join_holds_only_that_channels_lines(stored, clients) -> None:
    server = await stored("history.autoreplay_lines=20")
    alice = await account(server, "alice", "echo-message", channels=("#a", "#secret"))
    bob = await account(server, "bob")
    clients.extend([alice, bob])
    alice.send("MODE #secret +s")
    await alice.expect("MODE")
    await talk(alice, "#secret", "secret line")
    await talk(alice, "#a", "line of a")
    await talk(alice, "bob", "private line")
    await talk(alice, "#a", "another line of a")
    await sync(bob)
    plain = await connected(server, "carol")
    batched = await capped(server, "dave", "batch", "server-time")
    clients.extend([plain, batched])
    for client in (plain, batched):
        client.send("JOIN #a")
        await client.expect("366")
        got = await sync(client)
        lines = [m.params for m in got if m.command == "PRIVMSG"]
        if client is plain:  # without batch: each text led by when it was said
            assert all(STAMP.match(text) for _, text in lines), got
            lines = [[target, unstamped(text)] for target, text in lines]
        assert lines == [["#a", "line of a"], ["#a", "another line of a"]], got


async def test_an_account_with_capitals_takes_its_private_history_away_when_dropped(stored, clients) -> None:
    # Conversation keys hold the names as registered (`dm:Alice bob`); DROP matched them
    # folded, which PostgreSQL's LIKE does not do: the next `Alice` inherited the old one's.
    server = await stored()
    first = await account(server, "Alice", *HISTORY)
    bob = await account(server, "bob", *HISTORY)
    clients.extend([first, bob])
    first.send("PRIVMSG bob :private to bob")
    await bob.expect("PRIVMSG", "bob")
    first.send("PRIVMSG NickServ :DROP")
    await first.expect("NOTICE")
    code = (await first.expect("NOTICE")).params[-1].split()[-1]
    first.send(f"PRIVMSG NickServ :DROP Alice {code}")
    await first.expect("901")
    await first.close()
    clients.remove(first)
    second = await account(server, "Alice", *HISTORY)
    clients.append(second)
    assert await history(second, "CHATHISTORY LATEST bob * 10") == []
    assert await history(bob, "CHATHISTORY LATEST Alice * 10") == []


async def test_a_conversation_with_an_offline_account_with_capitals_is_found_by_its_name(stored, clients) -> None:
    # Offline, the nick names the account: its key must be the one the messages were kept under.
    server = await stored()
    bob = await account(server, "Bob", *HISTORY, REDACTION, "echo-message")
    carol = await account(server, "carol", *HISTORY, REDACTION)
    clients.extend([bob, carol])
    carol.send("PRIVMSG Bob :hello Bob")
    await bob.expect("PRIVMSG", "Bob")
    bob.send("PRIVMSG carol :hi carol")
    echo = await bob.expect("PRIVMSG", "carol")
    await carol.expect("PRIVMSG", "carol")
    bob.send(f"REDACT carol {echo.tags['msgid']}")
    assert (await carol.expect("REDACT")).params[1] == echo.tags["msgid"]  # the other side hears it too
    bob.send("QUIT")
    await bob.closed()
    clients.remove(bob)
    assert texts(await history(carol, "CHATHISTORY LATEST Bob * 10")) == ["hello Bob"]


async def test_a_closed_channel_takes_its_history_along_when_its_name_is_freed(stored, clients) -> None:
    # Whoever creates a free name is the new channel's op and member: the history of a
    # secret, invite-only or keyed channel that emptied, or was renamed away, must not be
    # there for them. An open channel's stays for the next one of its name.
    server = await stored()
    alice = await capped(server, "alice", *HISTORY, "echo-message", channels=("#secret", "#keyed", "#moving", "#open"))
    mallory = await capped(server, "mallory", *HISTORY)
    clients.extend([alice, mallory])
    for channel, mode in (("#secret", "+s"), ("#keyed", "+k door"), ("#moving", "+i")):
        alice.send(f"MODE {channel} {mode}")
        await alice.expect("MODE", channel)
    for channel in ("#secret", "#keyed", "#moving", "#open"):
        await talk(alice, channel, f"the launch codes of {channel}")
    alice.send("RENAME #moving #moved :elsewhere")
    await alice.expect(lambda m: m.command in ("RENAME", "JOIN") and "#moved" in m.params)
    for channel in ("#secret", "#keyed", "#open"):
        alice.send(f"PART {channel}")
        await alice.expect("PART", channel)
    for channel in ("#secret", "#keyed", "#moving"):
        await mallory.join(channel)
        got = await history(mallory, f"CHATHISTORY LATEST {channel} * 10")
        assert [m for m in got if m.command == "PRIVMSG"] == [], channel
    await mallory.join("#open")
    assert texts(await history(mallory, "CHATHISTORY LATEST #open * 10")) == ["the launch codes of #open"]
    assert texts(await history(alice, "CHATHISTORY LATEST #moved * 10")) == []  # stayed with the old name, gone


async def test_a_closed_unregistered_channel_ends_with_the_server_and_its_history_with_it(stored, clients) -> None:
    # Unregistered channels do not outlive a restart; a closed one's history must not be
    # there for whoever creates the name first afterwards. Open and registered ones keep theirs.
    server = await stored()
    alice = await registered_account(server, "alice", "correct-horse", "#secret", "#open", "#kept")
    alice.send("PRIVMSG ChanServ :REGISTER #kept")
    await alice.expect(lambda m: m.command == "NOTICE" and "#kept" in m.params[-1])
    for channel in ("#secret", "#kept"):
        alice.send(f"MODE {channel} +s")
    for channel in ("#secret", "#open", "#kept"):
        alice.send(f"PRIVMSG {channel} :words of {channel}")
    await sync(alice)
    await server.stop()
    again = await stored()
    mallory = await capped(again, "mallory", *HISTORY)
    clients.append(mallory)
    for channel in ("#secret", "#open"):
        await mallory.join(channel)
    assert texts(await history(mallory, "CHATHISTORY LATEST #secret * 10")) == []
    assert texts(await history(mallory, "CHATHISTORY LATEST #open * 10")) == ["words of #open"]
    founder = await LineClient.connect(again)
    clients.append(founder)
    await founder.register("alice")
    founder.send("CAP REQ :" + " ".join(HISTORY))
    await founder.expect("CAP")
    founder.send("PRIVMSG NickServ :IDENTIFY correct-horse")
    await founder.expect("900")
    await founder.join("#kept")
    assert texts(await history(founder, "CHATHISTORY LATEST #kept * 10")) == ["words of #kept"]
