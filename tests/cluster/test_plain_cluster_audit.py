"""The plain text mode where it meets the rest of a cluster, over real sockets.

A person with netcat on node 1 and IRC users (and other people with netcat) on other
nodes: what the person reads of what happens on the other nodes, the person's slash
commands acting on users and channels there, nodes stopping or lost, nick collisions
decided by the shared log, the replay on joining, text from other nodes that must not
reach a terminal as control codes, and the plain mode over TLS on a single server.

The nodes make the first joiner of #lobby its op (LOBBY_CREATOR_OP): alice, an IRC user,
runs the channel the people are put in. The default, no op there, is tested in
test_network_more.py.
"""

from __future__ import annotations

import asyncio
import re
import signal
import ssl
from pathlib import Path

from tests.cluster.support import Cluster, Node, caught_up, oper_up
from tests.helpers import LOBBY_CREATOR_OP, LineClient, connected
from tests.services import RedisServer

WAIT = 15.0  # generous: other tests share the two cores


async def plain(cluster: Cluster, node: Node, nick: str) -> LineClient:
    """A netcat-style person on `node`, named `nick`, in #lobby."""
    client = await cluster.client(node)
    client.send(nick)
    await client.expect_text(r"^\* You joined #lobby$", timeout=WAIT)
    client.nick = nick
    return client


async def text(client: LineClient, line: str) -> str:
    """Wait for exactly `line` among what a plain client reads."""
    return await client.expect_text("^" + re.escape(line) + "$", timeout=WAIT)


async def settled(person: LineClient, irc: LineClient) -> list[str]:
    """Everything sent to `person` up to now (an IRC user's private message is the marker:
    one connection's output is written in order). Returns the lines read meanwhile."""
    await caught_up(irc)
    start = len(person.raw)
    token = f"marker-{start}"
    irc.send(f"PRIVMSG {person.nick} :{token}")
    await text(person, f"[private] {irc.nick}: {token}")
    return person.raw[start:-1]


def joined_by(nick: str):
    return lambda m: m.command == "JOIN" and (m.source or "").startswith(nick + "!")


# -- what users of another node do, as text ------------------------------------------------


async def test_what_users_of_another_node_do_reads_as_text(cluster: Cluster) -> None:
    n1, n2 = await cluster.start(2, LOBBY_CREATOR_OP)
    alice = await cluster.client(n2, "alice", "#lobby")
    bob = await plain(cluster, n1, "bob")
    await text(bob, "* In #lobby: @alice, bob")
    carol = await plain(cluster, n2, "carol")  # a person on the other node
    await text(bob, "* carol joined #lobby")
    alice.send("PRIVMSG #lobby :hi bob")
    await text(bob, "alice: hi bob")
    alice.send("NOTICE #lobby :a notice")
    await text(bob, "-alice- a notice")
    alice.send("PRIVMSG #lobby :\x01ACTION waves\x01")
    await text(bob, "* alice waves")
    alice.send("PRIVMSG bob :just us")
    await text(bob, "[private] alice: just us")
    alice.send("NOTICE bob :a private notice")
    await text(bob, "[private] -alice- a private notice")
    alice.send("TOPIC #lobby :tea at five")
    await text(bob, "* alice set the topic of #lobby to: tea at five")
    alice.send("TOPIC #lobby :")
    await text(bob, "* alice cleared the topic of #lobby")
    carol.send("hello from node two")
    await text(bob, "carol: hello from node two")
    carol.send("/me dances")
    await text(bob, "* carol dances")
    carol.send("/msg bob psst")
    await text(bob, "[private] carol: psst")
    await text(carol, "[to bob] psst")
    bob.send("/msg carol and back")  # person to person across nodes
    await text(carol, "[private] bob: and back")
    await text(bob, "[to carol] and back")
    bob.send("/me nods")
    await text(carol, "* bob nods")
    nods = await alice.expect(lambda m: m.command == "PRIVMSG" and m.source.startswith("bob!"), timeout=WAIT)
    assert nods.params == ["#lobby", "\x01ACTION nods\x01"]
    alice.send("NICK alicia")
    await text(bob, "* alice is now known as alicia")
    await text(carol, "* alice is now known as alicia")
    bob.send("/nick robert")
    await text(bob, "* You are now known as robert")
    await text(carol, "* bob is now known as robert")
    bob.nick = "robert"
    dave = await cluster.client(n2, "dave", "#lobby")
    await text(bob, "* dave joined #lobby")
    dave.send("PART #lobby :see you later")
    await text(bob, "* dave left #lobby (see you later)")
    dave.send("JOIN #lobby")
    await text(bob, "* dave joined #lobby")
    dave.send("PART #lobby")
    await text(bob, "* dave left #lobby")
    carol.send("/quit off to bed")
    await text(bob, "* carol left (Quit: off to bed)")
    alice.send("QUIT :bye")
    await text(bob, "* alicia left (Quit: bye)")


