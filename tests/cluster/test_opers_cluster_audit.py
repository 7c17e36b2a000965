"""Operators on a network of several nodes, with the operator and the users on DIFFERENT
nodes: what docs/operators.md promises (OPER, KILL, KLINE/UNKLINE, SAMODE, WALLOPS,
server notices, REHASH, DIE, the server queries), checked network-wide.

A black-box audit: every node is a real `hubbub serve --cluster` process on the session's
redis-server (tests/cluster/support.py), reading a configuration file of the test's own
(a cheap operator hash, so that OPER costs little, an `[admin]` block and a MOTD). Users
at chosen addresses connect from 127.x.y.z (any works on Linux). The tests wait for
lines, never for time; the only poll is for a K-line's expiry, which no line announces.

Scope of server notices, as found (docs/operators.md does not say which node's
operators hear of what, so nothing here asserts more than what the origin node shows):
connects and exits are told on every node; KILL, SAMODE, OPER, K-lines set or removed,
REHASH and DIE only to the +s operators of the node where the command was given; a
K-line's enforcement only on the node of the user it disconnected.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from hubbub.irc.message import Message
from tests.cluster.support import OPER_PASSWORD, Cluster, Node
from tests.helpers import LineClient, sync
from tests.services import RedisServer

T = 15.0  # every wait: other tests share the two cores
_CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
ADMIN = '[admin]\nlocation = "Lyon, France"\norganization = "Example Org"\nemail = "irc@example.org"\n'


def config_text(motd: str = "first motd", extra_oper: str | None = None) -> str:
    text = f'[server]\nmotd = "{motd}"\n\n{ADMIN}\n'
    text += f'[[opers]]\nname = "admin"\npassword_hash = "{_CHEAP.hash(OPER_PASSWORD)}"\n'
    if extra_oper:
        text += f'\n[[opers]]\nname = "{extra_oper}"\npassword_hash = "{_CHEAP.hash(OPER_PASSWORD)}"\n'
    return text


# -- the network of a test ------------------------------------------------------------------


@pytest.fixture
async def network(redis_server: RedisServer, tmp_path: Path) -> AsyncIterator[Cluster]:
    config = tmp_path / "hubbub.toml"
    config.write_text(config_text(), encoding="utf-8")
    cluster = Cluster(redis_server.url, str(config))
    yield cluster
    await cluster.close()


async def user(
    cluster: Cluster,
    node: Node,
    nick: str,
    *channels: str,
    username: str | None = None,
    ip: str | None = None,
    caps: Sequence[str] = (),
) -> LineClient:
    """A registered client of `node` (from `ip`, a 127.x.y.z, when given), in `channels`."""
    client = await connect(cluster, node, ip)
    if caps:
        client.send("CAP LS 302")
        client.send(f"CAP REQ :{' '.join(caps)}")
        await client.expect("CAP", "*", "ACK", timeout=T)
        client.send("CAP END")
    client.send(f"NICK {nick}")
    client.send(f"USER {username or nick} 0 * :{nick}")
    await client.expect("001", timeout=T)
    await client.expect(lambda m: m.command in ("376", "422"), timeout=T)
    client.nick = nick
    for channel in channels:
        client.send(f"JOIN {channel}")
        await client.expect("366", nick, channel, timeout=T)
    return client


async def connect(cluster: Cluster, node: Node, ip: str | None = None) -> LineClient:
    assert node.address is not None
    local = (ip, 0) if ip else None
    reader, writer = await asyncio.open_connection(*node.address, local_addr=local, limit=1 << 20)
    client = LineClient(reader, writer)
    cluster.clients.append(client)
    return client


async def oper_up(client: LineClient, watch: bool = False) -> None:
    client.send(f"OPER admin {OPER_PASSWORD}")
    await client.expect("381", timeout=T)
    await client.expect(lambda m: m.command == "MODE" and m.params[:2] == [client.nick, "+o"], timeout=T)
    if watch:
        client.send(f"MODE {client.nick} +s")
        await client.expect(lambda m: m.command == "MODE" and m.params[:2] == [client.nick, "+s"], timeout=T)


async def caught_up(client: LineClient) -> None:
    """The client's node has applied everything in the log before now (its own AWAY came back)."""
    client.send("AWAY :catching up")
    await client.expect("306", timeout=T)
    client.send("AWAY")
    await client.expect("305", timeout=T)


