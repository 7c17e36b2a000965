"""History on a network under faults: a black-box audit.

Every node is a real `hubbub serve --cluster` process on a real redis-server, and the
nodes share one real PostgreSQL database (docs/cluster.md: a cluster keeps its history
and accounts there). Clients on different nodes talk while a node is killed (SIGKILL),
while Redis restarts, while a node is paused (SIGSTOP), and concurrently; afterwards
CHATHISTORY is asked on every node. What cluster.md, store.md and history.md promise:

- "A message acknowledged to its sender ... is in the log: every member on every
  surviving node gets it, once", and "nothing a client has seen can be missing from the
  history after a crash" (store.md), but for one stated exception: "a message delivered
  to others whose sender's node dies within a few milliseconds (before its store batch
  commits) may be missing from history". A node commits in order, so once its sender had
  a later message acknowledged, an earlier one is not in that exception.
- The msgid and time travel inside the event: every node shows the same msgid.
- The log's order is the network's order; CHATHISTORY gives "the line that was
  relayed", oldest first.

What test_faults.py, test_lagging_nodes.py, test_shared_store.py and
test_cluster_services_audit.py check already (live delivery across a kill and a Redis
restart, digests, services across nodes without faults) is not repeated here.
"""

from __future__ import annotations

import asyncio
import base64
import signal
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence

import pytest
from scramp import ScramClient

from hubbub.irc.message import Message
from tests.cluster.support import NODE_TIMEOUT, Cluster, Node, caught_up
from tests.helpers import LineClient
from tests.services import RedisServer

HISTORY = ("draft/chathistory", "batch", "server-time", "message-tags")
CAPS = ("echo-message", *HISTORY)
# every message of a test in one CHATHISTORY answer: no paging to get wrong
WHOLE = "history.chathistory_max=2000"
NS = "NickServ!NickServ@services"
CS = "ChanServ!ChanServ@services"
PASSWORD = "correct-horse"


# -- networks on PostgreSQL -------------------------------------------------------------------


Networks = Callable[..., Cluster]


@pytest.fixture
async def networks(redis_server: RedisServer, cluster_config: str, postgres_url: str) -> AsyncIterator[Networks]:
    """`networks(redis_url=None)`: a network of its own on this test's PostgreSQL database
    (on the session's redis-server unless another URL is given); all closed at the end."""
    made: list[Cluster] = []

    def make(url: str | None = None) -> Cluster:
        cluster = Cluster(url or redis_server.url, cluster_config, db=postgres_url)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        await cluster.close()


@pytest.fixture
def network(networks: Networks) -> Cluster:
    return networks()


# -- what clients saw ---------------------------------------------------------------------------


def nick_of(message: Message) -> str:
    return (message.source or "").split("!")[0]


def said_in(client: LineClient, channel: str = "#c") -> list[tuple[str, str, str]]:
    """The channel's messages as the client saw them live, in order: (sender, text, msgid)."""
    return [(nick_of(m), m.params[-1], m.tags.get("msgid", "")) for m in client.received
            if m.command == "PRIVMSG" and m.params[0] == channel and "batch" not in m.tags]  # fmt: skip


async def batch(client: LineClient, line: str) -> list[Message]:
    """Send `line`; the lines of the batch answering it (the BATCH lines left out)."""
    client.send(line)
    opening = await client.expect(lambda m: m.command == "BATCH" and m.params[0].startswith("+"), timeout=20)
    ref = opening.params[0][1:]
    lines = await client.collect_until(lambda m: m.command == "BATCH" and m.params[0] == "-" + ref, timeout=20)
    return lines[:-1]


async def history(client: LineClient, channel: str = "#c") -> list[tuple[str, str, str]]:
    """The channel's whole history of messages, oldest first: (sender, text, msgid)."""
    lines = await batch(client, f"CHATHISTORY LATEST {channel} * 2000")
    assert len(lines) < 2000, "more history than one answer holds: the test must say less"
    return [(nick_of(m), m.params[-1], m.tags.get("msgid", "")) for m in lines if m.command == "PRIVMSG"]


