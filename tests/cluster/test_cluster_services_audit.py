"""Accounts, services and history on a network of several nodes, as their users see them.

A black-box audit: every node is a real `hubbub serve --cluster` process; they share the
session's redis-server and one real PostgreSQL database of the test's own. What a user
does on one node (register, log in, register a channel, read, delete, ban) must hold on
every other node, and after a node (or the whole network) starts again.

The tests wait for replies, never for time: `caught_up(client)` makes sure the client's
node has applied everything in the log before it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence

import pytest
from scramp import ScramClient

from hubbub.irc.message import Message
from tests.cluster.support import Cluster, Node, caught_up, digests, oper_up
from tests.helpers import LineClient, sync
from tests.services import RedisServer

NS = "NickServ!NickServ@services"
CS = "ChanServ!ChanServ@services"
PASSWORD = "correct-horse"
HISTORY = ("draft/chathistory", "batch", "server-time", "message-tags")
RESERVED = "Nickname is reserved by a different account"


# -- the networks of a test -----------------------------------------------------------------


Networks = Callable[..., Cluster]


@pytest.fixture
async def networks(redis_server: RedisServer, cluster_config: str, postgres_url: str) -> AsyncIterator[Networks]:
    """`networks(keyspace=None)`: a cluster on the shared redis-server and on this test's
    PostgreSQL database. A new keyspace is a new network (founded from the store); an
    old keyspace is the same network started again. All are closed at the end."""
    made: list[Cluster] = []

    def make(keyspace: str | None = None) -> Cluster:
        cluster = Cluster(redis_server.url, cluster_config, db=postgres_url)
        if keyspace is not None:
            cluster.keyspace = keyspace
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        await cluster.close()


@pytest.fixture
def network(networks: Networks) -> Cluster:
    return networks()


# -- services -------------------------------------------------------------------------------


def _from(source: str) -> Callable[[Message], bool]:
    return lambda m: m.command == "NOTICE" and m.source == source


async def ns(client: LineClient, line: str) -> str:
    """Say `line` to NickServ; its first answer."""
    client.send(f"NICKSERV {line}")
    return (await client.expect(_from(NS))).params[-1]


async def cs(client: LineClient, line: str) -> str:
    """Say `line` to ChanServ; its first answer."""
    client.send(f"CHANSERV {line}")
    return (await client.expect(_from(CS))).params[-1]


async def drop_code(client: LineClient, service: str, line: str) -> str:
    """The code a DROP (or ChanServ's SET FOUNDER) asks to be confirmed with (its first step)."""
    client.send(f"{service} {line}")
    source = NS if service == "NICKSERV" else CS
    while "To confirm" not in (notice := (await client.expect(_from(source))).params[-1]):
        pass
    return notice.split()[-1]


async def confirmed(client: LineClient, service: str, line: str) -> str:
    """A DROP (or SET FOUNDER) in two steps: ask, read the code, confirm; the answer to the confirmation."""
    code = await drop_code(client, service, line)
    client.send(f"{service} {line} {code}" if service == "CHANSERV" else f"{service} {line} {client.nick} {code}")
    return (await client.expect(_from(NS if service == "NICKSERV" else CS))).params[-1]


@contextlib.contextmanager
def paused(node: Node) -> Iterator[None]:
    """`node` stopped (SIGSTOP) for the block: it reads nothing, from the log or from its
    clients, as a node fallen behind under load; then it goes on from where it was."""
    assert node.process is not None
    node.process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        node.process.send_signal(signal.SIGCONT)


async def queued(client: LineClient, line: str) -> None:
    """`line` sent, and in the kernel's hands: a paused node reads it when it goes on."""
    client.send(line)
    await client.writer.drain()


async def registered(cluster: Cluster, node: Node, nick: str, *channels: str, caps: Sequence[str] = ()) -> LineClient:
    """A client that registered its nick as an account with NickServ (and is logged in)."""
    client = await cluster.client(node, nick, *channels, caps=caps)
    assert await ns(client, f"REGISTER {PASSWORD}") == "Account created"
    await client.expect(_from(NS))  # You're now logged in as ...
    return client


async def founder(cluster: Cluster, node: Node, nick: str, channel: str) -> LineClient:
    """A client `registered`, in `channel`, which it registered with ChanServ (it holds ~)."""
    client = await registered(cluster, node, nick, channel)
    assert await cs(client, f"REGISTER {channel}") == f"Channel {channel} successfully registered"
    await client.expect("MODE", channel, "+q", nick)
    return client


# -- SASL -----------------------------------------------------------------------------------


def b64(data: str | bytes) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def unb64(text: str) -> str:
    return base64.b64decode(text).decode()


async def authenticate(client: LineClient, mechanism: str, account: str, password: str) -> str:
    """One SASL exchange on a connection with the `sasl` capability: the numeric ending it."""
    ends = ("903", "904", "905", "906")
    client.send(f"AUTHENTICATE {mechanism}")
    await client.expect("AUTHENTICATE", "+")
    if mechanism == "PLAIN":
        client.send("AUTHENTICATE " + b64(f"{account}\0{account}\0{password}"))
    else:
        exchange = ScramClient(["SCRAM-SHA-256"], account, password)
        client.send("AUTHENTICATE " + b64(exchange.get_client_first()))
        challenge = await client.expect(lambda m: m.command == "AUTHENTICATE" or m.command in ends)
        if challenge.command != "AUTHENTICATE":
            return challenge.command
        exchange.set_server_first(unb64(challenge.params[0]))
        client.send("AUTHENTICATE " + b64(exchange.get_client_final()))
        proof = await client.expect(lambda m: m.command == "AUTHENTICATE" or m.command in ends)
        if proof.command != "AUTHENTICATE":
            return proof.command
        exchange.set_server_final(unb64(proof.params[0]))  # the node proved it holds the keys
        client.send("AUTHENTICATE +")
    return (await client.expect(lambda m: m.command in ends)).command


async def _sasl_connection(cluster: Cluster, node: Node, caps: Sequence[str]) -> LineClient:
    client = await cluster.client(node)
    client.send("CAP LS 302")
    client.send("CAP REQ :" + " ".join(("sasl", *caps)))
    await client.expect("CAP", "*", "ACK")
    return client


async def logged_in(
    cluster: Cluster,
    node: Node,
    nick: str,
    account: str,
    password: str = PASSWORD,
    mechanism: str = "PLAIN",
    caps: Sequence[str] = (),
    channels: Sequence[str] = (),
) -> LineClient:
    """A client that logged in with SASL before registering as `nick`."""
    client = await _sasl_connection(cluster, node, caps)
    assert await authenticate(client, mechanism, account, password) == "903"
    client.send("CAP END")
    await client.register(nick)
    for channel in channels:
        await client.join(channel)
    return client


async def login_result(cluster: Cluster, node: Node, account: str, password: str, mechanism: str = "PLAIN") -> str:
    """What a SASL login to `account` on `node` ends with (903 logged in, 904 refused)."""
    client = await _sasl_connection(cluster, node, ())
    try:
        return await authenticate(client, mechanism, account, password)
    finally:
        await client.close()


# -- history --------------------------------------------------------------------------------


async def batch(client: LineClient, line: str) -> list[Message]:
    """Send `line`; the lines of the batch answering it (the BATCH lines left out)."""
    client.send(line)
    opening = await client.expect(lambda m: m.command == "BATCH" and m.params[0].startswith("+"))
    ref = opening.params[0][1:]
    lines = await client.collect_until(lambda m: m.command == "BATCH" and m.params[0] == "-" + ref)
    return lines[:-1]


def texts(lines: list[Message]) -> list[str]:
    return [m.params[-1] for m in lines if m.command in ("PRIVMSG", "NOTICE")]


def as_seen(lines: list[Message]) -> list[tuple[object, ...]]:
    """What a client sees of history lines, without the batch they came in (its name is
    each node's own)."""
    return [(m.command, m.source, tuple(m.params), m.tags.get("msgid"), m.tags.get("time"), m.tags.get("account"))
            for m in lines]  # fmt: skip


async def said(client: LineClient, target: str, text: str) -> Message:
    """Send a PRIVMSG with echo-message: its echo, which carries its msgid and time and
    leaves the node only once the message is committed to the store."""
    client.send(f"PRIVMSG {target} :{text}")
    return await client.expect(lambda m: m.command == "PRIVMSG" and m.params == [target, text])


def names_of(message: Message) -> list[str]:
    return sorted(message.params[-1].split())


async def names(client: LineClient, channel: str) -> list[str]:
    client.send(f"NAMES {channel}")
    found = await client.expect("353")
    await client.expect("366")
    return names_of(found)


async def account_cli(db: str, *args: str, password: str | None = None) -> tuple[int, str]:
    """`hubbub account ...` on the shared store: (exit status, what it printed)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hubbub", "account", "--db", db, *args, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(password.encode() if password else b""), 60)
    return process.returncode or 0, out.decode().strip()


# -- accounts across nodes ------------------------------------------------------------------


async def test_an_account_registered_with_register_on_one_node_logs_in_with_scram_on_another(
    network: Cluster,
) -> None:
    n1, n2 = await network.start(2)
    alice = await network.client(n1, "alice", caps=["draft/account-registration"])
    bob = await network.client(n2, "bob")
    alice.send("REGISTER * * hunter2-horse")
    success = await alice.expect("REGISTER")
    assert success.params[:2] == ["SUCCESS", "alice"], success
    await caught_up(bob)  # node 2 has the new account now

    phone = await logged_in(network, n2, "alice_phone", "alice", "hunter2-horse", "SCRAM-SHA-256")
    bob.send("WHOIS alice_phone")
    assert [m.params[2] for m in await bob.collect_until("318") if m.command == "330"] == ["alice"]
    await caught_up(alice)
    alice.send("NICKSERV INFO")
    await alice.expect(lambda m: _from(NS)(m) and m.params[-1] == "Logged in now as: alice, alice_phone")
    assert await login_result(network, n2, "alice", "wrong-horse", "SCRAM-SHA-256") == "904"
    assert await login_result(network, n2, "alice", "hunter2-horse", "PLAIN") == "903"

    # a password changed on node 2 is the password on node 1, for SCRAM too
    assert await ns(phone, "SET PASSWORD battery-staple") == "Password changed"
    await caught_up(alice)
    assert await login_result(network, n1, "alice", "battery-staple", "SCRAM-SHA-256") == "903"
    assert await login_result(network, n1, "alice", "hunter2-horse", "SCRAM-SHA-256") == "904"


async def test_nickserv_info_names_only_the_nicks_logged_in_to_the_account(network: Cluster) -> None:
    n1, n2 = await network.start(2)
    alice = await registered(network, n1, "alice")
    registering = await _sasl_connection(network, n2, ())  # still negotiating: no CAP END yet
    assert await authenticate(registering, "PLAIN", "alice", PASSWORD) == "903"
    await caught_up(alice)  # node 1 has that login
    alice.send("NICKSERV INFO")
    online = await alice.expect(lambda m: _from(NS)(m) and m.params[-1].startswith("Logged in now as: "))
    assert online.params[-1] == "Logged in now as: alice"


async def test_a_registered_nick_taken_on_another_node_is_taken_back(network: Cluster) -> None:
    n1, n2 = await network.start(2, "accounts.enforce_after=1")
    alice = await registered(network, n1, "alice")
    alice.send("NICK alice_away")
    await alice.expect("NICK")
    await caught_up(await network.client(n2, "watcher"))  # node 2 knows the nick is free
    squatter = await network.client(n2, "alice")
    warning = await squatter.expect(_from(NS))
    assert warning.params[-1].startswith("This nickname is registered"), warning
    renamed = await squatter.expect("NICK")
    assert renamed.source.startswith("alice!") and renamed.params[0].startswith("Guest"), renamed
    await caught_up(alice)
    alice.send("NICK alice")
    assert (await alice.expect(lambda m: m.command in ("NICK", "433"))).params[-1] == "alice"


async def test_with_enforce_refuse_the_nick_is_reserved_on_every_node_but_for_its_account(network: Cluster) -> None:
    n1, n2 = await network.start(2, "accounts.enforce=refuse")
    alice = await registered(network, n1, "alice")
    alice.send("NICK alice_away")
    await alice.expect("NICK")
    bob = await network.client(n2, "bob")
    await caught_up(bob)
    bob.send("NICK alice")
    assert (await bob.expect("433")).params[1:] == ["alice", RESERVED]
    stranger = await network.client(n2)
    stranger.send("NICK alice")
    stranger.send("USER u 0 * :U")
    refused = await stranger.expect(lambda m: m.command in ("001", "433"))
    assert refused.command == "433" and refused.params[-1] == RESERVED, refused
    owner = await logged_in(network, n2, "alice", "alice")  # its account's nick, on another node
    owner.send("WHOIS alice")
    assert [m.params[2] for m in await owner.collect_until("318") if m.command == "330"] == ["alice"]


async def test_ghost_disconnects_a_stale_connection_on_another_node(network: Cluster) -> None:
    n1, n2, n3 = await network.start(3)
    stale = await registered(network, n1, "alice", "#c")
    watcher = await network.client(n3, "watcher", "#c")
    await caught_up(watcher)
    owner = await logged_in(network, n2, "alice_", "alice")
    stranger = await network.client(n2, "stranger")
    assert await ns(stranger, "GHOST alice") == "You don't own that nick"
    assert await ns(owner, "GHOST alice") == "alice has been ghosted"
    assert any("GHOSTed by alice_" in line for line in await stale.closed())
    quit_ = await watcher.expect(lambda m: m.command == "QUIT" and (m.source or "").startswith("alice!"))
    assert quit_.params == ["GHOSTed by alice_"]
    owner.send("NICK alice")
    assert (await owner.expect(lambda m: m.command in ("NICK", "433"))).command == "NICK"


# -- ChanServ across nodes ------------------------------------------------------------------


async def test_a_channel_registered_on_one_node_gives_its_founder_and_access_list_status_on_another(
    network: Cluster,
) -> None:
    n1, n2 = await network.start(2)
    alice = await founder(network, n1, "alice", "#garden")
    dave = await registered(network, n2, "dave")
    await caught_up(alice)  # node 1 knows dave's account
    assert await cs(alice, "AMODE #garden +o dave") == "Successfully set persistent mode +o on dave"
    await caught_up(dave)

    phone = await logged_in(network, n2, "alice_phone", "alice", channels=["#garden"])
    await dave.join("#garden")
    expected = ["@dave", "~alice", "~alice_phone"]
    assert await names(dave, "#garden") == expected
    await caught_up(alice)
    assert await names(alice, "#garden") == expected
    assert await cs(dave, "INFO #garden") == "Channel #garden is registered"
    assert (await dave.expect(_from(CS))).params[-1] == "Founder: alice"
    assert await cs(phone, "AMODE #garden") == "Channel #garden has 1 persistent modes set"
    assert (await phone.expect(_from(CS))).params[-1] == "Account dave receives mode +o"

    # taken off the list on node 2: node 1's next join of dave's gives nothing
    assert await cs(phone, "AMODE #garden -o dave") == "Successfully removed dave from the access list"
    dave.send("PART #garden")
    await dave.expect("PART")
    dave_on_1 = await logged_in(network, n1, "dave_", "dave")
    await caught_up(dave_on_1)
    await dave_on_1.join("#garden")
    assert "dave_" in await names(dave_on_1, "#garden")


async def test_chanserv_drop_takes_founder_status_from_the_founder_s_connections_on_every_node(
    network: Cluster,
) -> None:
    n1, n2 = await network.start(2)
    alice = await founder(network, n1, "alice", "#garden")
    phone = await logged_in(network, n2, "alice_phone", "alice", channels=["#garden"])
    assert await names(phone, "#garden") == ["~alice", "~alice_phone"]
    assert await confirmed(alice, "CHANSERV", "DROP #garden") == "Channel #garden is now unregistered"
    await caught_up(phone)
    assert await cs(phone, "INFO #garden") == "Channel #garden is not registered"
    assert not [name for name in await names(phone, "#garden") if name.startswith("~")]


async def test_chanserv_drop_takes_founder_status_given_by_a_join_its_node_had_not_read_yet(
    network: Cluster,
) -> None:
    """The founder's phone joins on node 2 (and gets ~) while node 1 is paused; the DROP
    reaches node 1 before it has read that join from the log. The join is ordered before
    the drop, so the phone's ~ must go with the registration all the same."""
    n1, n2 = await network.start(2)
    alice = await founder(network, n1, "alice", "#garden")
    code = await drop_code(alice, "CHANSERV", "DROP #garden")
    phone = await logged_in(network, n2, "alice_phone", "alice")
    with paused(n1):
        await phone.join("#garden")
        assert await names(phone, "#garden") == ["~alice", "~alice_phone"]
        await queued(alice, f"CHANSERV DROP #garden {code}")
    assert (await alice.expect(_from(CS))).params[-1] == "Channel #garden is now unregistered"
    await caught_up(phone)
    await caught_up(alice)
    for client in (alice, phone):
        assert not [name for name in await names(client, "#garden") if name.startswith("~")]


async def test_chanserv_set_founder_takes_founder_status_given_by_a_join_its_node_had_not_read_yet(
    network: Cluster,
) -> None:
    """The founder's phone joins on node 2 (and gets ~) while node 1 is paused; the SET
    FOUNDER reaches node 1 before it has read that join from the log. The join is ordered
    before the change, so the phone's ~ must go to the heir all the same."""
    n1, n2 = await network.start(2)
    alice = await founder(network, n1, "alice", "#garden")
    bob = await registered(network, n2, "bob", "#garden")
    phone = await logged_in(network, n2, "alice_phone", "alice")
    await caught_up(alice)  # the heir's account, registered on node 2
    code = await drop_code(alice, "CHANSERV", "SET #garden FOUNDER bob")
    with paused(n1):
        await phone.join("#garden")
        assert await names(phone, "#garden") == ["bob", "~alice", "~alice_phone"]
        await queued(alice, f"CHANSERV SET #garden FOUNDER bob {code}")
    assert (await alice.expect(_from(CS))).params[-1] == "The founder of #garden is now bob"
    await bob.expect("MODE", "#garden", "+q", "bob")
    await caught_up(phone)
    await caught_up(alice)
    for client in (alice, phone):
        assert await names(client, "#garden") == ["@alice", "alice_phone", "~bob"]


async def test_chanserv_set_founder_gives_founder_status_to_a_join_its_node_had_not_read_yet(
    network: Cluster,
) -> None:
    """The heir joins on node 2 (with no status: the channel is not his yet) while node 1
    is paused; the SET FOUNDER reaches node 1 before it has read that join from the log.
    The join is ordered before the change: the heir, there by then, gets ~ all the same."""
    n1, n2 = await network.start(2)
    alice = await founder(network, n1, "alice", "#garden")
    bob = await registered(network, n2, "bob")
    await caught_up(alice)  # the heir's account, registered on node 2
    code = await drop_code(alice, "CHANSERV", "SET #garden FOUNDER bob")
    with paused(n1):
        await bob.join("#garden")
        assert await names(bob, "#garden") == ["bob", "~alice"]
        await queued(alice, f"CHANSERV SET #garden FOUNDER bob {code}")
    assert (await alice.expect(_from(CS))).params[-1] == "The founder of #garden is now bob"
    await alice.expect("MODE", "#garden", "-q", "alice")
    await caught_up(bob)
    await caught_up(alice)
    for client in (alice, bob):
        assert await names(client, "#garden") == ["@alice", "~bob"]


async def test_chanserv_set_founder_of_a_channel_dropped_on_a_node_its_node_had_not_read_yet_gives_nothing(
    network: Cluster,
) -> None:
    """The founder's phone drops #garden on node 2 while node 1 is paused; a SET FOUNDER
    reaches node 1 before it has read the drop from the log. The drop is ordered first:
    the channel is nobody's to give, and the heir must not get ~ in it."""
    n1, n2 = await network.start(2)
    alice = await founder(network, n1, "alice", "#garden")
    code = await drop_code(alice, "CHANSERV", "DROP #garden")
    bob = await registered(network, n2, "bob", "#garden")
    phone = await logged_in(network, n2, "alice_phone", "alice")
    await caught_up(alice)  # the heir's account, registered on node 2
    given = await drop_code(alice, "CHANSERV", "SET #garden FOUNDER bob")
    with paused(n1):
        assert await cs(phone, f"DROP #garden {code}") == "Channel #garden is now unregistered"
        await bob.expect("MODE", "#garden", "-q", "alice")
        await queued(alice, f"CHANSERV SET #garden FOUNDER bob {given}")
    assert (await alice.expect(_from(CS))).params[-1] == "Channel #garden is not registered"
    await caught_up(bob)
    await caught_up(alice)
    assert await cs(bob, "INFO #garden") == "Channel #garden is not registered"
    for client in (alice, bob):
        assert await names(client, "#garden") == ["@alice", "bob"]


async def test_chanserv_set_founder_after_the_channel_was_given_away_on_a_node_its_node_had_not_read_yet_is_refused(
    network: Cluster,
) -> None:
    """The founder's phone gives #garden to bob on node 2 while node 1 is paused; the
    founder's own SET FOUNDER carol reaches node 1 before it has read that from the log.
    Ordered second, it comes from an account that founds the channel no more: refused,
    and #garden stays bob's, with his ~."""
    n1, n2 = await network.start(2)
    alice = await founder(network, n1, "alice", "#garden")
    bob = await registered(network, n2, "bob", "#garden")
    carol = await registered(network, n2, "carol", "#garden")
    phone = await logged_in(network, n2, "alice_phone", "alice")
    await caught_up(alice)  # the heir's account, registered on node 2
    code = await drop_code(alice, "CHANSERV", "SET #garden FOUNDER carol")
    with paused(n1):
        assert await confirmed(phone, "CHANSERV", "SET #garden FOUNDER bob") == "The founder of #garden is now bob"
        await bob.expect("MODE", "#garden", "+q", "bob")
        await queued(alice, f"CHANSERV SET #garden FOUNDER carol {code}")
    assert (await alice.expect(_from(CS))).params[-1] == "Only the channel founder can do this"
    await caught_up(bob)
    await caught_up(alice)
    assert await cs(carol, "INFO #garden") == "Channel #garden is registered"
    assert (await carol.expect(_from(CS))).params[-1] == "Founder: bob"
    for client in (alice, carol):
        assert await names(client, "#garden") == ["@alice", "carol", "~bob"]


# -- read markers and private history of one account on two nodes ------------------------------


async def test_read_markers_are_the_account_s_on_every_node(network: Cluster) -> None:
    n1, n2, n3 = await network.start(3)
    caps = ["draft/read-marker", "echo-message", *HISTORY]
    laptop = await registered(network, n1, "alice", "#c", caps=caps)
    phone = await logged_in(network, n2, "alice_phone", "alice", caps=caps, channels=["#c"])
    first = (await said(laptop, "#c", "first")).tags["time"]
    second = (await said(laptop, "#c", "second")).tags["time"]

    laptop.send(f"MARKREAD #c timestamp={first}")
    assert (await laptop.expect("MARKREAD")).params == ["#c", f"timestamp={first}"]
    assert (await phone.expect("MARKREAD")).params == ["#c", f"timestamp={first}"]  # told on node 2
    phone.send("MARKREAD #c")
    assert (await phone.expect("MARKREAD")).params == ["#c", f"timestamp={first}"]

    phone.send(f"MARKREAD #c timestamp={second}")
    assert (await phone.expect("MARKREAD")).params == ["#c", f"timestamp={second}"]
    assert (await laptop.expect("MARKREAD")).params == ["#c", f"timestamp={second}"]
    laptop.send(f"MARKREAD #c timestamp={first}")  # backwards, from the other node: not moved
    assert (await laptop.expect("MARKREAD")).params == ["#c", f"timestamp={second}"]
    assert not [m for m in await sync(phone) if m.command == "MARKREAD"]

    # a third connection, on a third node, is told the marker when it joins
    tablet = await logged_in(network, n3, "alice_tablet", "alice", caps=caps)
    tablet.send("JOIN #c")
    assert (await tablet.expect("MARKREAD")).params == ["#c", f"timestamp={second}"]


async def test_private_history_is_shared_by_the_account_s_connections_on_every_node(network: Cluster) -> None:
    n1, n2 = await network.start(2)
    caps = ["echo-message", *HISTORY, "soju.im/search"]
    laptop = await registered(network, n1, "alice", caps=caps)
    bob = await registered(network, n2, "bob", caps=caps)
    phone = await logged_in(network, n2, "alice_phone", "alice", caps=caps)
    await caught_up(bob)
    await said(bob, "alice", "are you coming on saturday?")
    await laptop.expect(lambda m: m.command == "PRIVMSG" and (m.source or "").startswith("bob!"))
    await said(laptop, "bob", "yes, with seeds")

    on_phone = await batch(phone, "CHATHISTORY LATEST bob * 10")
    assert texts(on_phone) == ["are you coming on saturday?", "yes, with seeds"]
    assert as_seen(await batch(laptop, "CHATHISTORY LATEST bob * 10")) == as_seen(on_phone)
    assert texts(await batch(phone, "SEARCH in=bob;text=seeds")) == ["yes, with seeds"]
    phone.send("CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z timestamp=2999-01-01T00:00:00.000Z 10")
    await phone.expect("BATCH")
    targets = [m.params[1] for m in await phone.collect_until("BATCH") if m.command == "CHATHISTORY"]
    assert targets == ["bob"]


async def test_a_message_to_an_offline_account_waits_for_it_on_every_node(network: Cluster) -> None:
    """Kept by the sender's node; its owner, back on another node, finds the conversation
    (TARGETS) and reads it (the read waits for the other node's write)."""
    n1, n2 = await network.start(2)
    caps = ["echo-message", *HISTORY]
    alice = await registered(network, n1, "alice")
    alice.send("QUIT")
    await alice.closed()
    bob = await registered(network, n1, "bob", caps=caps)
    await caught_up(bob)  # n1 has applied alice's quit: the name is free
    echo = await said(bob, "alice", "are you coming on saturday?")
    assert (await bob.expect("301")).params[1] == "alice"
    back = await logged_in(network, n2, "alice", "alice", caps=caps)
    back.send("CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z timestamp=2999-01-01T00:00:00.000Z 10")
    await back.expect("BATCH")
    assert [m.params[1] for m in await back.collect_until("BATCH") if m.command == "CHATHISTORY"] == ["bob"]
    found = await batch(back, "CHATHISTORY LATEST bob * 10")
    assert [(m.params, m.tags.get("msgid")) for m in found] == [
        (["alice", "are you coming on saturday?"], echo.tags["msgid"]),
    ]  # fmt: skip


# -- channel history, REDACT and SEARCH from every node -------------------------------------


async def test_chathistory_of_a_channel_is_answered_alike_on_every_node(network: Cluster) -> None:
    nodes = await network.start(3)
    caps = ["echo-message", *HISTORY]
    members = [await network.client(node, f"user{i}", "#c", caps=caps) for i, node in enumerate(nodes)]
    for member in members:
        await caught_up(member)
    sent = [await said(members[i % 2], "#c", f"m{i}") for i in range(10)]
    ids = [m.tags["msgid"] for m in sent]
    for member in members:
        await caught_up(member)

    queries = {
        "CHATHISTORY LATEST #c * 4": ["m6", "m7", "m8", "m9"],
        f"CHATHISTORY LATEST #c msgid={ids[7]} 10": ["m8", "m9"],
        f"CHATHISTORY BEFORE #c msgid={ids[5]} 3": ["m2", "m3", "m4"],
        f"CHATHISTORY AFTER #c msgid={ids[5]} 2": ["m6", "m7"],
        f"CHATHISTORY BETWEEN #c msgid={ids[1]} msgid={ids[8]} 10": ["m2", "m3", "m4", "m5", "m6", "m7"],
        f"CHATHISTORY BETWEEN #c msgid={ids[8]} msgid={ids[1]} 3": ["m5", "m6", "m7"],
        f"CHATHISTORY AROUND #c msgid={ids[5]} 3": None,  # the node's choice, but the same everywhere
        f"CHATHISTORY BEFORE #c timestamp={sent[9].tags['time']} 100": None,
    }
    for query, expected in queries.items():
        answers = [as_seen(await batch(member, query)) for member in members]
        assert answers[0] == answers[1] == answers[2], query
        if expected is not None:
            assert [line[2][-1] for line in answers[0]] == expected, query
        else:
            assert answers[0], query

    query = "CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z timestamp=2999-01-01T00:00:00.000Z 10"
    targets = []
    for member in members:
        member.send(query)
        await member.expect("BATCH")
        targets.append([m.params for m in await member.collect_until("BATCH") if m.command == "CHATHISTORY"])
    assert targets[0] == targets[1] == targets[2] == [["TARGETS", "#c", sent[9].tags["time"]]]


async def test_redact_on_one_node_removes_the_message_from_history_and_search_on_the_others(
    network: Cluster,
) -> None:
    n1, n2, n3 = await network.start(3)
    caps = ["echo-message", "draft/message-redaction", "soju.im/search", *HISTORY]
    alice = await network.client(n1, "alice", "#seeds", caps=caps)
    bob = await network.client(n2, "bob", "#seeds", caps=caps)
    carol = await network.client(n3, "carol", "#seeds", caps=caps)
    await caught_up(alice)
    wrong = (await said(alice, "#seeds", "tomato seeds are in the shed")).tags["msgid"]
    await said(alice, "#seeds", "tomato soup tonight")
    for reader in (bob, carol):
        await caught_up(reader)
        found = await batch(reader, "SEARCH in=#seeds;text=TOMATO")
        assert texts(found) == ["tomato seeds are in the shed", "tomato soup tonight"]
        assert found[0].tags["msgid"] == wrong

    bob.send(f"REDACT #seeds {wrong} :not yours")  # neither its sender nor an operator
    assert (await bob.expect("FAIL")).params[:2] == ["REDACT", "REDACT_FORBIDDEN"]
    alice.send(f"REDACT #seeds {wrong} :wrong channel")
    await alice.expect("REDACT", "#seeds", wrong, "wrong channel")
    for reader in (bob, carol):
        redacted = await reader.expect("REDACT")
        assert redacted.params == ["#seeds", wrong, "wrong channel"] and (redacted.source or "").startswith("alice!")
        assert texts(await batch(reader, "CHATHISTORY LATEST #seeds * 10")) == ["tomato soup tonight"]
        assert texts(await batch(reader, "SEARCH in=#seeds;text=tomato")) == ["tomato soup tonight"]


# -- K-lines and restarts ---------------------------------------------------------------------


async def _refused(cluster: Cluster, node: Node, username: str) -> bool:
    """Whether a connection registering with `username` is turned away."""
    client = await cluster.client(node)
    client.send(f"NICK {username}{len(cluster.clients)}")  # a nick of its own: the last one may not be gone yet
    client.send(f"USER {username} 0 * :x")
    answer = await client.expect(lambda m: m.command in ("001", "ERROR", "465"))
    return answer.command != "001"


async def test_a_kline_set_on_one_node_holds_on_a_restarted_node_and_a_restarted_network(
    networks: Networks,
) -> None:
    network = networks()
    n1, n2 = await network.start(2)
    oper = await network.client(n1, "oper")
    elsewhere = await network.client(n2, "elsewhere")
    await oper_up(oper)
    oper.send("KLINE ~baddie@* :go away")
    await oper.expect(lambda m: m.command == "NOTICE" and "~baddie@*" in m.params[-1])
    await caught_up(oper)
    await caught_up(elsewhere)  # node 2 has the K-line too
    assert await _refused(network, n2, "baddie")

    await n2.stop()  # node 2 starts again: from the network's snapshot and log
    n2 = await network.add(name="node2.test")
    assert await _refused(network, n2, "baddie")
    assert not await _refused(network, n2, "goodie")
    watcher = await network.client(n2, "watcher")
    await oper_up(watcher)
    watcher.send("STATS k")
    assert [m.params[2:5] for m in await watcher.collect_until("219") if m.command == "216"] == [["*", "*", "~baddie"]]

    await network.close()  # the whole network stops; a new one is founded from the store
    again = networks()
    (n3,) = await again.start(1)
    assert await _refused(again, n3, "baddie")
    assert not await _refused(again, n3, "goodie")


async def test_a_restarted_node_keeps_accounts_channels_history_and_markers(network: Cluster) -> None:
    n1, n2 = await network.start(2)
    caps = ["echo-message", "draft/read-marker", *HISTORY]
    alice = await registered(network, n1, "alice", "#garden", caps=caps)
    assert await cs(alice, "REGISTER #garden") == "Channel #garden successfully registered"
    alice.send("TOPIC #garden :seeds swap on saturday")
    await alice.expect("TOPIC")
    kept = await said(alice, "#garden", "kept for later")
    alice.send(f"MARKREAD #garden timestamp={kept.tags['time']}")
    await alice.expect("MARKREAD")
    bob = await network.client(n2, "bob")
    await caught_up(bob)

    for restarted in range(2):  # node 1 restarts, then node 2
        node = network.nodes[restarted]
        await node.stop()
        node = await network.add(name=node.name)
        phone = await logged_in(network, node, f"alice_{restarted}", "alice", caps=caps)
        phone.send("JOIN #garden")
        assert (await phone.expect("MARKREAD")).params == ["#garden", f"timestamp={kept.tags['time']}"]
        assert (await phone.expect("332")).params[-1] == "seeds swap on saturday"
        assert f"~alice_{restarted}" in names_of(await phone.expect("353"))
        assert texts(await batch(phone, "CHATHISTORY LATEST #garden * 10")) == ["kept for later"]
        await oper_up(phone)
        found = await digests(phone, 2)
        assert len(set(found.values())) == 1, found


# -- deleting an account --------------------------------------------------------------------


async def test_nickserv_drop_on_one_node_logs_out_the_account_everywhere(network: Cluster) -> None:
    n1, n2, n3 = await network.start(3)
    caps = ["account-notify", "echo-message", *HISTORY]
    alice = await registered(network, n1, "alice", "#garden", caps=caps)
    assert await cs(alice, "REGISTER #garden") == "Channel #garden successfully registered"
    bob = await registered(network, n2, "bob", caps=caps)
    phone = await logged_in(network, n2, "alice_phone", "alice", caps=caps, channels=["#garden"])
    watcher = await network.client(n3, "watcher", "#garden", caps=caps)
    await caught_up(watcher)
    await said(bob, "alice", "a word in private")
    await caught_up(alice)
    assert texts(await batch(bob, "CHATHISTORY LATEST alice * 10")) == ["a word in private"]

    assert await confirmed(alice, "NICKSERV", "DROP") == "Successfully unregistered account alice"
    told = await phone.collect_until("901")
    assert told[-1].params[1].startswith("alice_phone!"), told
    assert ["alice_phone", "-r"] in [m.params for m in told if m.command == "MODE"], told
    logged_out = set()
    while len(logged_out) < 2:
        account = await watcher.expect(lambda m: m.command == "ACCOUNT" and m.params == ["*"])
        logged_out.add((account.source or "").split("!")[0])
    assert logged_out == {"alice", "alice_phone"}
    unfounded: set[str] = set()  # ChanServ takes the founder status the account's connections held
    while len(unfounded) < 2:
        mode = await watcher.expect(lambda m: m.command == "MODE" and m.params[:2] == ["#garden", "-q"])
        assert mode.source == CS, mode
        unfounded.update(mode.params[2:])
    assert unfounded == {"alice", "alice_phone"}
    assert not [name for name in await names(watcher, "#garden") if name.startswith("~")]
    assert await cs(watcher, "INFO #garden") == "Channel #garden is not registered"
    assert await ns(watcher, "INFO alice") == "Account does not exist"
    assert await login_result(network, n3, "alice", PASSWORD) == "904"
    bob.send("CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z timestamp=2999-01-01T00:00:00.000Z 10")
    await bob.expect("BATCH")
    assert not [m for m in await bob.collect_until("BATCH") if m.command == "CHATHISTORY"]


async def test_nickserv_drop_takes_founder_status_in_a_channel_registered_on_a_node_its_node_had_not_read_yet(
    network: Cluster,
) -> None:
    """The account's phone registers #garden on node 2 (and gets ~) while node 1 is paused;
    the account's DROP reaches node 1 before it has read that registration from the log.
    The registration is ordered before the drop, which unregisters the channel: the
    phone's ~ must go with it all the same."""
    n1, n2 = await network.start(2)
    alice = await registered(network, n1, "alice")
    code = await drop_code(alice, "NICKSERV", "DROP")
    phone = await logged_in(network, n2, "alice_phone", "alice", channels=["#garden"])
    with paused(n1):
        assert await cs(phone, "REGISTER #garden") == "Channel #garden successfully registered"
        await phone.expect("MODE", "#garden", "+q", "alice_phone")
        assert await names(phone, "#garden") == ["~alice_phone"]
        await queued(alice, f"NICKSERV DROP alice {code}")
    assert (await alice.expect(_from(NS))).params[-1] == "Successfully unregistered account alice"
    await caught_up(phone)
    await caught_up(alice)
    assert await cs(phone, "INFO #garden") == "Channel #garden is not registered"
    for client in (alice, phone):
        assert await names(client, "#garden") == ["@alice_phone"]


async def test_nickserv_drop_leaves_founder_status_in_a_channel_given_away_on_a_node_its_node_had_not_read_yet(
    network: Cluster,
) -> None:
    """The account's phone gives #garden to bob on node 2 (bob gets ~) while node 1 is
    paused; the account's DROP reaches node 1 before it has read that from the log. The
    channel is bob's when the drop comes, in the network's order: it stays registered,
    and bob keeps his ~."""
    n1, n2 = await network.start(2)
    alice = await founder(network, n1, "alice", "#garden")
    code = await drop_code(alice, "NICKSERV", "DROP")
    bob = await registered(network, n2, "bob", "#garden")
    phone = await logged_in(network, n2, "alice_phone", "alice")
    with paused(n1):
        assert await confirmed(phone, "CHANSERV", "SET #garden FOUNDER bob") == "The founder of #garden is now bob"
        await bob.expect("MODE", "#garden", "+q", "bob")
        assert await names(bob, "#garden") == ["@alice", "~bob"]
        await queued(alice, f"NICKSERV DROP alice {code}")
    assert (await alice.expect(_from(NS))).params[-1] == "Successfully unregistered account alice"
    await caught_up(bob)
    await caught_up(alice)
    assert await cs(bob, "INFO #garden") == "Channel #garden is registered"
    assert (await bob.expect(_from(CS))).params[-1] == "Founder: bob"
    for client in (alice, bob):
        assert await names(client, "#garden") == ["@alice", "~bob"]


async def test_accounts_changed_offline_while_every_node_is_stopped_count_when_the_network_starts_again(
    networks: Networks, postgres_url: str
) -> None:
    network = networks()
    n1, _ = await network.start(2)
    await caught_up(await registered(network, n1, "alice"))
    await network.close()  # every node stopped, as the docs ask before `hubbub account`
    status, said = await account_cli(postgres_url, "del", "alice")
    assert (status, said.partition(" from ")[0]) == (0, "account alice deleted")
    status, said = await account_cli(postgres_url, "add", "erin", password="s3cret-pw\n")
    assert (status, said.partition(" in ")[0]) == (0, "account erin created")

    again = networks(network.keyspace)  # the same network (the same Redis keyspace) starts again
    (n3,) = await again.start(1)
    assert await login_result(again, n3, "erin", "s3cret-pw") == "903"
    assert await login_result(again, n3, "alice", PASSWORD) == "904"


# -- history of what a node's users did, whoever records it -------------------------------------


async def test_a_message_delivered_to_another_node_is_in_history_there(network: Cluster) -> None:
    n1, n2 = await network.start(2)
    alice = await network.client(n1, "alice", "#c")  # a plain client: no echo-message
    bob = await network.client(n2, "bob", "#c", caps=HISTORY)
    await caught_up(alice)
    alice.send("PRIVMSG #c :said once")
    await bob.expect("PRIVMSG", "#c", "said once")
    found: list[str] = []
    for _ in range(20):  # every round trip through the log gives node 1 time to commit
        await caught_up(bob)
        found = texts(await batch(bob, "CHATHISTORY LATEST #c * 10"))
        if found:
            break
    assert found == ["said once"]


async def test_the_quits_of_a_stopped_node_s_users_are_in_the_history_of_their_channels(network: Cluster) -> None:
    n1, n2 = await network.start(2)
    alice = await network.client(n1, "alice", "#c", caps=[*HISTORY, "draft/event-playback"])
    await network.client(n2, "bob", "#c")
    await alice.expect(lambda m: m.command == "JOIN" and (m.source or "").startswith("bob!"))
    await n2.stop()
    seen = await alice.expect(lambda m: m.command == "QUIT" and (m.source or "").startswith("bob!"))
    lines = await batch(alice, "CHATHISTORY LATEST #c * 10")
    quits = [(m.source or "").split("!")[0] for m in lines if m.command == "QUIT"]
    assert quits == ["bob"], (seen, as_seen(lines))


async def test_a_secret_channel_emptied_by_a_node_stopping_takes_its_history_along(network: Cluster) -> None:
    n1, n2 = await network.start(2)
    bob = await network.client(n2, "bob", "#hush", caps=["echo-message"])
    bob.send("MODE #hush +s")
    await bob.expect("MODE", "#hush", "+s")
    await said(bob, "#hush", "between us")
    alice = await network.client(n1, "alice", caps=HISTORY)
    await caught_up(alice)
    await n2.stop()
    await caught_up(alice)  # node 1 applied the departure: #hush is gone
    alice.send("JOIN #hush")
    assert names_of(await alice.expect("353")) == ["@alice"]  # a new channel, and alice its op
    assert texts(await batch(alice, "CHATHISTORY LATEST #hush * 10")) == []