async def same_digests(oper: LineClient, nodes: int) -> None:
    oper.send("DIGEST")
    found: dict[str, str] = {}
    while len(found) < nodes:
        message = await oper.expect(lambda m: m.command == "NOTICE" and m.params[-1].startswith("DIGEST "), timeout=T)
        _, server, digest = message.params[-1].split()
        found[server] = digest
    assert len(set(found.values())) == 1, found


def snotice(text: str) -> Callable[[Message], bool]:
    return lambda m: m.command == "NOTICE" and m.params[-1] == f"*** Notice -- {text}"


def told_as(text: str) -> Callable[[Message], bool]:
    """A notice confirming an operator's own command."""
    return lambda m: m.command == "NOTICE" and m.params[-1] == f"*** {text}"


def snotices(messages: list[Message]) -> list[str]:
    return [m.params[-1] for m in messages if m.command == "NOTICE" and m.params[-1].startswith("*** Notice -- ")]


async def told(client: LineClient, count: int) -> set[str]:
    """The texts of the next `count` notices to `client`, in whichever order they come."""
    return {(await client.expect("NOTICE", client.nick, timeout=T)).params[-1] for _ in range(count)}


async def reply(client: LineClient, line: str, end: str) -> list[Message]:
    client.send(line)
    return await client.collect_until(end, timeout=T)


def numerics(messages: list[Message]) -> list[list[str]]:
    """Numeric replies as their command and params without the nick they were sent to."""
    return [[m.command, *m.params[1:]] for m in messages if m.command.isdigit()]


async def stats_k(client: LineClient) -> list[list[str]]:
    return [m.params[1:] for m in await reply(client, "STATS k", "219") if m.command == "216"]


_TIME_LEFT = re.compile(r"\(expires in ((?:\d+[wdhms])+),")
_UNIT = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def time_left(text: str) -> int:
    """The seconds of `expires in 59m58s` in a STATS k row's text."""
    found = _TIME_LEFT.search(text)
    assert found is not None, text
    return sum(int(amount) * _UNIT[unit] for amount, unit in re.findall(r"(\d+)([wdhms])", found.group(1)))


def without_time_left(rows: list[list[str]]) -> list[list[str]]:
    """STATS k rows with the time left (which ticks between two questions) left out."""
    return [[*row[:4], _TIME_LEFT.sub("(expires in …,", row[4])] for row in rows]


# -- OPER and the operator's user modes, seen from another node --------------------------------


async def test_an_operator_on_one_node_is_shown_as_one_on_every_node(network: Cluster) -> None:
    n1, n2 = await network.start(2)
    oper = await user(network, n1, "oper", username="op")
    bob = await user(network, n2, "bob", username="bob")
    await oper_up(oper)
    await caught_up(bob)
    whois = await reply(bob, "WHOIS oper", "318")
    assert ["313", "oper", "is an IRC operator"] in numerics(whois)
    assert [m.params[2] for m in whois if m.command == "312"] == ["node1.test"]
    assert not [m for m in whois if m.command in ("378", "379")]  # not to a non-operator
    who = [m for m in await reply(bob, "WHO oper", "315") if m.command == "352"]
    assert len(who) == 1 and "*" in who[0].params[6] and who[0].params[4] == "node1.test"
    userhost = await reply(bob, "USERHOST oper", "302")
    assert userhost[-1].params[-1].startswith("oper*=")
    for client in (oper, bob):
        lusers = {m.command: m.params[1:] for m in await reply(client, "LUSERS", "266")}
        assert lusers["252"] == ["1", "operator(s) online"]
    # the operator sees another node's user's real address and modes
    bob.send("MODE bob +iw")
    await bob.expect("MODE", "bob", timeout=T)
    await caught_up(oper)
    whois = numerics(await reply(oper, "WHOIS bob", "318"))
    assert [r for r in whois if r[0] == "378"] and [r for r in whois if r[0] == "379"], whois
    assert [r for r in whois if r[0] == "379"][0][-1].endswith("+iw")
    # +o from a user is ignored, +s too for a non-operator, wherever the operator is
    bob.send("MODE bob +os")
    bob.send("KILL oper :x")
    assert (await bob.expect("481", timeout=T)).params[-1] == "Permission Denied- You're not an IRC operator"
    for command in ("KLINE ~x@*", "UNKLINE ~x@*", "WALLOPS :hi", "SAMODE #c +m", "DIGEST", "REHASH", "DIE"):
        bob.send(command)
        await bob.expect("481", timeout=T)
    assert not [m for m in await sync(bob) if m.command == "MODE"]
    await caught_up(oper)
    whois = numerics(await reply(oper, "WHOIS bob", "318"))
    assert [r for r in whois if r[0] == "379"][0][-1].endswith("+iw") and not [r for r in whois if r[0] == "313"]
    # -o drops the operator status everywhere (and +s with it)
    oper.send("MODE oper +s")
    await oper.expect("MODE", "oper", "+s", timeout=T)
    oper.send("MODE oper -o")
    dropped = await oper.expect("MODE", "oper", timeout=T)
    assert set(dropped.params[1]) == {"-", "o", "s"}, dropped
    await caught_up(bob)
    assert not [r for r in numerics(await reply(bob, "WHOIS oper", "318")) if r[0] == "313"]
    assert "252" not in {m.command for m in await reply(bob, "LUSERS", "266")}
    await oper_up(oper)
    await same_digests(oper, 2)


