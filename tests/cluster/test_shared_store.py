"""A cluster on one PostgreSQL: accounts and history are the network's, whichever node
a client uses, and the whole network restarted finds them again."""

from __future__ import annotations

import base64

from tests.cluster.support import Cluster, caught_up
from tests.services import RedisServer


def plain(account: str, password: str) -> str:
    return base64.b64encode(f"{account}\0{account}\0{password}".encode()).decode()


async def test_accounts_and_history_are_the_network_s(redis_server: RedisServer, cluster_config: str,
                                                      postgres_url: str) -> None:  # fmt: skip
    cluster = Cluster(redis_server.url, cluster_config, db=postgres_url)
    try:
        n1, n2 = await cluster.start(2)
        alice = await cluster.client(n1, "alice", "#c")
        alice.send("NICKSERV REGISTER correct-horse")
        await alice.expect("900")  # logged in to the new account
        alice.send("PRIVMSG #c :kept for later")
        await caught_up(alice)

        # the account logs in on the other node (SASL PLAIN), and its history is there
        bob = await cluster.client(n2)
        bob.send("CAP LS 302")
        bob.send("CAP REQ :sasl draft/chathistory batch server-time message-tags")
        await bob.expect("CAP", "*", "ACK")
        bob.send("AUTHENTICATE PLAIN")
        await bob.expect("AUTHENTICATE", "+")
        bob.send(f"AUTHENTICATE {plain('alice', 'correct-horse')}")
        await bob.expect("903")
        bob.send("CAP END")
        await bob.register("alicebis")
        await bob.join("#c")
        bob.send("CHATHISTORY LATEST #c * 10")
        await bob.expect("BATCH")
        texts = [m.params[-1] for m in await bob.collect_until("BATCH") if m.command == "PRIVMSG"]
        assert texts == ["kept for later"]

        # the whole network stops and starts again: accounts come back from the store
        await cluster.close()
        redis_server.stop(kill=True)
        redis_server.start()
        cluster = Cluster(redis_server.url, cluster_config, db=postgres_url)
        (n3,) = await cluster.start(1)
        history_caps = ["draft/chathistory", "batch", "server-time", "message-tags"]
        carol = await cluster.client(n3, "carol", "#c", caps=history_caps)
        carol.send("NICKSERV INFO alice")
        info = await carol.expect(lambda m: m.command == "NOTICE" and m.source.startswith("NickServ!"))
        assert info.params[-1] == "Account: alice"
        carol.send("CHATHISTORY LATEST #c * 10")
        await carol.expect("BATCH")
        texts = [m.params[-1] for m in await carol.collect_until("BATCH") if m.command == "PRIVMSG"]
        assert texts == ["kept for later"]
    finally:
        await cluster.close()


async def test_a_node_joining_later_leaves_a_live_closed_channel_s_history_alone(
    redis_server: RedisServer, cluster_config: str, postgres_url: str
) -> None:
    """A lone server forgets, at start, the history of closed channels that ended with its
    last run; a node of a cluster must not: the channel lives on in the other nodes."""
    cluster = Cluster(redis_server.url, cluster_config, db=postgres_url)
    history_caps = ["draft/chathistory", "batch", "server-time", "message-tags"]
    try:
        (n1,) = await cluster.start(1)
        alice = await cluster.client(n1, "alice", "#hush", caps=history_caps)
        alice.send("MODE #hush +s")
        alice.send("PRIVMSG #hush :between us")
        await caught_up(alice)
        (n2,) = await cluster.start(1)
        bob = await cluster.client(n2, "bob", caps=history_caps)
        await caught_up(alice)  # alice's node knows bob now
        alice.send("INVITE bob #hush")
        await bob.expect("INVITE")
        await bob.join("#hush")
        bob.send("CHATHISTORY LATEST #hush * 10")
        await bob.expect("BATCH")
        texts = [m.params[-1] for m in await bob.collect_until("BATCH") if m.command == "PRIVMSG"]
        assert texts == ["between us"]
    finally:
        await cluster.close()