async def test_kicks_and_kills_from_another_node_read_as_text(cluster: Cluster) -> None:
    n1, n2 = await cluster.start(2, LOBBY_CREATOR_OP)
    alice = await cluster.client(n2, "alice", "#lobby", "#club")
    await oper_up(alice)
    await cluster.client(n2, "dave", "#lobby")
    await cluster.client(n2, "erin", "#lobby")
    bob = await plain(cluster, n1, "bob")
    await text(bob, "* In #lobby: @alice, bob, dave, erin")  # highest rank first, then by name
    bob.send("/join #club")
    await text(bob, "* You joined #club")
    bob.send("/join #lobby")  # the current channel is #lobby again
    await text(bob, "* You are now talking in #lobby")
    alice.send("KICK #lobby dave :too loud")
    await text(bob, "* dave was kicked from #lobby by alice (too loud)")
    alice.send("KILL erin :spam")
    await text(bob, "* erin left (Killed (alice (spam)))")
    alice.send("KICK #lobby bob :out you go")
    await text(bob, "* You were kicked from #lobby by alice (out you go); now talking in #club")
    bob.send("still here")
    assert (await alice.expect("PRIVMSG", timeout=WAIT)).params == ["#club", "still here"]
    alice.send("KICK #club bob")
    await text(bob, "* You were kicked from #club by alice (alice); /join #channel to talk")
    bob.send("nowhere to say this")
    await text(bob, "* You are not in a channel; /join #channel first.")
    alice.send("KILL bob :enough")
    lines = await bob.closed(WAIT)
    assert lines == ["*** Disconnected: Killed (alice (enough))"], lines


async def test_a_nick_taken_on_another_node_gets_the_plain_reason_and_another_try(cluster: Cluster) -> None:
    n1, n2 = await cluster.start(2, LOBBY_CREATOR_OP)
    alice = await cluster.client(n2, "alice", "#lobby")
    first = await cluster.client(n1)
    second = await cluster.client(n2)
    for person in (first, second):
        await person.expect_text("Type a nickname", timeout=WAIT)
    first.send("ALICE")
    await text(first, "*** The nickname ALICE is taken. Type another one:")
    # two people on two nodes type the same name at once: the log decides, one gets it
    first.send("zed")
    second.send("zed")
    outcomes = [await person.expect_text(r"is taken|^\* You joined", timeout=WAIT) for person in (first, second)]
    assert sorted(outcomes) == ["* You joined #lobby", "*** The nickname zed is taken. Type another one:"], outcomes
    loser = second if "taken" in outcomes[1] else first
    winner = first if loser is second else second
    winner.nick = "zed"
    loser.send("zed2")
    await text(loser, "* You joined #lobby")
    loser.nick = "zed2"
    await text(winner, "* zed2 joined #lobby")
    assert not [line for line in loser.raw if "Welcome, zed!" in line], loser.raw
    alice.send("NAMES #lobby")
    assert sorted((await alice.expect("353", timeout=WAIT)).params[-1].split()) == ["@alice", "zed", "zed2"]
    # once chosen, /nick to a name taken on the other node is refused in words
    loser.send("/nick Alice")
    await text(loser, "* The nickname Alice is taken; choose another one.")
    loser.send("/nick zed")
    await text(loser, "* The nickname zed is taken; choose another one.")
    assert not [line for line in await settled(loser, alice) if "known as" in line]


# -- the person's commands acting on the other node ------------------------------------------


