"""What real IRC clients (irssi 1.4, WeeChat 3.8, ii 1.8) did against hubbub, replayed
over raw sockets, line for line as those clients send them.

An audit drove the three clients by hand in tmux against a server on a SQLite file:
registration, joins, talk, nick changes, TOPIC, LIST, WHOIS, private messages, KICK and
bans, NickServ REGISTER and SASL PLAIN/SCRAM logins, ChanServ REGISTER, the replay on
join, a restart of the server, TLS. The flows that worked are kept here as transcripts
of what each client sends; the problems a person met are the tests marked xfail.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from hubbub.irc.message import Message
from tests.e2e_accounts.support import registered_account
from tests.helpers import LOBBY_CREATOR_OP, LineClient, connected, start_server, sync

CS = "ChanServ!ChanServ@services"

# What each client asks for on a server offering everything hubbub offers.
IRSSI_CAPS = "multi-prefix extended-join setname invite-notify away-notify chghost account-notify server-time"
WEECHAT_CAPS = ("account-notify away-notify cap-notify chghost extended-join invite-notify message-tags "
                "multi-prefix sasl server-time setname userhost-in-names")  # fmt: skip


async def chanserv(client: LineClient, line: str) -> str:
    client.send(f"PRIVMSG ChanServ :{line}")
    return (await client.expect(lambda m: m.command == "NOTICE" and m.source == CS)).params[-1]


async def read_cap_ls(client: LineClient) -> None:
    """The whole (possibly multi-line) answer to CAP LS 302."""
    while True:
        line = await client.expect(lambda m: m.command == "CAP" and m.params[1] == "LS")
        if line.params[2] != "*":
            return


async def weechat_sasl(runtime, nick: str, password: str) -> tuple[LineClient, list[Message]]:
    """WeeChat's registration with SASL PLAIN: CAP LS 302, NICK and USER at once, then its
    CAP REQ, AUTHENTICATE, CAP END. Returns the client and every line up to the MOTD's end."""
    client = await LineClient.connect(runtime)
    client.send("CAP LS 302")
    client.send(f"NICK {nick}")
    client.send("USER root 0 * :root")
    await read_cap_ls(client)
    client.send(f"CAP REQ :{WEECHAT_CAPS}")
    await client.expect(lambda m: m.command == "CAP" and m.params[1] == "ACK")
    client.send("AUTHENTICATE PLAIN")
    await client.expect("AUTHENTICATE", "+")
    payload = base64.b64encode(f"{nick}\0{nick}\0{password}".encode()).decode()
    client.send(f"AUTHENTICATE {payload}")
    assert (await client.expect(lambda m: m.command in ("903", "904"))).command == "903"
    client.send("CAP END")
    await client.expect(lambda m: m.command in ("376", "422"))
    client.nick = nick
    return client, list(client.received)


# -- flows that worked -----------------------------------------------------------------


async def test_irssi_registration_and_channel_sync_transcript(server, clients) -> None:
    """irssi sends `JOIN :` before it has registered (451, and registration goes on),
    then on each JOIN asks MODE, WHO with WHOX fields and the ban list ("synced")."""
    irssi = await LineClient.connect(server)
    clients.append(irssi)
    irssi.send("CAP LS 302")
    irssi.send("JOIN :")
    await read_cap_ls(irssi)
    assert (await irssi.expect("451")).params == ["*", "You have not registered"]
    irssi.send(f"CAP REQ :{IRSSI_CAPS}")
    ack = await irssi.expect(lambda m: m.command == "CAP" and m.params[1] == "ACK")
    assert ack.params[-1].split() == IRSSI_CAPS.split()
    irssi.send("CAP END")
    irssi.send("NICK alice")
    irssi.send("USER root root localhost :root")
    assert (await irssi.expect("001")).params[0] == "alice"
    await irssi.expect("376")
    irssi.send("MODE alice +i")
    assert (await irssi.expect("MODE")).params == ["alice", "+i"]
    irssi.nick = "alice"

    irssi.send("JOIN #chat")
    join = await irssi.expect("JOIN")
    assert join.params == ["#chat", "*", "root"]  # extended-join: no account, the realname
    assert "time" in join.tags  # server-time
    created = await irssi.expect("MODE")
    assert created.params == ["#chat", "+nt"] and "!" not in (created.source or "")
    assert (await irssi.expect("353")).params[1:] == ["=", "#chat", "@alice"]
    await irssi.expect("366", "alice", "#chat")

    irssi.send("MODE #chat")
    assert (await irssi.expect("324")).params == ["alice", "#chat", "+nt"]
    assert (await irssi.expect("329")).params[:2] == ["alice", "#chat"]
    irssi.send("WHO #chat %tcuhnfdar,743")
    who = await irssi.expect("354")
    assert who.params == ["alice", "743", "#chat", "~root", "127.0.0.1", "alice", "H@", "0", "0", "root"]
    await irssi.expect("315", "alice", "#chat")
    irssi.send("MODE #chat b")
    await irssi.expect("368", "alice", "#chat")