# -- KILL -----------------------------------------------------------------------------------


async def test_kill_of_a_user_on_another_node(network: Cluster) -> None:
    n1, n2 = await network.start(2)
    oper = await user(network, n1, "oper", username="op")
    await oper_up(oper, watch=True)
    far_oper = await user(network, n2, "faroper", username="fo")
    await oper_up(far_oper, watch=True)
    victim = await user(network, n2, "victim", "#room", username="vic")
    near = await user(network, n1, "near", "#room")
    far = await user(network, n2, "far", "#room")
    await caught_up(oper)
    await caught_up(near)
    oper.send("KILL victim :spamming")
    kill = await victim.expect("KILL", timeout=T)
    assert kill.source is not None and kill.source.startswith("oper!~op@") and kill.params == ["victim", "spamming"]
    error = await victim.expect("ERROR", timeout=T)
    assert error.params == ["Closing Link: 127.0.0.1 (Killed (oper (spamming)))"]
    assert await victim.closed(T) == []
    for peer in (near, far):
        quit_ = await peer.expect("QUIT", timeout=T)
        assert quit_.source == "victim!~vic@127.0.0.1" and quit_.params == ["Killed (oper (spamming))"]
    # the origin node's watchers hear of the KILL; every node's of the exit
    await oper.expect(snotice("Received KILL message for victim (~vic@127.0.0.1) from oper: spamming"), timeout=T)
    exiting = "Client exiting: victim (~vic@127.0.0.1) [127.0.0.1] (Killed (oper (spamming)))"
    await oper.expect(snotice(exiting), timeout=T)
    await far_oper.expect(snotice(exiting), timeout=T)
    # WHOWAS on both nodes, the user's server named
    for client in (oper, far):
        whowas = numerics(await reply(client, "WHOWAS victim", "369"))
        if client is oper:  # and, to an operator, the address, which the other node's event carried
            assert ["378", "victim", "was connecting from *@127.0.0.1 127.0.0.1"] in whowas, whowas
            whowas = [row for row in whowas if row[0] != "378"]
        assert whowas[0] == ["314", "victim", "~vic", "127.0.0.1", "*", "victim"], whowas
        assert whowas[1][:3] == ["312", "victim", "node2.test"]
        client.send("WHOIS victim")
        await client.expect("401", timeout=T)
    # no reason; unknown nick; the server's own name; another node's name is no nick
    second = await user(network, n2, "second")
    await caught_up(oper)
    oper.send("KILL second")
    assert (await second.expect("ERROR", timeout=T)).params == [
        "Closing Link: 127.0.0.1 (Killed (oper (No reason given)))"
    ]
    oper.send("KILL nobody :x")
    assert (await oper.expect("401", timeout=T)).params[1] == "nobody"
    oper.send("KILL NODE1.test :x")
    await oper.expect("483", timeout=T)
    far_oper.send("KILL node2.test :x")
    await far_oper.expect("483", timeout=T)
    # an operator killing one on the killer's own node, from the other side
    far_oper.send("KILL near :bye")
    assert (await near.expect("ERROR", timeout=T)).params == ["Closing Link: 127.0.0.1 (Killed (faroper (bye)))"]
    assert (await far.expect("QUIT", timeout=T)).params == ["Killed (faroper (bye))"]
    await same_digests(oper, 2)


