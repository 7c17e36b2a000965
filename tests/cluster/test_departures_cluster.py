"""Coming back on another node replays only what was said while away (server/departures.py):
every node notes when an account left a channel (PART, a kick, its own QUIT), whichever
node it was connected to. Nodes on a real redis-server and one real PostgreSQL."""

from __future__ import annotations

from tests.cluster.support import Cluster, Node, caught_up
from tests.helpers import STAMP, LineClient, unstamped
from tests.services import RedisServer


def said(lines: list) -> list[str]:
    return [m.params[1] for m in lines if m.command == "PRIVMSG"]


async def registered(cluster: Cluster, node: Node, nick: str, *channels: str, caps: tuple[str, ...] = ()) -> LineClient:
    """A client that registered its nick as an account (password `<nick>-horse-battery`)."""
    client = await cluster.client(node, nick, caps=caps)
    client.send(f"PRIVMSG NickServ :REGISTER {nick}-horse-battery")
    await client.expect("900")
    for channel in channels:
        await client.join(channel)
    return client


async def identified(cluster: Cluster, node: Node, nick: str, account: str, caps: tuple[str, ...] = ()) -> LineClient:
    """A client logged in to `account` (made by `registered`)."""
    client = await cluster.client(node, nick, caps=caps)
    client.send(f"PRIVMSG NickServ :IDENTIFY {account} {account}-horse-battery")
    await client.expect("900")
    return client


async def rejoin(client: LineClient, channel: str = "#c") -> list[str]:
    """The lines replayed on JOIN (everything up to the end of the answer) to `client`,
    without `batch`: each text led by when it was said (server/replay.py `_stamped`),
    given here without it."""
    client.send(f"JOIN {channel}")
    await client.expect("366")
    client.send("PING :replayed")
    texts = said(await client.collect_until("PONG"))
    assert all(STAMP.match(text) for text in texts), texts
    return [unstamped(text) for text in texts]


async def test_an_account_leaving_on_one_node_and_coming_back_on_another_gets_only_what_it_missed(
    redis_server: RedisServer, cluster_config: str, postgres_url: str
) -> None:
    cluster = Cluster(redis_server.url, cluster_config, db=postgres_url)
    try:
        n1, n2 = await cluster.start(2, "history.autoreplay_lines=10")
        alice = await cluster.client(n1, "alice", "#c")
        bob = await registered(cluster, n1, "bob", "#c")
        carol = await registered(cluster, n2, "carol", "#c")

        alice.send("PRIVMSG #c :seen live")
        await bob.expect("PRIVMSG", "#c", "seen live")
        await carol.expect("PRIVMSG", "#c", "seen live")

        # bob quits on node 1 and comes back on node 2
        bob.send("QUIT :brb")
        await alice.expect("QUIT")
        await bob.close()
        alice.send("PRIVMSG #c :missed by bob")
        await caught_up(alice)
        bobby = await identified(cluster, n2, "bobby", "bob")
        assert await rejoin(bobby) == ["missed by bob"]

        # carol parts on node 2 and joins again from node 1, as another connection
        carol.send("PART #c :back soon")
        await alice.expect("PART")
        alice.send("PRIVMSG #c :missed by carol")
        await caught_up(alice)
        caro = await identified(cluster, n1, "caro", "carol")
        assert await rejoin(caro) == ["missed by carol"]

        # someone new to the channel gets its last lines, as always
        dave = await cluster.client(n2, "dave")
        assert await rejoin(dave) == ["seen live", "missed by bob", "missed by carol"]
    finally:
        await cluster.close()


async def test_a_node_stopping_cleanly_tells_the_others_what_its_users_saw(
    redis_server: RedisServer, cluster_config: str, postgres_url: str
) -> None:
    """A node's clean stop (a rolling restart) puts in its NodeLost the time until which
    its users were shown everything: an account reconnecting to another node is replayed
    only what came after, not the lines already on its screen. A node lost without a
    word (killed) says nothing: a rejoin then gets the channel's last lines."""
    cluster = Cluster(redis_server.url, cluster_config, db=postgres_url)
    try:
        n1, n2, n3 = await cluster.start(3, "history.autoreplay_lines=10")
        alice = await cluster.client(n1, "alice", "#c")
        bob = await registered(cluster, n2, "bob", "#c")
        carol = await registered(cluster, n3, "carol", "#c")
        alice.send("PRIVMSG #c :seen by everyone")
        await bob.expect("PRIVMSG", "#c", "seen by everyone")
        await carol.expect("PRIVMSG", "#c", "seen by everyone")

        await n2.stop()  # SIGTERM: bob's node stops cleanly
        await alice.expect("QUIT")
        alice.send("PRIVMSG #c :said after bob's node stopped")
        await caught_up(alice)
        bobby = await identified(cluster, n1, "bobby", "bob")
        assert await rejoin(bobby) == ["said after bob's node stopped"]

        n3.kill()  # carol's node dies: what carol was shown nobody knows
        await alice.expect("QUIT", timeout=30)
        alice.send("PRIVMSG #c :said after carol's node died")
        await caught_up(alice)
        caro = await identified(cluster, n1, "caro", "carol")
        everything = ["seen by everyone", "said after bob's node stopped", "said after carol's node died"]
        assert await rejoin(caro) == everything
    finally:
        await cluster.close()