async def test_the_slash_commands_act_on_users_and_channels_of_another_node(cluster: Cluster) -> None:
    n1, n2 = await cluster.start(2, LOBBY_CREATOR_OP)
    alice = await cluster.client(n2, "alice", "#lobby", "#club")
    alice.send("TOPIC #club :members only")
    alice.send("MODE #club +ik sesame")
    await alice.expect("MODE", timeout=WAIT)
    alice.send("AWAY :out to lunch")
    await alice.expect("306", timeout=WAIT)
    dave = await cluster.client(n2, "dave", "#lobby")
    bob = await plain(cluster, n1, "bob")
    bob.send("/who #lobby")
    await text(bob, "* alice (~u@127.0.0.1) [away]: Real Name")
    await text(bob, "* dave (~u@127.0.0.1): Real Name")
    await text(bob, "* bob (~bob@127.0.0.1): plain text user")
    bob.send("/list")
    start = len(bob.raw)
    await text(bob, "* End of the channel list")
    assert sorted(bob.raw[start:-1]) == ["* #club (1 here): members only", "* #lobby (3 here)"]
    bob.send("/msg alice are you there?")
    await text(bob, "[to alice] are you there?")
    await text(bob, "* alice is away: out to lunch")
    assert (await alice.expect("PRIVMSG", "alice", timeout=WAIT)).params[1] == "are you there?"
    bob.send("/msg nobody hello")
    await text(bob, "* Nobody is using the nickname nobody right now.")
    bob.send("/join #club")
    await text(bob, "* You can't join #club: it is invite-only, and nobody in it has invited you. "
               "/knock #club asks its operators to.")
    alice.send("INVITE bob #club")
    await text(bob, "* alice invites you to #club; type /join #club to go there")
    bob.send("/join #club")  # channels.md: an invitation lets in, the key and +i aside
    await text(bob, "* You joined #club")
    await text(bob, "* Topic of #club: members only")
    await text(bob, "* In #club: @alice, bob")
    bob.send("/kick alice")
    await text(bob, "* Only operators of #club can do that.")
    bob.send("/topic")
    await text(bob, "* Topic of #club: members only")
    # a multiline message from the other node reads as its lines, a continuation glued on
    alice.send("CAP REQ :draft/multiline batch message-tags")
    await alice.expect("CAP", timeout=WAIT)
    alice.send("BATCH +m draft/multiline #club")
    alice.send("@batch=m PRIVMSG #club :first line,")
    alice.send("@batch=m;draft/multiline-concat PRIVMSG #club : continued")
    alice.send("@batch=m PRIVMSG #club :second line")
    alice.send("BATCH -m")
    await text(bob, "alice: first line, continued")
    await text(bob, "alice: second line")
    alice.send("PRIVMSG #lobby :in the other channel")
    await text(bob, "[#lobby] alice: in the other channel")
    # running the channel, as its operator, on users of the other node
    alice.send("MODE #lobby +o bob")
    await text(bob, "* alice gave bob operator status in #lobby (+o bob)")
    bob.send("/kick #lobby dave too loud")
    kick = await alice.expect("KICK", timeout=WAIT)
    assert kick.params == ["#lobby", "dave", "too loud"] and kick.source.startswith("bob!")
    await text(bob, "* dave was kicked from #lobby by bob (too loud)")
    bob.send("/ban #lobby dave")
    assert (await alice.expect("MODE", "#lobby", timeout=WAIT)).params == ["#lobby", "+b", "dave!*@*"]
    dave.send("JOIN #lobby")
    await dave.expect("474", timeout=WAIT)
    bob.send("/ban #lobby")
    await text(bob, "* Banned from #lobby: dave!*@* (set by bob)")
    await text(bob, "* End of the bans of #lobby")
    bob.send("/deop #lobby alice")
    assert (await alice.expect("MODE", "#lobby", timeout=WAIT)).params == ["#lobby", "-o", "alice"]
    bob.send("/topic #lobby tea at five")
    await text(bob, "* bob set the topic of #lobby to: tea at five")
    assert (await alice.expect("TOPIC", timeout=WAIT)).params == ["#lobby", "tea at five"]
    bob.send("/part #club")
    await text(bob, "* You left #club; now talking in #lobby")
    assert (await alice.expect("PART", timeout=WAIT)).params == ["#club"]
    bob.send("back in the lobby")
    assert (await alice.expect("PRIVMSG", timeout=WAIT)).params == ["#lobby", "back in the lobby"]