# -- KLINE and UNKLINE --------------------------------------------------------------------


async def test_a_kline_set_on_one_node_holds_on_every_node(network: Cluster) -> None:
    n1, n2 = await network.start(2)
    oper = await user(network, n1, "oper", username="op")
    await oper_up(oper, watch=True)
    far_oper = await user(network, n2, "faroper", username="fo")
    await oper_up(far_oper, watch=True)
    victim = await user(network, n2, "victim", "#c", username="baddie")
    peer = await user(network, n2, "peer", "#c")
    await caught_up(oper)
    oper.send("KLINE 1h ~baddie@* :go away")
    await oper.expect(told_as("Added K-line on ~baddie@* for 1h: go away"), timeout=T)
    assert (await victim.expect("ERROR", timeout=T)).params == ["Closing Link: 127.0.0.1 (K-Lined: go away)"]
    assert (await peer.expect("QUIT", timeout=T)).params == ["K-Lined: go away"]
    await far_oper.expect(snotice("K-line active for victim (~baddie@127.0.0.1) [127.0.0.1]: ~baddie@*"), timeout=T)
    # STATS k lists it on each node alike. The time left is told in whole seconds as of the
    # question, and the nodes are asked one after the other (a second may tick over in
    # between: 59m59s, then 59m58s): the far node is asked between two questions to this
    # one, and the time it tells must lie between theirs.
    listed = [await stats_k(client) for client in (oper, far_oper, oper)]
    assert [without_time_left(rows) for rows in listed[1:]] == [without_time_left(listed[0])] * 2, listed
    assert len(listed[0]) == 1 and listed[0][0][:4] == ["K", "*", "*", "~baddie"], listed
    assert listed[0][0][4].startswith("go away (expires in ") and listed[0][0][4].endswith("set by oper)")
    near, far, near_again = (time_left(rows[0][4]) for rows in listed)
    assert near_again <= far <= near <= 3600, listed
    # a new connection with that username is refused on either node
    for node in (n2, n1):
        again = await connect(network, node)
        again.send(f"NICK again{node.name[4]}\r\nUSER baddie 0 * :x")
        refused = await again.expect(lambda m: m.command in ("001", "ERROR"), timeout=T)
        assert refused.command == "ERROR" and "K-Lined: go away" in refused.params[-1], refused
    # a node started afterwards has it too
    n3 = await network.add(name="node3.test")
    late = await connect(network, n3)
    late.send("NICK late\r\nUSER baddie 0 * :x")
    assert (await late.expect(lambda m: m.command in ("001", "ERROR"), timeout=T)).command == "ERROR"
    # set again from the other node, in another case: replaced everywhere, one K-line
    far_oper.send("KLINE ~BADDIE@* :still no")
    added = await far_oper.expect(lambda m: m.command == "NOTICE" and "Added K-line" in m.params[-1], timeout=T)
    assert added.params[-1].lower() == "*** added k-line on ~baddie@* permanently: still no"
    # The notice comes before the K-line is in the log; the far operator's next line waits
    # for it (its own AWAY comes back after it), and this node's AWAY then comes after both.
    await caught_up(far_oper)
    await caught_up(oper)
    listed = [await stats_k(client) for client in (oper, far_oper)]
    assert listed[0] == listed[1] and len(listed[0]) == 1, listed
    assert listed[0][0][4] == "still no (permanent, set by faroper)", listed
    # UNKLINE from the other node lifts it everywhere
    far_oper.send("UNKLINE ~baddie@*")
    removed = await far_oper.expect(lambda m: m.command == "NOTICE" and "Removed K-line" in m.params[-1], timeout=T)
    assert removed.params[-1].lower() == "*** removed k-line on ~baddie@*"
    await caught_up(far_oper)  # as above: the removal is in the log before this comes back
    await caught_up(oper)
    assert await stats_k(oper) == [] and await stats_k(far_oper) == []
    for node, nick in ((n1, "back1"), (n2, "back2")):
        await user(network, node, nick, username="baddie")
    oper.send("UNKLINE ~baddie@*")
    assert (await oper.expect("FAIL", timeout=T)).params[:2] == ["UNKLINE", "NO_SUCH_KLINE"]
    await same_digests(oper, 3)


