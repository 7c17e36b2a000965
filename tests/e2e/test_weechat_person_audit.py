"""A WeeChat 3.8 user's evening on hubbub, replayed over raw sockets.

An audit drove WeeChat (and a second WeeChat as the other person) in tmux against a
server on a SQLite file: NickServ REGISTER, SASL PLAIN, SCRAM-SHA-256 and a wrong
password; joins, talk, leaving and coming back (the replay on join), topics and NAMES
prefixes; WHOIS, AWAY, NICK, LIST, TOPIC, MODE; ChanServ REGISTER, KNOCK on +i, INVITE,
+j, +K, +f; nick enforcement; a stop (SIGINT) and a start on the same database with
WeeChat reconnecting and rejoining by itself. The flows that were right are kept as
transcripts of what WeeChat sends; what a person saw go wrong is marked xfail.

WeeChat registers with `CAP LS 302`, `NICK` and `USER` at once, asks for the
capabilities below (not `batch`, not `draft/chathistory`: it gets the replay on join,
and shows each line with its `time` tag), logs in with SASL during registration, and
sends `MODE #chan` after each JOIN.
"""

from __future__ import annotations

import base64
from pathlib import Path

from scramp import ScramClient

from hubbub.app import Runtime
from hubbub.irc.message import Message
from tests.e2e_accounts.support import NS, registered_account
from tests.helpers import STAMP, LineClient, connected, start_server, sync, unstamped

CS = "ChanServ!ChanServ@services"
WEECHAT_CAPS = ("account-notify away-notify cap-notify chghost extended-join invite-notify message-tags "
                "multi-prefix server-time setname userhost-in-names")  # fmt: skip
SASL_ENDS = ("903", "904", "905", "906", "907")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def unb64(data: str) -> str:
    return base64.b64decode(data).decode()


async def weechat(
    runtime: Runtime, nick: str, login: tuple[str, str] | None = None, mechanism: str = "PLAIN"
) -> tuple[LineClient, Message | None]:
    """WeeChat's registration: CAP LS 302, NICK and USER at once, CAP REQ (with `sasl`
    when it has a login), AUTHENTICATE, CAP END; the client, past the MOTD, and the
    numeric that ended SASL (None without a login)."""
    client = await LineClient.connect(runtime)
    client.send("CAP LS 302")
    client.send(f"NICK {nick}")
    client.send(f"USER {nick} 0 * :{nick}")
    while (await client.expect(lambda m: m.command == "CAP" and m.params[1] == "LS")).params[2] == "*":
        pass
    client.send(f"CAP REQ :{WEECHAT_CAPS}{' sasl' if login else ''}")
    await client.expect(lambda m: m.command == "CAP" and m.params[1] == "ACK")
    result = None
    if login is not None:
        account, password = login
        client.send(f"AUTHENTICATE {mechanism}")
        await client.expect("AUTHENTICATE", "+")
        if mechanism == "PLAIN":
            client.send("AUTHENTICATE " + b64(f"{account}\0{account}\0{password}"))
        else:
            exchange = ScramClient(["SCRAM-SHA-256"], account, password)
            client.send("AUTHENTICATE " + b64(exchange.get_client_first()))
            challenge = await client.expect("AUTHENTICATE")
            exchange.set_server_first(unb64(challenge.params[0]))
            client.send("AUTHENTICATE " + b64(exchange.get_client_final()))
            final = await client.expect("AUTHENTICATE")
            exchange.set_server_final(unb64(final.params[0]))
            client.send("AUTHENTICATE +")
        result = await client.expect(lambda m: m.command in SASL_ENDS)
    client.send("CAP END")
    await client.expect(lambda m: m.command in ("376", "422"))
    client.nick = nick
    return client, result


async def join(client: LineClient, channel: str) -> list[Message]:
    """JOIN as WeeChat does it (then `MODE #chan`); everything up to the 324, which comes
    after the NAMES and the replay."""
    client.send(f"JOIN {channel}")
    client.send(f"MODE {channel}")
    return await client.collect_until(lambda m: m.command == "324")


def privmsgs(messages: list[Message]) -> list[str]:
    return [m.params[-1] for m in messages if m.command == "PRIVMSG"]


def replayed(messages: list[Message]) -> list[str]:
    """The texts of the PRIVMSGs a join replayed to a client without `batch`: as said to a
    client with server-time (WeeChat: its time tag says when), led by when they were said
    to one without (server/replay.py `_stamped`)."""
    texts = []
    for m in messages:
        if m.command == "PRIVMSG":
            stamp = STAMP.match(m.params[-1])
            assert (stamp is None) == ("time" in m.tags), m
            texts.append(unstamped(m.params[-1]))
    return texts