async def test_weechat_sasl_rejoin_of_a_registered_channel_transcript(make_server, clients, tmp_path: Path) -> None:
    """WeeChat logs in with SASL PLAIN, autojoins the channel it founded: `~` in NAMES
    (multi-prefix, userhost-in-names), and the lines said while it was away replayed
    with their time and msgid but no batch (it did not ask for batch)."""
    server = await make_server(f"store.db='{tmp_path / 'hubbub.db'}'", LOBBY_CREATOR_OP)  # bob creates it
    bob = await registered_account(server, "bobby", "bobpass123", "#lobby")
    carol = await connected(server, "carol", "#lobby")
    clients.extend([bob, carol])
    assert await chanserv(bob, "REGISTER #lobby") == "Channel #lobby successfully registered"
    bob.send("QUIT :bye")
    await bob.closed()
    carol.send("PRIVMSG #lobby :said while bob was gone")
    carol.send("PRIVMSG #lobby :\x01ACTION waves\x01")
    await sync(carol)

    weechat, welcome = await weechat_sasl(server, "bobby", "bobpass123")
    clients.append(weechat)
    assert [m.command for m in welcome if m.command in ("900", "903", "001")] == ["900", "903", "001"]
    weechat.send("JOIN #lobby")
    join = await weechat.expect("JOIN")
    assert join.params == ["#lobby", "bobby", "root"]
    names = await weechat.expect("353")
    assert sorted(names.params[-1].split()) == ["carol!~u@127.0.0.1", "~bobby!~root@127.0.0.1"]
    await weechat.expect("366")
    after = await sync(weechat)
    replayed = [m for m in after if m.command == "PRIVMSG"]
    assert all("time" in m.tags and "msgid" in m.tags and "batch" not in m.tags for m in replayed)
    # without batch, with server-time: the texts as said, the time tags saying when
    # (ZNC, without batch too, keeps them so in its buffers)
    assert [m.params[1] for m in replayed][-2:] == ["said while bob was gone", "\x01ACTION waves\x01"]
    assert "BATCH" not in [m.command for m in after]


async def test_ii_gets_bare_replay_and_trailing_nick_and_a_burst_goes_through(make_server, clients) -> None:
    """ii negotiates nothing and writes whatever is typed into its FIFO at once: with
    the default flood control a burst of 30 lines is slowed down, not dropped or
    reordered, and nobody is disconnected."""
    server = await make_server("limits.flood_control=true")
    alice = await connected(server, "alice", "#lobby")
    clients.append(alice)
    alice.send("PRIVMSG #lobby :hello from irssi")
    await sync(alice)

    ii = await LineClient.connect(server)
    clients.append(ii)
    ii.send("NICK carol")
    ii.send("USER carol localhost 127.0.0.1 :Carol C")
    await ii.expect("376")
    ii.nick = "carol"
    ii.send("JOIN #lobby")
    await ii.expect("366")
    replay = await ii.expect_text(r"PRIVMSG #lobby", timeout=15)  # read off the loop: slow on a loaded machine
    # no tags at all; the text led by when it was said (no batch to tell it is not new)
    assert re.fullmatch(r":alice!~u@127\.0\.0\.1 PRIVMSG #lobby :\[\d\d:\d\d\] hello from irssi", replay), replay

    ii.send("".join(f"PRIVMSG #lobby :flood line {i} from ii\r\n" for i in range(30)))
    got = [await alice.expect("PRIVMSG", "#lobby", timeout=15) for _ in range(30)]
    assert [m.params[1] for m in got] == [f"flood line {i} from ii" for i in range(30)]
    ii.send("NICK caroline")
    assert await ii.expect_text(r" NICK ") == ":carol!~carol@127.0.0.1 NICK :caroline"


async def test_a_restart_keeps_what_a_person_left(clients, tmp_path: Path) -> None:
    """Stop and start the server on the same SQLite file: the founder logs in with SASL,
    rejoins and finds the topic, the ban, `~` and the lines said since he left (replayed
    on join). The second start gives the lobby's first joiner no op: the founder's `~`
    comes from ChanServ, as it should."""
    db = f"store.db='{tmp_path / 'hubbub.db'}'"
    first = await start_server(db, LOBBY_CREATOR_OP)  # bob creates the lobby, and so may register it
    try:
        bob = await registered_account(first, "bobby", "bobpass123", "#lobby")
        assert await chanserv(bob, "REGISTER #lobby") == "Channel #lobby successfully registered"
        bob.send("TOPIC #lobby :Registered lobby topic \u2713")
        bob.send("MODE #lobby +b troll!*@*")
        await sync(bob)
        await bob.close()
        # said after bob left: what his rejoin replays (what he saw himself it does not,
        # a restart or not: server/departures.py)
        carol = await connected(first, "carol", "#lobby")
        carol.send("PRIVMSG #lobby :last words before restart")
        await sync(carol)
        await carol.close()
    finally:
        await first.stop()
    again = await start_server(db)
    try:
        weechat, _ = await weechat_sasl(again, "bobby", "bobpass123")
        clients.append(weechat)
        weechat.send("JOIN #lobby")
        assert (await weechat.expect("332")).params[-1] == "Registered lobby topic \u2713"
        assert "~bobby!~root@127.0.0.1" in (await weechat.expect("353")).params[-1].split()
        await weechat.expect("366")
        replayed = [m.params for m in await sync(weechat) if m.command == "PRIVMSG"]
        assert replayed[-1] == ["#lobby", "last words before restart"]  # with server-time: as said
        weechat.send("MODE #lobby b")
        assert (await weechat.expect("367")).params[2] == "troll!*@*"
        await weechat.expect("368")
    finally:
        await again.stop()