async def test_an_address_kline_by_nick_refuses_connections_to_another_node(network: Cluster) -> None:
    n1, n2 = await network.start(2)
    oper = await user(network, n1, "oper", username="op")
    await oper_up(oper, watch=True)
    far_oper = await user(network, n2, "faroper", username="fo")
    await oper_up(far_oper, watch=True)
    target = await user(network, n2, "target", ip="127.0.0.7")
    half = await connect(network, n2, "127.0.0.7")  # connected, not registered yet
    half.send("NICK half")
    await caught_up(oper)
    oper.send("KLINE target :address ban")  # a nick on another node stands for *@its host
    await oper.expect(told_as("Added K-line on *@127.0.0.7 permanently: address ban"), timeout=T)
    assert (await target.expect("ERROR", timeout=T)).params == ["Closing Link: 127.0.0.7 (K-Lined: address ban)"]
    assert "ERROR :Closing Link: 127.0.0.7 (K-Lined: address ban)" in await half.closed(T)
    for client in (oper, far_oper):
        assert await stats_k(client) == [["K", "127.0.0.7", "*", "*", "address ban (permanent, set by oper)"]]
    # refused at connection, before anything is said, on either node
    for node in (n2, n1):
        refused = await connect(network, node, "127.0.0.7")
        assert await refused.closed(T) == ["ERROR :Closing Link: 127.0.0.7 (K-Lined: address ban)"]
    await far_oper.expect(snotice("K-line active for a connection from 127.0.0.7: *@127.0.0.7"), timeout=T)
    await oper.expect(snotice("K-line active for a connection from 127.0.0.7: *@127.0.0.7"), timeout=T)
    # another address is let in
    await user(network, n2, "other", ip="127.0.0.8")
    await same_digests(oper, 2)


async def test_a_kline_with_a_duration_expires_on_every_node(network: Cluster) -> None:
    n1, n2 = await network.start(2)
    oper = await user(network, n1, "oper", username="op")
    await oper_up(oper)
    far_oper = await user(network, n2, "faroper", username="fo")
    await oper_up(far_oper)
    oper.send("KLINE 3s *@127.0.0.9 :brief")
    await oper.expect(told_as("Added K-line on *@127.0.0.9 for 3s: brief"), timeout=T)
    # The notice comes before the K-line is in the log: the operator's own next line waits
    # for it, and the other node's AWAY comes back after that one (in force there too).
    await caught_up(oper)
    await caught_up(far_oper)
    listed = await stats_k(far_oper)
    assert len(listed) <= 1 and all(row[4].startswith("brief (expires in ") for row in listed), listed
    # no line announces an expiry: try again until let in, within a bound
    loop = asyncio.get_running_loop()
    deadline = loop.time() + T
    while True:
        client = await connect(network, n2, "127.0.0.9")
        client.send("NICK brief\r\nUSER brief 0 * :x")
        first = await client.expect(lambda m: m.command in ("001", "ERROR"), timeout=T)
        if first.command == "001":
            break
        assert "K-Lined: brief" in first.params[-1]
        assert loop.time() < deadline, "the K-line never expired"
        await asyncio.sleep(0.3)
    for client in (oper, far_oper):
        assert await stats_k(client) == []
    await user(network, n1, "brief2", ip="127.0.0.9")
    await same_digests(oper, 2)


# -- SAMODE -----------------------------------------------------------------------------------