async def notice_from(client: LineClient, source: str) -> str:
    return (await client.expect(lambda m: m.command == "NOTICE" and m.source == source)).params[-1]


# -- what was right ---------------------------------------------------------------------


async def test_register_then_sasl_plain_and_scram_log_in(server, clients) -> None:
    """`/msg NickServ REGISTER`, then WeeChat with sasl_mechanism plain, then
    scram_sha256: 903 each time, `+r` after the welcome, WHOIS says the account (330)."""
    alice = await registered_account(server, "alice", "alicepass1")
    await alice.close()
    bob = await connected(server, "bob")
    clients.append(bob)
    for mechanism in ("PLAIN", "SCRAM-SHA-256"):
        client, result = await weechat(server, "alice", ("alice", "alicepass1"), mechanism)
        clients.append(client)
        assert result is not None and result.command == "903"
        before = [m.command for m in client.received]
        assert "900" in before and before.index("900") < before.index("001")
        assert (await client.expect("MODE", "alice")).params[1] == "+r"
        bob.send("WHOIS alice")
        whois = await bob.collect_until("318")
        assert [m.params[1:3] for m in whois if m.command == "330"] == [["alice", "alice"]]
        client.send("QUIT :reconnecting")
        await client.closed()


async def test_a_wrong_sasl_password_is_904_and_the_connection_is_usable(make_server, clients) -> None:
    """WeeChat with sasl_fail continue: 904 says why, registration completes, NickServ
    says the nick is registered and how long is left; IDENTIFY then logs in."""
    server = await make_server("accounts.enforce_after=30")
    alice = await registered_account(server, "alice", "alicepass1")
    await alice.close()
    client, result = await weechat(server, "alice", ("alice", "wrong-password"))
    clients.append(client)
    assert result is not None and result.command == "904"
    assert result.params[-1] == "SASL authentication failed: invalid account credentials"
    warning = await notice_from(client, NS)
    assert warning.startswith("This nickname is registered. Log in to it within 30 seconds")
    client.send("PRIVMSG NickServ :IDENTIFY alice alicepass1")
    assert (await client.expect("900")).params[2] == "alice"


async def test_coming_back_replays_only_the_missed_lines_with_their_times(server, clients) -> None:
    """Part and join again: the lines said meanwhile, after NAMES, in order, each with
    the time the others saw live; none of the lines seen before leaving."""
    alice, _ = await weechat(server, "alice")
    bob, _ = await weechat(server, "bob")
    watcher, _ = await weechat(server, "watcher")
    clients.extend([alice, bob, watcher])
    for client in (alice, bob, watcher):
        await join(client, "#tea")
    bob.send("PRIVMSG #tea :hello alice, line one")
    await alice.expect("PRIVMSG", "#tea")
    alice.send("PART #tea")
    await alice.expect("PART", "#tea")
    live = []
    for text in ("said while alice away A", "said while alice away B"):
        bob.send(f"PRIVMSG #tea :{text}")
        live.append((await watcher.expect("PRIVMSG", "#tea", text)).tags["time"])
    answer = await join(alice, "#tea")
    names_end = next(i for i, m in enumerate(answer) if m.command == "366")
    lines = [m for m in answer if m.command == "PRIVMSG"]
    # without batch, with server-time: the texts as said, the time tags saying when
    assert [m.params[-1] for m in lines] == ["said while alice away A", "said while alice away B"]
    assert [m.tags.get("time") for m in lines] == live
    assert all(answer.index(m) > names_end for m in lines)
    assert "batch" not in lines[0].tags  # WeeChat asked for no batch


async def test_names_shows_every_rank_with_and_without_multi_prefix(server, clients) -> None:
    """A founder (ChanServ REGISTER) `~`, then `&`, `@`, `%`, `+`: WeeChat's nicklist."""
    owner = await registered_account(server, "owner", "ownerpass1", "#tea")
    clients.append(owner)
    assert await notice_from_cs(owner, "REGISTER #tea") == "Channel #tea successfully registered"
    others = [await connected(server, nick, "#tea") for nick in ("prot", "oper", "half", "voice", "plain")]
    clients.extend(others)
    owner.send("MODE #tea +aohv prot oper half voice")
    await owner.expect("MODE", "#tea")
    plain = others[-1]
    plain.send("NAMES #tea")
    assert (await plain.expect("353")).params[-1].split() == ["~owner", "&prot", "@oper", "%half", "+voice", "plain"]
    client, _ = await weechat(server, "viewer")
    clients.append(client)
    answer = await join(client, "#tea")
    names = next(m for m in answer if m.command == "353").params[-1].split()
    assert names[0] == "~@owner!~u@127.0.0.1"  # multi-prefix and userhost-in-names
    assert "&prot!~u@127.0.0.1" in names and "+voice!~u@127.0.0.1" in names