async def said(client: LineClient, text: str, channel: str = "#c") -> Message:
    """Say `text` (echo-message): its echo, with its msgid and time."""
    client.send(f"PRIVMSG {channel} :{text}")
    return await client.expect(lambda m: m.command == "PRIVMSG" and m.params == [channel, text] and
                               nick_of(m) == client.nick)  # fmt: skip


async def chatter(client: LineClient, tag: str, stop: asyncio.Event, acked: list[Message], most: int = 300) -> None:
    """Say numbered lines to #c until told to stop (`most` at most), pacing on the echoes
    (echo-message) and a few milliseconds more, so that the channel's history stays
    within one CHATHISTORY answer: `acked` gets the echo of each line acknowledged."""
    for n in range(most):
        if stop.is_set():
            return
        text = f"{tag} {n}"
        client.send(f"PRIVMSG #c :{text}")
        try:
            echo = await client.expect(lambda m, t=text: m.command == "PRIVMSG" and m.params[-1] == t and
                                       nick_of(m) == client.nick, timeout=NODE_TIMEOUT * 4)  # fmt: skip
        except (AssertionError, ConnectionError):
            return  # not acknowledged: it does not count
        acked.append(echo)
        await asyncio.sleep(0.004)


async def listen(client: LineClient) -> None:
    """Read everything the client is sent until its connection ends."""
    try:
        while await client.read_message(timeout=3600) is not None:
            pass
    except (ConnectionError, OSError):
        pass


async def joined(watcher: LineClient, *nicks: str) -> None:
    for nick in nicks:
        await watcher.expect(lambda m, n=nick: m.command == "JOIN" and nick_of(m) == n)


def duplicates(items: Sequence[object]) -> list[object]:
    return [item for item, count in Counter(items).items() if count > 1]


def msgids_agree(*views: Sequence[tuple[str, str, str]]) -> dict[tuple[str, str], set[str]]:
    """(sender, text) -> the msgids the views show for it, where they differ."""
    seen: dict[tuple[str, str], set[str]] = {}
    for view in views:
        for sender, text, msgid in view:
            seen.setdefault((sender, text), set()).add(msgid)
    return {key: ids for key, ids in seen.items() if len(ids) > 1}


# -- accounts --------------------------------------------------------------------------------------


def from_service(source: str) -> Callable[[Message], bool]:
    return lambda m: m.command == "NOTICE" and m.source == source


async def ns(client: LineClient, line: str) -> str:
    """Say `line` to NickServ; its first answer."""
    client.send(f"NICKSERV {line}")
    return (await client.expect(from_service(NS))).params[-1]


async def registered(cluster: Cluster, node: Node, nick: str, *channels: str, caps: Sequence[str] = ()) -> LineClient:
    """A client that registered its nick as an account with NickServ (and is logged in)."""
    client = await cluster.client(node, nick, *channels, caps=caps)
    assert await ns(client, f"REGISTER {PASSWORD}") == "Account created"
    await client.expect(from_service(NS))  # You're now logged in as ...
    return client


async def sasl_ready(cluster: Cluster, node: Node, caps: Sequence[str] = ()) -> LineClient:
    """A connection that negotiated `sasl` and began a PLAIN exchange: the next line it
    sends is the credentials."""
    client = await cluster.client(node)
    client.send("CAP LS 302")
    client.send("CAP REQ :" + " ".join(("sasl", *caps)))
    await client.expect("CAP", "*", "ACK")
    client.send("AUTHENTICATE PLAIN")
    await client.expect("AUTHENTICATE", "+")
    return client


def credentials(account: str, password: str = PASSWORD) -> str:
    return "AUTHENTICATE " + base64.b64encode(f"{account}\0{account}\0{password}".encode()).decode()


async def sasl_end(client: LineClient) -> str:
    """The numeric that ends a SASL exchange (903 logged in, 904 refused)."""
    return (await client.expect(lambda m: m.command in ("903", "904", "905", "906"))).command