async def test_samode_on_a_channel_whose_members_are_all_on_another_node(network: Cluster) -> None:
    n1, n2 = await network.start(2)
    oper = await user(network, n1, "oper", username="op")
    await oper_up(oper, watch=True)
    rogue = await user(network, n2, "rogue", "#help")  # the channel's first op
    helper = await user(network, n2, "helper", "#help")
    await caught_up(oper)
    oper.send("SAMODE #help -o+o rogue helper")
    for member in (rogue, helper):
        mode = await member.expect("MODE", "#help", timeout=T)
        assert mode.source is not None and mode.source.startswith("oper!~op@")
        assert mode.params == ["#help", "-o+o", "rogue", "helper"]
    # told once: the operator watches server notices, but is not told of its own SAMODE twice
    assert await told(oper, 1) == {"*** SAMODE #help -o+o rogue helper"}
    oper.send("SAMODE #help +kl sekrit 5")
    for member in (rogue, helper):
        assert (await member.expect("MODE", "#help", timeout=T)).params == ["#help", "+kl", "sekrit", "5"]
    assert await told(oper, 1) == {"*** SAMODE #help +kl * 5"}
    oper.send("SAMODE #help +im")
    await oper.expect("NOTICE", "oper", "*** SAMODE #help +im", timeout=T)
    await caught_up(rogue)
    # both nodes show the same modes and statuses
    modes = [[m.params[1:] for m in await reply(c, "MODE #help", "324") if m.command == "324"] for c in (oper, rogue)]
    assert modes == [[["#help", "+imntlk", "5"]], [["#help", "+imntlk", "5", "sekrit"]]]  # the key: members only
    names = [[m.params[-1] for m in await reply(c, "NAMES #help", "366") if m.command == "353"] for c in (oper, rogue)]
    assert names[0] == names[1], names
    # the new op may now act; the demoted one may not
    helper.send("MODE #help -m")
    assert (await rogue.expect("MODE", "#help", timeout=T)).params == ["#help", "-m"]
    rogue.send("MODE #help -i")
    await rogue.expect("482", timeout=T)
    # checks of MODE apply but rank
    for line, numeric in (("SAMODE #nowhere +m", "403"), ("SAMODE #help +o nobody", "401"),
                          ("SAMODE #help +o oper", "441"), ("SAMODE #help +Z", "472")):  # fmt: skip
        oper.send(line)
        await oper.expect(numeric, timeout=T)
    await same_digests(oper, 2)


# -- WALLOPS ------------------------------------------------------------------------------------


async def test_wallops_reach_w_users_on_every_node(network: Cluster) -> None:
    n1, n2 = await network.start(2)
    oper = await user(network, n1, "oper", username="op")
    await oper_up(oper)
    watchers = [await user(network, node, f"w{i}") for i, node in enumerate((n1, n2, n2))]
    deaf = [await user(network, node, f"deaf{i}") for i, node in enumerate((n1, n2))]
    for watcher in watchers:
        watcher.send(f"MODE {watcher.nick} +w")
        await watcher.expect("MODE", watcher.nick, "+w", timeout=T)
    await caught_up(oper)
    oper.send("WALLOPS :network maintenance at noon")
    for client in (oper, *watchers):
        wallops = await client.expect("WALLOPS", timeout=T)
        assert wallops.source is not None and wallops.source.startswith("oper!~op@")
        assert wallops.params == ["network maintenance at noon"]
    for client in deaf:
        await caught_up(client)
        assert not [m for m in await sync(client) if m.command == "WALLOPS"]
    # an operator on the other node reaches the first node's +w users
    far_oper = watchers[1]
    await oper_up(far_oper)
    far_oper.send("WALLOPS :from node two")
    for client in (watchers[0], watchers[2], far_oper):
        assert (await client.expect("WALLOPS", timeout=T)).params == ["from node two"]
    await caught_up(deaf[0])
    assert not [m for m in await sync(deaf[0]) if m.command == "WALLOPS"]
    await same_digests(oper, 2)


# -- server notices -------------------------------------------------------------------------------


