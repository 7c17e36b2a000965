"""Review of f85d28f..HEAD: departures noted by every node, read markers of a lost node,
the metadata budget after a REHASH. Real nodes on a real redis-server, one real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from hubbub.passwords import hash_password
from tests.cluster.support import OPER_PASSWORD, Cluster, caught_up, oper_up
from tests.cluster.test_departures_cluster import identified, registered, rejoin
from tests.services import RedisServer


async def test_a_kick_by_another_node_is_noted_where_the_account_comes_back(
    redis_server: RedisServer, cluster_config: str, postgres_url: str
) -> None:
    """bob (node 2) is kicked by alice (node 1): node 1 noted it, bob comes back there."""
    cluster = Cluster(redis_server.url, cluster_config, db=postgres_url)
    try:
        n1, n2 = await cluster.start(2, "history.autoreplay_lines=10")
        alice = await cluster.client(n1, "alice", "#c")
        bob = await registered(cluster, n2, "bob", "#c")
        alice.send("PRIVMSG #c :seen live")
        await bob.expect("PRIVMSG", "#c", "seen live")
        alice.send("KICK #c bob :out")
        await bob.expect("KICK", "#c", "bob")
        alice.send("PRIVMSG #c :missed while kicked")
        await caught_up(alice)
        back = await identified(cluster, n1, "bobby", "bob")
        assert await rejoin(back) == ["missed while kicked"]
        # a user without an account is remembered by its own node only: nothing changes there
        dave = await cluster.client(n2, "dave", "#c")
        dave.send("PART #c")
        await dave.expect("PART")
        alice.send("PRIVMSG #c :after dave left")
        await caught_up(alice)
        await caught_up(dave)
        assert await rejoin(dave) == ["after dave left"]
    finally:
        await cluster.close()


async def test_a_node_started_after_the_departure_replays_only_what_was_missed(
    redis_server: RedisServer, cluster_config: str, postgres_url: str
) -> None:
    """A node starting from another's snapshot knows the accounts' departures the log
    taught the others before it came (Replica.extras)."""
    cluster = Cluster(redis_server.url, cluster_config, db=postgres_url)
    try:
        (n1,) = await cluster.start(1, "history.autoreplay_lines=10")
        alice = await cluster.client(n1, "alice", "#c")
        bob = await registered(cluster, n1, "bob", "#c")
        alice.send("PRIVMSG #c :seen live")
        await bob.expect("PRIVMSG", "#c", "seen live")
        bob.send("QUIT :brb")
        await alice.expect("QUIT")
        await bob.close()
        alice.send("PRIVMSG #c :missed by bob")
        await caught_up(alice)
        n2 = await cluster.add("history.autoreplay_lines=10")
        back = await identified(cluster, n2, "bobby", "bob")
        await caught_up(back)
        assert await rejoin(back) == ["missed by bob"]
    finally:
        await cluster.close()


async def test_two_connections_of_one_account_on_two_nodes_each_get_what_they_missed(
    redis_server: RedisServer, cluster_config: str, postgres_url: str
) -> None:
    """The laptop (node 1) parts and comes back; the phone (node 2) stays, then parts and
    comes back: each replay is what was said while that connection was away."""
    cluster = Cluster(redis_server.url, cluster_config, db=postgres_url)
    try:
        n1, n2 = await cluster.start(2, "history.autoreplay_lines=10")
        alice = await cluster.client(n1, "alice", "#c")
        laptop = await registered(cluster, n1, "bob", "#c")
        phone = await identified(cluster, n2, "bob_phone", "bob")
        await phone.join("#c")
        laptop.send("PART #c")
        await phone.expect("PART")
        alice.send("PRIVMSG #c :one")
        await phone.expect("PRIVMSG", "#c", "one")
        await caught_up(laptop)
        assert await rejoin(laptop) == ["one"]
        phone.send("PART #c")
        await laptop.expect("PART")
        alice.send("PRIVMSG #c :two")
        await laptop.expect("PRIVMSG", "#c", "two")
        await caught_up(phone)
        assert await rejoin(phone) == ["two"]
    finally:
        await cluster.close()


async def test_a_marker_stored_by_a_node_killed_since_is_given_at_login_elsewhere(
    redis_server: RedisServer, cluster_config: str, postgres_url: str
) -> None:
    """Node 2 stores alice's marker, then dies: node 1 forgets the wait for it (NodeLost)
    and reads what the store holds, which is that marker (committed before the reply)."""
    caps = ("draft/read-marker", "server-time", "echo-message")
    cluster = Cluster(redis_server.url, cluster_config, db=postgres_url)
    try:
        n1, n2 = await cluster.start(2)
        watcher = await cluster.client(n1, "watcher", "#c")
        phone = await registered(cluster, n2, "alice", "#c", caps=caps)
        phone.send("PRIVMSG #c :hello")
        stamp = (await phone.expect("PRIVMSG", "#c", "hello")).tags["time"]
        phone.send(f"MARKREAD #c timestamp={stamp}")
        assert (await phone.expect("MARKREAD")).params == ["#c", f"timestamp={stamp}"]
        n2.kill()
        await watcher.expect("QUIT", timeout=30)  # alice quits with her node, on node 1 too
        laptop = await identified(cluster, n1, "alice_laptop", "alice", caps=caps)
        laptop.send("JOIN #c")
        assert (await laptop.expect("MARKREAD")).params == ["#c", f"timestamp={stamp}"]
        laptop.send(f"MARKREAD #c timestamp={stamp}")  # the comparison reads the store too
        assert (await laptop.expect("MARKREAD")).params == ["#c", f"timestamp={stamp}"]
    finally:
        await cluster.close()


async def test_a_rehash_of_one_node_bounds_the_metadata_its_clients_get_on_a_rename(
    redis_server: RedisServer, postgres_url: str, tmp_path: Path
) -> None:
    """The RENAME comes from node 1; node 2 was rehashed to a small sendq: its subscriber
    gets 774, node 1's (the sendq of its start) still gets the metadata."""
    opers = f'[[opers]]\nname = "admin"\npassword_hash = "{hash_password(OPER_PASSWORD)}"\n'
    limits = "[limits]\nmetadata_max_value_bytes = 200\nsendq = {}\n"
    config = tmp_path / "hubbub.toml"
    config.write_text(opers + limits.format(1048576), encoding="utf-8")
    cluster = Cluster(redis_server.url, str(config), db=postgres_url)
    caps = ("draft/metadata-2", "batch")
    try:
        n1, n2 = await cluster.start(2)
        alice = await cluster.client(n1, "alice", "#big", caps=(*caps, "draft/channel-rename"))
        for i in range(12):
            alice.send(f"METADATA #big SET k{i} :" + "v" * 200)
        await caught_up(alice)
        subs = " ".join(f"k{i}" for i in range(12))
        near, far = await cluster.client(n1, "near", caps=caps), await cluster.client(n2, "far", caps=caps)
        for client in (near, far):
            client.send(f"METADATA * SUB {subs}")
            await client.join("#big")
            await caught_up(client)
        config.write_text(opers + limits.format(4096), encoding="utf-8")
        ircop = await cluster.client(n2, "ircop")
        await oper_up(ircop)
        ircop.send("REHASH")
        assert (await ircop.expect("NOTICE", "ircop")).params[1] == "*** Configuration reloaded"
        alice.send("RENAME #big #bigger :moving")
        shown = {}
        for client in (near, far):
            await client.expect("JOIN", "#bigger")
            await caught_up(client)
            shown[client.nick] = client.received
        far_later = [m.params for m in shown["far"] if m.command == "774"]
        assert far_later == [["far", "#bigger", "60", "Too much metadata to send at once"]]
        near_seen = [m for m in shown["near"] if m.command == "METADATA" and m.params[0] == "#bigger"]
        assert len(near_seen) == 12
    finally:
        await cluster.close()
