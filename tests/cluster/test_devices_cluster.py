"""A private message reaches every device of an account whichever node each is on:
each node copies it to its own connections logged in to the account (announce.py
_to_devices), from the one event every node applies; the states stay equal."""

from __future__ import annotations

from tests.cluster.support import Cluster, caught_up
from tests.cluster.test_departures_cluster import identified, registered
from tests.helpers import sync


async def test_the_devices_of_an_account_on_two_nodes_each_get_a_message_and_its_answer(cluster: Cluster) -> None:
    n1, n2 = await cluster.start(2)
    laptop = await registered(cluster, n1, "alice")
    phone = await identified(cluster, n2, "alice_phone", "alice")
    bob = await registered(cluster, n1, "bob")
    for client in (laptop, phone, bob):
        await caught_up(client)
        await sync(client)
    bob.send("PRIVMSG alice :lunch?")
    assert (await laptop.expect("PRIVMSG")).params == ["alice", "lunch?"]
    copy = await phone.expect("PRIVMSG", timeout=15)
    assert copy.source.startswith("bob!") and copy.params == ["alice", "lunch?"]
    phone.send("PRIVMSG bob :yes")
    assert (await bob.expect("PRIVMSG", timeout=15)).params == ["bob", "yes"]
    mine = await laptop.expect("PRIVMSG", timeout=15)
    assert mine.source.startswith("alice!") and mine.params == ["bob", "yes"]  # from the laptop's own nick
    await caught_up(phone)
    assert [m for m in await sync(phone) if m.command == "PRIVMSG"] == []  # no copy of its own line