async def test_lines_typed_ahead_follow_the_commands_before_them_across_nodes(cluster: Cluster) -> None:
    """Each of the person's commands is decided by the shared log; lines typed after it
    in the same write still go where that command left the person."""
    n1, n2 = await cluster.start(2, LOBBY_CREATOR_OP)
    alice = await cluster.client(n2, "alice", "#lobby", "#club")
    bob = await plain(cluster, n1, "bob")
    bob.send(b"/join #club\r\nhello club\r\n/part #club\r\nhello lobby\r\n/nick robert\r\n/me is robert now\r\n")
    said = [await alice.expect("PRIVMSG", timeout=WAIT) for _ in range(3)]
    assert [(m.source.split("!")[0], *m.params) for m in said] == [
        ("bob", "#club", "hello club"), ("bob", "#lobby", "hello lobby"),
        ("robert", "#lobby", "\x01ACTION is robert now\x01"),
    ]  # fmt: skip
    long = " ".join(f"word{i:04d}" for i in range(300))  # several IRC messages' worth
    bob.send(f"{long}\r\n/join #club\r\nafter the long line\r\n")
    parts = []
    while not parts or parts[-1].params[1] != "after the long line":
        parts.append(await alice.expect("PRIVMSG", timeout=WAIT))
    assert len(parts) > 3
    assert all(m.params[0] == "#lobby" for m in parts[:-1]) and parts[-1].params[0] == "#club"
    assert " ".join(m.params[1] for m in parts[:-1]) == long


# -- nodes stopping and lost -----------------------------------------------------------------


async def test_users_of_a_node_that_stops_or_is_lost_leave_with_the_reason(cluster: Cluster) -> None:
    n1, n2, n3 = await cluster.start(3, LOBBY_CREATOR_OP)
    bob = await plain(cluster, n1, "bob")
    alice = await cluster.client(n2, "alice", "#lobby")
    carol = await plain(cluster, n2, "carol")
    await cluster.client(n3, "erin", "#lobby")
    await text(bob, "* erin joined #lobby")
    await text(carol, "* erin joined #lobby")
    await n2.stop()  # SIGTERM: its users quit for everyone at once
    lines = await carol.closed(WAIT)
    assert lines == ["*** Disconnected: Server shutting down"], lines  # nothing of alice leaving
    assert [line for line in await alice.closed(WAIT) if line.startswith("ERROR")]
    left = [await bob.expect_text(r" left ", timeout=WAIT) for _ in range(2)]
    # named: "Server shutting down" alone reads, on another node, as if that one were
    assert sorted(left) == [f"* {nick} left (node2.test: Server shutting down)" for nick in ("alice", "carol")]
    n3.kill()  # a crash: the others notice its heartbeats stopped
    await text(bob, "* erin left (node3.test lost contact with the network)")
    bob.send("/who #lobby")
    await text(bob, "* bob (~bob@127.0.0.1): plain text user")
    assert [line for line in bob.raw[-1:]] == ["* bob (~bob@127.0.0.1): plain text user"]


def pause(node: Node) -> None:
    assert node.process is not None
    node.process.send_signal(signal.SIGSTOP)


def resume(node: Node) -> None:
    assert node.process is not None
    node.process.send_signal(signal.SIGCONT)


async def test_a_person_on_a_node_cut_off_past_its_timeout_is_told_in_the_documented_words(cluster: Cluster) -> None:
    n1, n2 = await cluster.start(2, LOBBY_CREATOR_OP)
    alice = await cluster.client(n2, "alice", "#lobby")
    bob = await plain(cluster, n1, "bob")
    await alice.expect(joined_by("bob"), timeout=WAIT)
    await settled(bob, alice)
    pause(n1)
    try:
        gone = await alice.expect("QUIT", timeout=WAIT)
        assert gone.source.startswith("bob!") and gone.params == ["node1.test lost contact with the network"]
    finally:
        resume(n1)
    lines = await bob.closed(WAIT)
    assert lines == ["*** Disconnected: This server lost contact with the network"], lines