# -- what a person saw go wrong --------------------------------------------------------


@pytest.mark.parametrize("mode", ["+i", "+k sesame"])
async def test_the_founder_can_rejoin_their_registered_channel(server, clients, mode: str) -> None:
    """Seen in irssi: alice registered #alicechan, set +i, left; on coming back,
    `Cannot join to channel #alicechan (You must be invited)`, and
    `/msg ChanServ INVITE #alicechan` is `Unknown command`. The channel stays (it is
    registered), empty, closed to the one account that owns it. (Ergo, whose ChanServ
    commands hubbub follows, lets the founder always join.)"""
    alice = await registered_account(server, "alice", "correct-horse", "#alicechan")
    clients.append(alice)
    assert await chanserv(alice, "REGISTER #alicechan") == "Channel #alicechan successfully registered"
    alice.send(f"MODE #alicechan {mode}")
    alice.send("PART #alicechan")
    await alice.expect("PART")
    alice.send("JOIN #alicechan")
    reply = await alice.expect(lambda m: m.command == "JOIN" or m.command in ("473", "475"))
    assert reply.command == "JOIN", reply


async def test_an_access_list_op_passes_bans_and_limits_and_nobody_else_does(server, clients) -> None:
    """The founder's access list (AMODE +o) lets its account in whatever the modes say,
    as the founder; a halfop or more only: a voice on the list, and anyone else, are
    refused as usual."""
    alice = await registered_account(server, "alice", "correct-horse", "#garden")
    dave = await registered_account(server, "dave", "dave-horse-1")
    vera = await registered_account(server, "vera", "vera-horse-1")
    eve = await connected(server, "eve")
    clients.extend([alice, dave, vera, eve])
    assert await chanserv(alice, "REGISTER #garden") == "Channel #garden successfully registered"
    assert "+o" in await chanserv(alice, "AMODE #garden +o dave")
    assert "+v" in await chanserv(alice, "AMODE #garden +v vera")
    alice.send("MODE #garden +bl *!*@* 1")  # everyone banned, and full with alice in it
    await alice.expect("MODE", "#garden")
    dave.send("JOIN #garden")
    joined = await dave.expect(lambda m: m.command in ("JOIN", "471", "474"))
    assert joined.command == "JOIN", joined
    for refused in (vera, eve):
        refused.send("JOIN #garden")
        reply = await refused.expect(lambda m: m.command in ("JOIN", "471", "474"))
        assert reply.command in ("471", "474"), reply


@pytest.mark.parametrize("nick_first", [False, True], ids=["irssi-order", "weechat-order"])
async def test_no_line_before_the_welcome_has_a_placeholder_source(server, clients, nick_first: bool) -> None:
    """irssi's raw log: after AUTHENTICATE, `:*!@127.0.0.1 ACCOUNT alice` came before 900
    (irssi sends NICK only after CAP END); WeeChat, which sent NICK and USER first, got
    `:bobby!@127.0.0.1 ACCOUNT bobby`, an empty user though USER was sent. The user has
    no nick!user@host yet: 900 tells it it is logged in, and account-notify is for
    others' logins."""
    owner = await registered_account(server, "alice", "alicepass123")
    await owner.close()
    client = await LineClient.connect(server)
    clients.append(client)
    client.send("CAP LS 302")
    if nick_first:
        client.send("NICK alice")
        client.send("USER root root localhost :root")
    await read_cap_ls(client)
    client.send("CAP REQ :sasl account-notify")
    await client.expect(lambda m: m.command == "CAP" and m.params[1] == "ACK")
    client.send("AUTHENTICATE PLAIN")
    await client.expect("AUTHENTICATE", "+")
    client.send("AUTHENTICATE " + base64.b64encode(b"alice\0alice\0alicepass123").decode())
    await client.expect("903")
    client.send("CAP END")
    if not nick_first:
        client.send("NICK alice")
        client.send("USER root root localhost :root")
    await client.expect("001")
    before = client.received  # everything, from the CAP LS answer to the welcome
    sources = [m.source for m in before if m.source and "!" in m.source]
    bad = [s for s in sources if s.split("!")[0] == "*" or s.split("!")[1].startswith("@")]
    assert bad == [], [f"{m.source} {m.command} {m.params}" for m in before if m.source in bad]