async def notice_from_cs(client: LineClient, line: str) -> str:
    client.send(f"PRIVMSG ChanServ :{line}")
    return await notice_from(client, CS)


async def test_away_is_told_to_channel_peers_and_shown_in_whois(server, clients) -> None:
    """`/away gone for tea`: the others (away-notify) see it, a message gets 301, WHOIS
    shows it with the account; `/away` again: back."""
    alice = await registered_account(server, "alice", "alicepass1", "#tea")
    bob, _ = await weechat(server, "bob")
    clients.extend([alice, bob])
    await join(bob, "#tea")
    alice.send("AWAY :gone for tea")
    await alice.expect("306")
    assert (await bob.expect("AWAY")).params == ["gone for tea"]
    bob.send("PRIVMSG alice :are you there?")
    assert (await bob.expect("301")).params[1:] == ["alice", "gone for tea"]
    bob.send("WHOIS alice")
    whois = {m.command: m.params for m in await bob.collect_until("318")}
    assert whois["301"][-1] == "gone for tea" and whois["330"][2] == "alice"
    alice.send("AWAY")
    await alice.expect("305")
    back = await bob.expect("AWAY")
    assert back.source.startswith("alice!") and back.params == []


async def test_knock_on_an_invite_only_channel_then_invite(server, clients) -> None:
    """473, KNOCK (711 to the knocker, 710 to the op), INVITE (341, INVITE), JOIN."""
    alice, _ = await weechat(server, "alice")
    bob, _ = await weechat(server, "bob")
    clients.extend([alice, bob])
    await join(alice, "#ops")
    alice.send("MODE #ops +i")
    await alice.expect("MODE", "#ops", "+i")
    bob.send("JOIN #ops")
    assert (await bob.expect("473")).params[1] == "#ops"
    bob.send("KNOCK #ops :let me in please")
    await bob.expect("711", "bob", "#ops")
    knock = await alice.expect("710")
    assert knock.params[2:] == ["bob!~bob@127.0.0.1", "has asked for an invite: let me in please"]
    alice.send("INVITE bob #ops")
    await alice.expect("341", "alice", "bob", "#ops")
    assert (await bob.expect("INVITE")).params == ["bob", "#ops"]
    answer = await join(bob, "#ops")
    assert answer[0].command == "JOIN" and answer[0].params[0] == "#ops"


async def test_join_flood_closes_the_channel_at_the_second_of_three_quick_joins(server, clients) -> None:
    """`/mode #c +j 2:10` and three joins at once: the members are told, the third is 437."""
    op, _ = await weechat(server, "op")
    clients.append(op)
    await join(op, "#c")
    op.send("MODE #c +j 2:10")
    await op.expect("MODE", "#c", "+j")
    joiners = [await connected(server, nick) for nick in ("one", "two", "three")]
    clients.extend(joiners)
    for client in joiners[:2]:
        await client.join("#c")
    closed = await op.expect("NOTICE", "#c")
    assert closed.params[-1] == "This channel is closed to new joins for 60 seconds: 2 joins in 10 seconds (+j)"
    joiners[2].send("JOIN #c")
    refused = await joiners[2].expect("437")
    assert refused.params[-1].startswith("Cannot join channel (+j): too many joins at once")


async def test_no_knock_and_the_message_flood_rule(server, clients) -> None:
    """+K: KNOCK is 480. +f 3:10: the fourth line in ten seconds is not relayed and its
    sender is kicked by the server, with the rule as the reason."""
    alice, _ = await weechat(server, "alice")
    bob, _ = await weechat(server, "bob")
    clients.extend([alice, bob])
    await join(alice, "#ops")
    alice.send("MODE #ops +iK")
    await alice.expect("MODE", "#ops")
    bob.send("KNOCK #ops :again")
    assert (await bob.expect("480")).params[1:] == ["#ops", "Cannot KNOCK on channel (+K)"]
    alice.send("MODE #ops -iK+f 3:10")
    await alice.expect("MODE", "#ops")
    await join(bob, "#ops")
    for i in range(1, 5):
        bob.send(f"PRIVMSG #ops :flood line {i}")
    kick = await alice.expect("KICK", "#ops", "bob")
    assert kick.source == "hubbub.local"
    assert kick.params[-1] == "Channel flood triggered (3 lines in 10 seconds)"
    assert privmsgs(alice.received) == ["flood line 1", "flood line 2", "flood line 3"]