async def test_people_on_a_node_cut_off_are_not_shown_their_neighbours_leaving(cluster: Cluster) -> None:
    n1, n2 = await cluster.start(2, LOBBY_CREATOR_OP)
    alice = await cluster.client(n2, "alice", "#lobby")
    people = [await plain(cluster, n1, nick) for nick in ("bob", "carl", "dora")]
    await alice.expect(joined_by("dora"), timeout=WAIT)
    for person in people:
        await settled(person, alice)
    pause(n1)
    try:
        for _ in people:
            await alice.expect("QUIT", timeout=WAIT)
    finally:
        resume(n1)
    for person in people:
        lines = await person.closed(WAIT)
        assert len(lines) == 1 and lines[0].startswith("*** Disconnected: "), (person.nick, lines)


# -- the replay on joining ---------------------------------------------------------------


async def test_what_was_said_on_another_node_is_replayed_to_a_person_joining(
    redis_server: RedisServer, cluster_config: str, postgres_url: str
) -> None:
    cluster = Cluster(redis_server.url, cluster_config, db=postgres_url)  # one store for the network
    try:
        n1, n2 = await cluster.start(2, LOBBY_CREATOR_OP)
        alice = await cluster.client(n2, "alice", "#lobby")
        for line in ("tea is ready", "\x01ACTION pours\x01", "\x02who\x02 wants some?"):
            alice.send(f"PRIVMSG #lobby :{line}")
        alice.send("NOTICE #lobby :\x1b[2Jmind the cups")
        await caught_up(alice)
        bob = await cluster.client(n1)
        bob.send("bob")
        await text(bob, "* In #lobby: @alice, bob")
        alice.send("PRIVMSG #lobby :said now")
        await text(bob, "alice: said now")
        start = bob.raw.index("* In #lobby: @alice, bob") + 1
        # each earlier line led by when it was said ([HH:MM] here; in an action, after the
        # nick), the line said now not
        shown = [re.sub(r"\[\d\d:\d\d\] ", "[HH:MM] ", line, count=1) for line in bob.raw[start:]]
        assert shown == [
            "* Earlier in #lobby:",
            "alice: [HH:MM] tea is ready",
            "* alice [HH:MM] pours",
            "alice: [HH:MM] \x1b[0;1mwho\x1b[0m wants some?",
            "-alice- [HH:MM] mind the cups",
            "* (end of the earlier messages; what follows is said now)",
            "alice: said now",
        ], bob.raw
    finally:
        await cluster.close()


# -- text from another node, safe for a terminal ---------------------------------------------

SGR = re.compile(r"\x1b\[[0-9;]*m")
UNSAFE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def safe_for_a_terminal(line: str) -> bool:
    """Nothing a terminal acts on but the SGR attributes the renderer writes itself."""
    return UNSAFE.search(SGR.sub("", line)) is None