async def logged_in(cluster: Cluster, node: Node, nick: str, account: str, *channels: str,
                    caps: Sequence[str] = ()) -> LineClient:  # fmt: skip
    client = await sasl_ready(cluster, node, caps)
    client.send(credentials(account))
    assert await sasl_end(client) == "903"
    client.send("CAP END")
    await client.register(nick)
    for channel in channels:
        await client.join(channel)
    return client


# -- a node killed during traffic ---------------------------------------------------------------


async def test_after_a_node_is_killed_history_holds_what_was_delivered_once_with_the_live_msgids(
    network: Cluster,
) -> None:
    n1, n2, n3 = await network.start(3, WHOLE)
    alice = await network.client(n1, "alice", "#c", caps=CAPS)
    bob = await network.client(n2, "bob", "#c", caps=CAPS)
    carol = await network.client(n3, "carol", "#c", caps=CAPS)
    dave = await network.client(n3, "dave", "#c", caps=HISTORY)  # a listener on the node that dies
    await joined(alice, "bob", "carol", "dave")
    await joined(bob, "carol", "dave")
    stop = asyncio.Event()
    acked: dict[str, list[Message]] = {"alice": [], "bob": [], "carol": []}
    talking = [asyncio.create_task(chatter(who, who.nick, stop, acked[who.nick])) for who in (alice, bob, carol)]
    listening = asyncio.create_task(listen(dave))
    # traffic: each of the three has had lines acknowledged before carol's node dies (a
    # fixed 0.6 s had left carol none once, on a loaded machine, and nothing to test)
    deadline = asyncio.get_running_loop().time() + 20
    while any(len(lines) < 10 for lines in acked.values()):
        assert asyncio.get_running_loop().time() < deadline, network.logs()
        await asyncio.sleep(0.05)
    n3.kill()
    deadline = asyncio.get_running_loop().time() + NODE_TIMEOUT * 5
    for survivor in (alice, bob):  # chatter keeps reading their lines: look at what it read
        while {nick_of(m) for m in survivor.received if m.command == "QUIT"} != {"carol", "dave"}:
            assert asyncio.get_running_loop().time() < deadline, network.logs()
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # more traffic among the survivors
    stop.set()
    await asyncio.gather(*talking)
    await listening
    await caught_up(alice)
    await caught_up(bob)

    live = {who.nick: said_in(who) for who in (alice, bob, carol, dave)}
    assert acked["alice"] and acked["bob"] and acked["carol"]
    assert not msgids_agree(*live.values()), "one message, different msgids on different nodes"
    # the survivors saw the same messages in the same order
    assert live["alice"] == live["bob"]

    # every message that must be kept: all the survivors saw, but those carol's node never
    # acknowledged after its last acknowledged one (the documented exception)
    last_carol = acked["carol"][-1].params[-1]
    seen = [line for view in live.values() for line in view]
    cut = next(i for i, line in enumerate(live["alice"]) if line[:2] == ("carol", last_carol))
    exempt = {line for line in live["alice"][cut + 1 :] if line[0] == "carol"}
    must = {line for line in seen if line not in exempt}

    found = {}
    for asker in (alice, bob):
        found[asker.nick] = await history(asker)
    n3b = await network.add(WHOLE, name="node3.test")
    erin = await network.client(n3b, "erin", "#c", caps=[*HISTORY, "draft/event-playback"])
    found["erin"] = await history(erin)
    quits = [nick_of(m) for m in await batch(erin, "CHATHISTORY LATEST #c * 2000") if m.command == "QUIT"]
    assert sorted(quits) == ["carol", "dave"], "the lost node's users quit once each in history"
    for asker, kept in found.items():
        assert not duplicates([msgid for _, _, msgid in kept]), f"{asker}: a msgid twice in history"
        assert not duplicates([(who, text) for who, text, _ in kept]), f"{asker}: a message twice in history"
        assert not msgids_agree(kept, *live.values()), f"{asker}: history's msgids differ from the live ones"
        missing = sorted(must - set(kept))
        assert not missing, f"{asker}: {len(missing)} delivered messages missing from history: {missing[:5]}"
    # every node answers alike (the order history gives is the subject of a test below)
    assert found["alice"] == found["bob"] == found["erin"]


