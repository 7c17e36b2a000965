"""SILENCE on a cluster of two nodes: the list lives on its owner's connection and is
checked on its owner's node, so a silenced sender connected to the other node never
gets through either, and is told nothing (silence.py); others on that node still are
heard. No event of its own: the nodes' states stay equal."""

from __future__ import annotations

from tests.cluster.support import Cluster
from tests.cluster.test_opers_cluster_audit import T, caught_up, oper_up, same_digests, user
from tests.helpers import sync


async def test_a_sender_on_another_node_is_silenced(cluster: Cluster) -> None:
    n1, n2 = await cluster.start(2)
    caps = ("message-tags", "echo-message")
    alice = await user(cluster, n1, "alice", caps=caps)
    mallory = await user(cluster, n2, "mallory", "#den", caps=caps)
    carol = await user(cluster, n2, "carol", "#cafe", caps=caps)
    alice.send("SILENCE +mallory")
    assert (await alice.expect("SILENCE", timeout=T)).params == ["+mallory!*@*"]
    await caught_up(mallory)  # node 2 has seen alice register
    start = len(mallory.received)

    for sender, room in ((mallory, "#den"), (carol, "#cafe")):
        sender.send(f"PRIVMSG alice :hello from {sender.nick}")
        sender.send(f"NOTICE alice :notice from {sender.nick}")
        sender.send("@+typing=active TAGMSG alice")
        sender.send(f"INVITE alice {room}")
        await sender.expect("341", timeout=T)
    # carol's INVITE, her last, is applied on node 1 after all of mallory's lines
    await alice.expect(lambda m: m.command == "INVITE" and (m.source or "").startswith("carol!"), timeout=T)
    await sync(alice)
    got = alice.received
    assert not [m for m in got if (m.source or "").startswith("mallory!")]
    heard = [m.command for m in got if (m.source or "").startswith("carol!")]
    assert heard == ["PRIVMSG", "NOTICE", "TAGMSG", "INVITE"]
    await sync(mallory)
    echoed = mallory.received[start:]
    assert not [m for m in echoed if m.command[0] in "45" or m.command == "FAIL"], echoed
    echoes = [m.command for m in echoed if m.command in ("PRIVMSG", "NOTICE", "TAGMSG")]
    assert echoes == ["PRIVMSG", "NOTICE", "TAGMSG"]

    # an operator on the other node is never silenced
    ircop = await user(cluster, n2, "ircop")
    await oper_up(ircop)
    alice.send("SILENCE +*!*@*")
    await alice.expect("SILENCE", timeout=T)
    ircop.send("PRIVMSG alice :from the staff")
    staff = await alice.expect("PRIVMSG", timeout=T)
    assert (staff.source or "").startswith("ircop!") and staff.params == ["alice", "from the staff"]
    await same_digests(ircop, 2)