async def test_text_from_another_node_never_reaches_the_terminal_as_control_codes(cluster: Cluster) -> None:
    n1, n2 = await cluster.start(2, LOBBY_CREATOR_OP)
    evil = await cluster.client(n2)
    await evil.register("evil", realname="\x1b]0;owned\x07real\x1b[31mname\u009b2J")
    await evil.join("#lobby")
    mate = await cluster.client(n2, "mate", "#lobby")
    bob = await plain(cluster, n1, "bob")
    start = len(bob.raw)
    cases = {
        "a\x1b[2Jb": "evil: ab",  # clear screen
        "c\x1b]0;title\x07d": "evil: cd",  # window title (OSC ... BEL)
        "e\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\f": "evil: elinkf",  # hyperlink (OSC ... ST)
        "g\u009b31mh": "evil: g31mh",  # C1 CSI: the introducer goes, the rest is harmless text
        "i\u0090x\u009cj\u0085k": "evil: ixjk",  # C1 DCS, ST, NEL
        "l\x07m\x08n\x7fo\x0bp": "evil: lmnop",  # bell, backspace, delete, vertical tab
        "q\x1bc": "evil: q",  # full reset (RIS)
        "r\x1b": "evil: r",  # a lone escape at the end
        "s\x1b[": "evil: s",  # half a CSI
        "ü" * 200: "evil: " + "ü" * 200,  # a line near 512 bytes, two bytes a character
        "日本語" * 50: "evil: " + "日本語" * 50,
        "x" * 400 + "😀" * 10: "evil: " + "x" * 400 + "😀" * 10,
    }
    bob.send("/who #lobby")  # answered before evil's NICK and PART below, which nothing else orders after it
    await text(bob, "* evil (~u@127.0.0.1): realname2J")
    for payload in cases:
        evil.send(f"PRIVMSG #lobby :{payload}")
    evil.send("NOTICE #lobby :\x1b[5mblink\x1b[0m notice")
    evil.send("PRIVMSG #lobby :\x01ACTION \x1b[8mhides\x01")
    evil.send("PRIVMSG bob :\x1b[2Jprivate")
    evil.send("TOPIC #lobby :\x1b[1;1Htopic\x07")
    evil.send("KICK #lobby mate :\x1b]0;kicked\x07reason")
    evil.send("NICK evil2")
    evil.send("PART #lobby :\x1b[2Jbye")
    await caught_up(evil)
    seen = await settled(bob, mate)
    assert all(safe_for_a_terminal(line) for line in seen), [line for line in seen if not safe_for_a_terminal(line)]
    said = [line for line in seen if line.startswith("evil: ")]
    assert said == list(cases.values())
    for line in (
        "-evil- blink notice",
        "* evil hides",
        "[private] evil: private",
        "* evil set the topic of #lobby to: topic",
        "* mate was kicked from #lobby by evil (reason)",
        "* evil is now known as evil2",
        "* evil2 left #lobby (bye)",
    ):
        assert line in seen, (line, seen)
    # with colours off: no escape at all, IRC formatting left out too
    bob.send("/colors off")
    await text(bob, "* Colours are off: messages show as plain text. /colors on turns them on.")
    mate.send("JOIN #lobby")
    await text(bob, "* mate joined #lobby")
    mate.send("PRIVMSG #lobby :\x02bold\x02 \x0304red\x03 \x1b[2Jclear\u009b")
    await text(bob, "mate: bold red clear")
    assert all("\x1b" not in line for line in bob.raw[start:] if "mate: bold" in line)


# -- the plain mode over TLS (a single server) -------------------------------------------------


async def test_the_plain_mode_works_over_tls(make_server, tmp_path: Path) -> None:
    """operators.md: TLS listeners 'speak exactly what the plaintext port speaks (IRC and
    the plain text mode)'."""
    server = await make_server(
        "listen.tls=['127.0.0.1:0']", "tls.self_signed=true",
        f"tls.cert={tmp_path / 'cert.pem'}", f"tls.key={tmp_path / 'key.pem'}",
    )  # fmt: skip
    alice = await connected(server, "alice", "#lobby")
    context = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    reader, writer = await asyncio.open_connection(*server.tls_address(), ssl=context, limit=1 << 20)
    bob = LineClient(reader, writer)
    try:
        assert await bob.read_line(WAIT) == (
            ":hubbub.local NOTICE * :*** Welcome to hubbub. Type a nickname and press Enter to chat, "
            "or connect with an IRC client."
        )
        bob.send("ALICE")
        await text(bob, "*** The nickname ALICE is taken. Type another one:")
        bob.send("bob")
        await text(bob, "*** Welcome, bob! Type /help for commands, /exit to leave.")
        await text(bob, "* You joined #lobby")
        await text(bob, "* In #lobby: alice, bob")  # nobody's op for creating the default channel
        await alice.expect(joined_by("bob"), timeout=WAIT)
        bob.send("hello over tls")
        assert (await alice.expect("PRIVMSG", "#lobby", timeout=WAIT)).params[1] == "hello over tls"
        alice.send("PRIVMSG #lobby :\x1b[2J\x02hi\x02")
        await text(bob, "alice: \x1b[0;1mhi\x1b[0m")
        bob.send("/exit")
        assert await bob.closed(WAIT) == ["*** Disconnected: Quit"]
        quit_ = await alice.expect("QUIT", timeout=WAIT)
        assert quit_.source.startswith("bob!")
    finally:
        await bob.close()