# -- messages sent at once from every node ----------------------------------------------------


async def burst(network: Cluster, per: int = 60) -> list[LineClient]:
    """Three nodes, a member on each; every member sends `per` lines at once (pipelined)
    and reads until it has seen everyone's."""
    nodes = await network.start(3, WHOLE)
    members = [await network.client(node, f"user{i}", "#c", caps=CAPS) for i, node in enumerate(nodes)]
    for member in members:
        await caught_up(member)
    for i, member in enumerate(members):
        member.writer.write(b"".join(f"PRIVMSG #c :u{i} m{k}\r\n".encode() for k in range(per)))
    for member in members:
        while len(said_in(member)) < per * len(members):
            await member.expect("PRIVMSG", timeout=20)
    return members


async def test_messages_sent_at_once_from_three_nodes_are_seen_in_one_order_and_kept_once_each(
    network: Cluster,
) -> None:
    per = 60
    members = await burst(network, per)
    live = [said_in(member) for member in members]
    assert live[0] == live[1] == live[2], "the nodes' clients saw different orders"
    assert not duplicates([msgid for _, _, msgid in live[0]])
    for i in range(len(members)):  # each sender's lines in the order it sent them
        assert [text for who, text, _ in live[0] if who == f"user{i}"] == [f"u{i} m{k}" for k in range(per)]
    found = [await history(member) for member in members]
    assert found[0] == found[1] == found[2]
    assert sorted(found[0]) == sorted(live[0])  # the same messages, msgids included, once each


async def test_history_gives_messages_sent_at_once_from_three_nodes_in_the_order_they_were_relayed(
    network: Cluster,
) -> None:
    members = await burst(network)
    live = said_in(members[0])
    # what the client saw live, in that order (history.md: "the line that was relayed",
    # oldest first); a client that saw up to some message and asks for what came after it
    # must get the rest
    assert await history(members[1]) == live
    for k, (_, _, msgid) in enumerate(live[:-1]):
        after = await batch(members[2], f"CHATHISTORY AFTER #c msgid={msgid} 2000")
        assert [m.tags["msgid"] for m in after if m.command == "PRIVMSG"] == [line[2] for line in live[k + 1 :]]


# -- Redis restarted during traffic -------------------------------------------------------------


async def channel_view(client: LineClient, channel: str = "#c") -> tuple[object, ...]:
    """NAMES, MODE and TOPIC of a channel as one client sees them."""
    client.send(f"NAMES {channel}")
    names = sorted(" ".join(m.params[-1] for m in await client.collect_until("366") if m.command == "353").split())
    client.send(f"MODE {channel}")
    modes = (await client.expect("324")).params[2:]
    client.send(f"MODE {channel} b")
    bans = [m.params[2] for m in await client.collect_until("368") if m.command == "367"]
    client.send(f"TOPIC {channel}")
    topic = await client.expect(lambda m: m.command in ("331", "332"))
    return names, modes, bans, topic.params[-1]