async def test_a_squatter_on_a_registered_nick_is_told_then_renamed(make_server, clients) -> None:
    """The other person takes the registered nick without logging in: NickServ says how
    long is left, then the server renames it to a guest nick and says why."""
    server = await make_server("accounts.enforce_after=0.5")
    alice = await registered_account(server, "alice", "alicepass1")
    await alice.close()
    bob, _ = await weechat(server, "bob")
    clients.append(bob)
    bob.send("NICK alice")
    await bob.expect("NICK", "alice")
    warning = await notice_from(bob, NS)
    assert warning.startswith("This nickname is registered. Log in to it within ")
    renamed = await bob.expect("NICK")
    guest = renamed.params[0]
    assert renamed.source.startswith("alice!") and guest.startswith("Guest")
    told = await notice_from(bob, NS)
    assert told == f"You are now {guest}: the nickname alice is registered, and you did not log in to it."


async def test_a_restart_keeps_the_account_the_founder_and_the_history(tmp_path: Path) -> None:
    """Stop the server with WeeChat connected and start it on the same file: SASL logs in,
    the registered channel's founder gets `~` on rejoin, topic and ban are kept, and the
    history is there to replay (to a newcomer)."""
    db = f"store.db='{tmp_path / 'hubbub.db'}'"
    first = await start_server(db)
    try:
        alice, _ = await weechat(first, "alice")
        alice.send("PRIVMSG NickServ :REGISTER alicepass1")
        await alice.expect("900")
        await join(alice, "#tea")
        assert await notice_from_cs(alice, "REGISTER #tea") == "Channel #tea successfully registered"
        alice.send("TOPIC #tea :Tea time")
        alice.send("MODE #tea +b baddie!*@*")
        alice.send("PRIVMSG #tea :before the restart")
        await sync(alice)
    finally:
        await first.stop()
    assert any(m.command == "ERROR" and "Server shutting down" in m.params[-1] for m in await _rest(alice))
    again = await start_server(db)
    try:
        alice, result = await weechat(again, "alice", ("alice", "alicepass1"))
        newcomer, _ = await weechat(again, "newcomer")
        try:
            assert result is not None and result.command == "903"
            answer = await join(alice, "#tea")
            assert any(m.command == "MODE" and m.params == ["#tea", "+q", "alice"] for m in answer)
            assert next(m for m in answer if m.command == "332").params[-1] == "Tea time"
            alice.send("MODE #tea b")
            assert (await alice.expect("367")).params[2] == "baddie!*@*"
            assert replayed(await join(newcomer, "#tea")) == ["before the restart"]
        finally:
            await alice.close()
            await newcomer.close()
    finally:
        await again.stop()


async def _rest(client: LineClient) -> list[Message]:
    """What the server sent until it closed the connection."""
    start = len(client.received)
    while await client.read_message() is not None:
        pass
    await client.close()
    return client.received[start:]


# -- what a person saw go wrong --------------------------------------------------------


async def test_a_restart_does_not_replay_what_the_account_saw_live(tmp_path: Path) -> None:
    """WeeChat is in #tea, logged in, when the server stops; it reconnects and rejoins by
    itself. Before a restart, such a rejoin replays only what was said meanwhile (nothing
    here); after one, the channel's last lines come again, already on the screen, with
    their old times, below the new JOIN."""
    db = f"store.db='{tmp_path / 'hubbub.db'}'"
    first = await start_server(db)
    try:
        alice = await registered_account(first, "alice", "alicepass1")
        await alice.close()
        alice, _ = await weechat(first, "alice", ("alice", "alicepass1"))
        bob, _ = await weechat(first, "bob")
        await join(alice, "#tea")
        await join(bob, "#tea")
        bob.send("PRIVMSG #tea :hello alice, seen live")
        await alice.expect("PRIVMSG", "#tea", "hello alice, seen live")
        await sync(bob)
    finally:
        await first.stop()
    await _rest(alice)
    await _rest(bob)
    again = await start_server(db)
    try:
        alice, _ = await weechat(again, "alice", ("alice", "alicepass1"))
        try:
            assert privmsgs(await join(alice, "#tea")) == []
        finally:
            await alice.close()
    finally:
        await again.stop()