async def test_connects_and_exits_on_another_node_are_server_notices(network: Cluster) -> None:
    n1, n2 = await network.start(2)
    oper = await user(network, n1, "oper", username="op")
    await oper_up(oper, watch=True)
    carol = await user(network, n2, "carol", username="carol", ip="127.0.0.5")
    await oper.expect(snotice("Client connecting: carol (~carol@127.0.0.5) [127.0.0.5]"), timeout=T)
    carol.send("QUIT :see you")
    await carol.closed(T)
    await oper.expect(snotice("Client exiting: carol (~carol@127.0.0.5) [127.0.0.5] (Quit: see you)"), timeout=T)
    # a non-operator asking for +s gets nothing
    dave = await user(network, n2, "dave")
    dave.send("MODE dave +s")
    erin = await user(network, n1, "erin")
    await caught_up(dave)
    assert snotices(await sync(dave)) == []
    assert "s" not in (await reply(dave, "MODE dave", "221"))[-1].params[1]
    await oper.expect(snotice("Client connecting: erin (~erin@127.0.0.1) [127.0.0.1]"), timeout=T)
    erin.send("QUIT")
    await oper.expect(lambda m: m.command == "NOTICE" and "Client exiting: erin " in m.params[-1], timeout=T)
    await same_digests(oper, 2)


# -- REHASH: one node's configuration -----------------------------------------------------------------


async def test_rehash_reloads_only_the_node_it_was_sent_to(network: Cluster, tmp_path: Path) -> None:
    """Each node reads its own file (cluster.md: the MOTD, the operators may differ); a
    REHASH is that node's (`systemctl reload` of one machine), and disconnects nobody."""
    n1, n2 = await network.start(2)
    oper = await user(network, n1, "oper", username="op")
    await oper_up(oper, watch=True)
    watcher = await user(network, n1, "watcher", username="wa")
    await oper_up(watcher, watch=True)
    far_oper = await user(network, n2, "faroper", username="fo")
    await oper_up(far_oper, watch=True)
    bystander = await user(network, n2, "bystander", "#c")
    Path(network.config).write_text(config_text("second motd", extra_oper="carol"), encoding="utf-8")
    start = len(oper.received)
    oper.send("REHASH")
    assert (await oper.expect("382", timeout=T)).params[1:] == [network.config, "Rehashing"]
    await oper.expect(snotice("Configuration reloaded"), timeout=T)
    await watcher.expect(snotice("oper is rehashing the server configuration"), timeout=T)
    await watcher.expect(snotice("Configuration reloaded"), timeout=T)
    motd = [[m.params[-1] for m in await reply(c, "MOTD", "376") if m.command == "372"] for c in (oper, far_oper)]
    assert motd == [["- second motd"], ["- first motd"]]
    # the MOTD came after the REHASH's whole answer: the operator, watching server notices,
    # was told `Configuration reloaded` by one of them, and not once more
    said = [m.params[-1] for m in oper.received[start:] if m.command == "NOTICE"]
    assert said.count("*** Notice -- Configuration reloaded") == 1 and "*** Configuration reloaded" not in said, said
    # the new operator block is in force on the node that reloaded, not yet on the other
    new1 = await user(network, n1, "new1")
    new1.send(f"OPER carol {OPER_PASSWORD}")
    await new1.expect("381", timeout=T)
    new2 = await user(network, n2, "new2")
    new2.send(f"OPER carol {OPER_PASSWORD}")
    await new2.expect("464", timeout=T)
    opers = [[m.params[-1] for m in await reply(c, "STATS o", "219") if m.command == "243"] for c in (oper, far_oper)]
    assert opers == [["admin", "carol"], ["admin"]]
    # the other node's own REHASH brings it along; nobody was disconnected
    far_oper.send("REHASH")
    await far_oper.expect(snotice("Configuration reloaded"), timeout=T)
    assert [m.params[-1] for m in await reply(far_oper, "MOTD", "376") if m.command == "372"] == ["- second motd"]
    new2.send(f"OPER carol {OPER_PASSWORD}")
    await new2.expect("381", timeout=T)
    for client in (oper, watcher, far_oper, bystander, new1, new2):
        await caught_up(client)
    await same_digests(oper, 2)


# -- DIE --------------------------------------------------------------------------------------