async def test_after_redis_restarts_during_traffic_history_has_each_message_once_and_nodes_agree(
    networks: Networks, own_redis: RedisServer
) -> None:
    network = networks(own_redis.url)
    n1, n2, n3 = await network.start(3, WHOLE)
    alice = await network.client(n1, "alice", "#c", caps=CAPS)
    bob = await network.client(n2, "bob", "#c", caps=CAPS)
    carol = await network.client(n3, "carol", "#c", caps=CAPS)
    await joined(alice, "bob", "carol")
    alice.send("TOPIC #c :before")
    alice.send("MODE #c +lb 50 x!*@*")
    await carol.expect("MODE", "#c", "+lb")
    stop = asyncio.Event()
    acked: dict[str, list[Message]] = {"alice": [], "bob": [], "carol": []}
    talking = [asyncio.create_task(chatter(who, who.nick, stop, acked[who.nick])) for who in (alice, bob, carol)]
    await asyncio.sleep(0.4)
    own_redis.stop()  # SIGTERM; nothing is saved: it comes back empty
    alice.send("TOPIC #c :set while Redis was away")  # waits, then goes out
    alice.send("MODE #c +v carol")
    await asyncio.sleep(0.4)
    own_redis.start()
    before = {nick: len(lines) for nick, lines in acked.items()}
    deadline = asyncio.get_running_loop().time() + 20
    while any(len(acked[nick]) < before[nick] + 5 for nick in acked):  # talking again, everyone
        assert asyncio.get_running_loop().time() < deadline, network.logs()
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(*talking)
    for member in (alice, bob, carol):
        await caught_up(member)

    everyone = (alice, bob, carol)
    # what clients see: a pause, nothing more (cluster.md, "Redis restarts empty")
    told = [(who.nick, m.command, m.params) for who in everyone for m in who.received
            if m.command in ("QUIT", "ERROR", "FAIL", "KILL")]  # fmt: skip
    assert not told, told
    live = {who.nick: said_in(who) for who in everyone}
    assert live["alice"] == live["bob"] == live["carol"]
    assert not duplicates(live["alice"]), "a message delivered twice"
    for nick, echoes in acked.items():  # every acknowledged line reached everyone
        assert [text for who, text, _ in live["alice"] if who == nick] == [m.params[-1] for m in echoes]

    found = [await history(who) for who in everyone]
    for kept in found:
        assert not duplicates([msgid for _, _, msgid in kept]), "a msgid twice in history"
        assert not duplicates([(who, text) for who, text, _ in kept]), "a message twice in history"
        assert sorted(kept) == sorted(live["alice"]), "history is not what was delivered"
    assert found[0] == found[1] == found[2]

    views = [await channel_view(who) for who in everyone]
    assert views[0] == views[1] == views[2], views
    names, modes, bans, topic = views[0]
    assert names == ["+carol", "@alice", "bob"] and bans == ["x!*@*"] and topic == "set while Redis was away", views
    assert "l" in modes[0] and "50" in modes, modes
    # the changes made while Redis was away are in the events' history once
    reader = await network.client(n2, "reader", "#c", caps=[*HISTORY, "draft/event-playback"])
    events = [(m.command, tuple(m.params)) for m in await batch(reader, "CHATHISTORY LATEST #c * 2000")
              if m.command in ("TOPIC", "MODE")]  # fmt: skip
    assert Counter(events)[("TOPIC", ("#c", "set while Redis was away"))] == 1, events
    assert Counter(events)[("MODE", ("#c", "+v", "carol"))] == 1, events


# -- a node paused for a few seconds ------------------------------------------------------------


def pause(node: Node) -> None:
    assert node.process is not None
    node.process.send_signal(signal.SIGSTOP)


def resume(node: Node) -> None:
    assert node.process is not None
    node.process.send_signal(signal.SIGCONT)


async def test_a_node_paused_for_a_few_seconds_catches_up_in_order_with_its_history_complete(
    networks: Networks,
) -> None:
    network = networks()
    # a node timeout longer than the pause: the paused node stays a member of the network
    n1, n2 = await network.start(2, WHOLE, "cluster.node_timeout=8")
    caps = [*CAPS, "draft/read-marker"]
    laptop = await registered(network, n1, "alice", "#c", caps=caps)
    bob = await network.client(n1, "bob", "#c", caps=caps)
    phone = await logged_in(network, n2, "alice_phone", "alice", "#c", caps=caps)
    await joined(laptop, "alice_phone")
    pause(n2)
    paused_at = asyncio.get_running_loop().time()
    try:
        sent = [await said(bob, f"while paused {k}") for k in range(30)]
        laptop.send(f"MARKREAD #c timestamp={sent[14].tags['time']}")
        await laptop.expect("MARKREAD")
        for k in range(3):  # the phone's user types meanwhile: the lines wait in its socket
            phone.send(f"PRIVMSG #c :typed while paused {k}")
        await asyncio.sleep(max(0.0, 2.5 - (asyncio.get_running_loop().time() - paused_at)))  # the pause
    finally:
        resume(n2)
    await phone.expect("PRIVMSG", "#c", "typed while paused 2", timeout=10)
    await bob.expect("PRIVMSG", "#c", "typed while paused 2")
    await caught_up(phone)
    await caught_up(laptop)

    assert not [m for m in phone.received if m.command in ("ERROR", "FAIL")]
    expected = [("bob", f"while paused {k}") for k in range(30)] + [
        ("alice_phone", f"typed while paused {k}") for k in range(3)]  # fmt: skip
    on_phone = said_in(phone)
    assert [line[:2] for line in on_phone] == expected
    assert on_phone == said_in(laptop) == said_in(bob)
    assert [m.params for m in phone.received if m.command == "MARKREAD"][-1] == [
        "#c", f"timestamp={sent[14].tags['time']}"]  # fmt: skip
    assert await history(phone) == await history(laptop) == on_phone


async def test_a_node_paused_past_its_timeout_drops_its_clients_and_history_holds_just_what_was_delivered(
    network: Cluster,
) -> None:
    n1, n2 = await network.start(2, WHOLE)
    bob = await network.client(n1, "bob", "#c", caps=CAPS)
    dave = await network.client(n2, "dave", "#c", caps=CAPS)
    await joined(bob, "dave")
    await said(dave, "before the pause")
    pause(n2)
    try:
        gone = await bob.expect("QUIT", timeout=NODE_TIMEOUT * 5)
        assert nick_of(gone) == "dave" and "node2.test lost contact" in gone.params[-1]
        for k in range(5):
            await said(bob, f"while it slept {k}")
        for k in range(3):  # typed on the lost node: they wait in its socket
            dave.send(f"PRIVMSG #c :typed while lost {k}")
    finally:
        resume(n2)
    await dave.closed(timeout=NODE_TIMEOUT * 5)  # the ERROR it should say: the next test
    await caught_up(bob)
    erin = await network.client(n2, "erin", "#c", caps=HISTORY)  # node 2 again, a new incarnation
    await caught_up(erin)

    delivered = said_in(bob)
    assert [line[:2] for line in delivered if line[0] == "bob"] == [("bob", f"while it slept {k}") for k in range(5)]
    assert not [line for line in said_in(erin)], "replayed as if live"
    on_1, on_2 = await history(bob), await history(erin)
    assert on_1 == on_2
    assert sorted(on_1) == sorted(delivered), "history is not what the network delivered"


async def test_a_client_that_typed_while_its_node_was_paused_past_its_timeout_is_told_why_it_is_closed(
    network: Cluster,
) -> None:
    n1, n2 = await network.start(2)
    bob = await network.client(n1, "bob", "#c", caps=CAPS)
    dave = await network.client(n2, "dave", "#c", caps=CAPS)
    await joined(bob, "dave")
    await said(dave, "before the pause")
    pause(n2)
    try:
        await bob.expect(lambda m: m.command == "QUIT" and nick_of(m) == "dave", timeout=NODE_TIMEOUT * 5)
        for k in range(3):
            dave.send(f"PRIVMSG #c :typed while lost {k}")
    finally:
        resume(n2)
    lines = await dave.closed(timeout=NODE_TIMEOUT * 5)
    # cluster.md: "when it is back they get ERROR (This server lost contact with the network)"
    assert any(line.startswith("ERROR") and "lost contact" in line for line in lines), lines


# -- accounts used on another node at once ------------------------------------------------------


async def test_an_account_registered_on_one_node_logs_in_on_another_at_once(network: Cluster) -> None:
    n1, n2 = await network.start(2)
    for k in range(2):  # twice: a race would show
        ready = await sasl_ready(network, n2)  # waiting for the credentials, before the account exists
        await registered(network, n1, f"acct{k}")
        ready.send(credentials(f"acct{k}"))  # the moment "Account created" is read
        assert await sasl_end(ready) == "903", f"acct{k}"