async def test_die_stops_only_its_own_node(network: Cluster) -> None:
    n1, n2 = await network.start(2)
    oper = await user(network, n1, "oper", "#c", username="op")
    await oper_up(oper)
    far_oper = await user(network, n2, "faroper", "#c", username="fo")
    await oper_up(far_oper)
    far = await user(network, n2, "far", "#c")
    await caught_up(oper)
    oper.send("DIE node2.test")  # naming another server is 402, even another node
    assert (await oper.expect("402", timeout=T)).params[1] == "node2.test"
    far_oper.send("DIE node2.test")
    for client in (far_oper, far):
        assert "ERROR :Closing Link: 127.0.0.1 (Server shutting down)" in await client.closed(T)
    assert n2.process is not None
    assert await asyncio.wait_for(n2.process.wait(), T) == 0
    quits = {str((await oper.expect("QUIT", timeout=T)).source).partition("!")[0] for _ in range(2)}
    assert quits == {"faroper", "far"}
    names = [m.params[-1] for m in await reply(oper, "NAMES #c", "366") if m.command == "353"]
    assert names == ["@oper"]
    lusers = {m.command: m.params[1:] for m in await reply(oper, "LUSERS", "266")}
    assert lusers["251"][-1].endswith("on 1 servers") and lusers["252"][0] == "1", lusers
    await same_digests(oper, 1)


# -- queries every user has, from each node -----------------------------------------------------------


async def test_server_queries_answer_alike_from_each_node(network: Cluster) -> None:
    n1, n2 = await network.start(2)
    oper = await user(network, n1, "oper", "#c", username="op")
    await oper_up(oper)
    bob = await user(network, n2, "bob", "#c", "#d")
    carol = await user(network, n2, "carol")
    carol.send("MODE carol +i")
    await carol.expect("MODE", "carol", timeout=T)
    clients = (oper, bob)
    for client in clients:
        await caught_up(client)
    lusers = [{m.command: m.params[1:] for m in await reply(c, "LUSERS", "266")} for c in clients]
    for numeric in ("251", "252", "254"):
        assert lusers[0][numeric] == lusers[1][numeric], numeric
    assert lusers[0]["251"] == ["There are 2 users and 1 invisible on 2 servers"]
    assert lusers[0]["254"][0] == "2"
    assert lusers[0]["266"][0] == lusers[1]["266"][0] == "3"
    assert (lusers[0]["265"][0], lusers[1]["265"][0]) == ("1", "2")  # local users
    assert (
        lusers[0]["255"][0] == "I have 1 clients and 1 servers"
        and lusers[1]["255"][0] == "I have 2 clients and 1 servers"
    )
    for client, name, other in ((oper, "node1.test", "node2.test"), (bob, "node2.test", "node1.test")):
        admin = numerics(await reply(client, "ADMIN", "259"))
        assert admin == [["256", name, "Administrative info"], ["257", "Lyon, France"], ["258", "Example Org"],
                         ["259", "irc@example.org"]]  # fmt: skip
        assert (await reply(client, "TIME", "391"))[-1].params[1] == name
        info = await reply(client, "INFO", "374")
        assert {m.command for m in info if m.command.isdigit()} == {"371", "374"}
        assert (await reply(client, "VERSION", "351"))[-1].params[2] == name
        assert {m.command for m in await sync(client)} == {"005"}  # VERSION's ISUPPORT
        links = numerics(await reply(client, "LINKS", "365"))
        this, that = [r for r in links if r[0] == "364"]  # this node, then the other one hop away
        assert this[:3] == ["364", name, name] and this[3].startswith("0 "), links
        assert that == ["364", other, name, f"1 {other}"], links
        assert (await reply(client, "STATS u", "219"))[-2].command == "242"
    # a user of another node may name the server: this node answers
    assert numerics(await reply(oper, "ADMIN bob", "259"))[0] == ["256", "node1.test", "Administrative info"]
    oper.send("ADMIN node2.test")  # another node's name is no server this one knows
    assert (await oper.expect("402", timeout=T)).params[1] == "node2.test"
    # operator-only STATS: 481 then 219 for others
    stats = await reply(bob, "STATS o", "219")
    assert [m.command for m in stats if m.command.isdigit()] == ["481", "219"]
    assert [m.params[-1] for m in await reply(oper, "STATS o", "219") if m.command == "243"] == ["admin"]
    await same_digests(oper, 2)