async def test_an_account_registered_while_another_node_lags_logs_in_there_once_it_resumes(
    networks: Networks,
) -> None:
    network = networks()
    n1, n2 = await network.start(2, "cluster.node_timeout=8")
    ready = await sasl_ready(network, n2)
    pause(n2)
    try:
        await registered(network, n1, "alice")
        ready.send(credentials("alice"))  # read by node 2 when it runs again
        await asyncio.sleep(1.0)  # the lag
    finally:
        resume(n2)
    assert await sasl_end(ready) == "903"


async def test_scram_for_an_account_registered_while_another_node_lags_succeeds_there_once_it_resumes(
    networks: Networks,
) -> None:
    network = networks()
    n1, n2 = await network.start(2, "cluster.node_timeout=8")
    client = await network.client(n2)
    client.send("CAP LS 302")
    client.send("CAP REQ :sasl")
    await client.expect("CAP", "*", "ACK")
    client.send("AUTHENTICATE SCRAM-SHA-256")
    await client.expect("AUTHENTICATE", "+")
    exchange = ScramClient(["SCRAM-SHA-256"], "alice", PASSWORD)
    pause(n2)
    try:
        await registered(network, n1, "alice")
        # read by node 2 when it runs again: the keys it answers with must be alice's
        client.send("AUTHENTICATE " + base64.b64encode(exchange.get_client_first().encode()).decode())
        await asyncio.sleep(1.0)  # the lag
    finally:
        resume(n2)
    challenge = await client.expect("AUTHENTICATE")
    exchange.set_server_first(base64.b64decode(challenge.params[0]).decode())
    client.send("AUTHENTICATE " + base64.b64encode(exchange.get_client_final().encode()).decode())
    proof = await client.expect(lambda m: m.command == "AUTHENTICATE" or m.command in ("904", "905"))
    assert proof.command == "AUTHENTICATE"
    exchange.set_server_final(base64.b64decode(proof.params[0]).decode())  # the node holds alice's keys
    client.send("AUTHENTICATE +")
    assert await sasl_end(client) == "903"


async def test_an_account_dropped_on_one_node_cannot_log_in_on_another_at_once_and_its_name_is_free_there(
    network: Cluster,
) -> None:
    n1, n2 = await network.start(2)
    laptop = await registered(network, n1, "alice")
    phone = await logged_in(network, n2, "alice_phone", "alice")
    ready = await sasl_ready(network, n2)
    laptop.send("NICKSERV DROP")
    while "To confirm" not in (notice := (await laptop.expect(from_service(NS))).params[-1]):
        pass
    laptop.send(f"NICKSERV DROP alice {notice.split()[-1]}")
    assert (await laptop.expect(from_service(NS))).params[-1] == "Successfully unregistered account alice"
    ready.send(credentials("alice"))  # at once, on the node where the account is logged in
    assert await sasl_end(ready) == "904"
    await phone.expect("901")  # logged out there
    # the name is free on node 2 at once: registered again there, usable on node 1 at once
    laptop.send("NICK laptop")
    await laptop.expect("NICK")
    newcomer = await network.client(n2, "alice2")
    newcomer.send("NICK alice")
    await newcomer.expect("NICK")
    newcomer.nick = "alice"
    assert await ns(newcomer, "REGISTER other-horse") == "Account created"
    again = await sasl_ready(network, n1)
    again.send(credentials("alice", "other-horse"))
    assert await sasl_end(again) == "903"


async def test_a_channel_registered_on_a_node_killed_just_after_keeps_its_founder_on_the_others(
    networks: Networks,
) -> None:
    network = networks()
    n1, n2 = await network.start(2, WHOLE)
    alice = await registered(network, n1, "alice", "#garden", caps=CAPS)
    alice.send("CHANSERV REGISTER #garden")
    assert (await alice.expect(from_service(CS))).params[-1] == "Channel #garden successfully registered"
    n1.kill()  # right after the reply: what it acknowledged was committed
    phone = await logged_in(network, n2, "alice_phone", "alice", caps=CAPS)
    phone.send("JOIN #garden")
    names = sorted((await phone.expect("353")).params[-1].split())
    assert "~alice_phone" in names, names
    phone.send("CHANSERV INFO #garden")
    assert (await phone.expect(from_service(CS))).params[-1] == "Channel #garden is registered"

    await network.close()  # the whole network starts again, from the store
    again = networks()
    (n3,) = await again.start(1, WHOLE)
    tablet = await logged_in(again, n3, "alice_tablet", "alice", "#garden", caps=CAPS)
    tablet.send("NAMES #garden")
    assert sorted((await tablet.expect("353")).params[-1].split()) == ["~alice_tablet"]


async def test_an_account_dropped_while_another_node_lags_is_refused_there_once_it_resumes(networks: Networks) -> None:
    network = networks()
    n1, n2 = await network.start(2, "cluster.node_timeout=8")
    laptop = await registered(network, n1, "alice")
    ready = await sasl_ready(network, n2)
    await caught_up(await network.client(n2, "watcher"))  # node 2 knows the account
    pause(n2)
    try:
        laptop.send("NICKSERV DROP")
        while "To confirm" not in (notice := (await laptop.expect(from_service(NS))).params[-1]):
            pass
        laptop.send(f"NICKSERV DROP alice {notice.split()[-1]}")
        assert (await laptop.expect(from_service(NS))).params[-1] == "Successfully unregistered account alice"
        ready.send(credentials("alice"))  # read by node 2 when it runs again
        await asyncio.sleep(1.0)  # the lag
    finally:
        resume(n2)
    assert await sasl_end(ready) == "904"


# -- REDACT and MARKREAD with nodes dying ------------------------------------------------------


async def test_redact_and_markread_hold_on_every_node_when_the_nodes_involved_are_killed(networks: Networks) -> None:
    network = networks()
    n1, n2, n3 = await network.start(3, WHOLE)
    caps = [*CAPS, "draft/message-redaction", "draft/read-marker"]
    alice = await registered(network, n1, "alice", "#c", caps=caps)  # the channel's op
    phone = await logged_in(network, n2, "alice_phone", "alice", "#c", caps=caps)
    carol = await network.client(n3, "carol", "#c", caps=caps)
    await joined(alice, "alice_phone", "carol")
    doomed = await said(carol, "said on a node about to die")
    kept = await said(carol, "kept")
    n3.kill()
    await alice.expect(lambda m: m.command == "QUIT" and nick_of(m) == "carol", timeout=NODE_TIMEOUT * 5)
    # the message's node is gone; its channel op deletes it on another node
    alice.send(f"REDACT #c {doomed.tags['msgid']} :not here")
    await alice.expect("REDACT", "#c", doomed.tags["msgid"])
    alice.send(f"MARKREAD #c timestamp={kept.tags['time']}")
    await alice.expect("MARKREAD")
    n1.kill()  # right after both were acknowledged
    assert (await phone.expect("REDACT")).params[:2] == ["#c", doomed.tags["msgid"]]
    assert (await phone.expect("MARKREAD")).params == ["#c", f"timestamp={kept.tags['time']}"]
    await caught_up(phone)
    assert [text for _, text, _ in await history(phone)] == ["kept"]

    n3b = await network.add(WHOLE, name="node3.test")
    n1b = await network.add(WHOLE, name="node1.test")
    erin = await network.client(n3b, "erin", "#c", caps=HISTORY)
    assert [text for _, text, _ in await history(erin)] == ["kept"]
    tablet = await logged_in(network, n1b, "alice_tablet", "alice", caps=caps)
    tablet.send("JOIN #c")
    assert (await tablet.expect("MARKREAD")).params == ["#c", f"timestamp={kept.tags['time']}"]
    assert [text for _, text, _ in await history(tablet)] == ["kept"]
