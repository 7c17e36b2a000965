"""User mode +R on a cluster of two nodes: a private message or an INVITE from a user
with no account on one node to a +R user on the other is refused on the sender's node
(486), from the chat state both nodes share. A refused INVITE is no event: no invitation
on either node, nothing for the channel's ops wherever they are, the states still equal."""

from __future__ import annotations

from tests.cluster.support import Cluster
from tests.cluster.test_opers_cluster_audit import T, caught_up, oper_up, same_digests, user
from tests.helpers import commands, sync


async def test_a_plus_r_user_on_another_node_takes_no_invite_from_a_user_without_an_account(cluster: Cluster) -> None:
    n1, n2 = await cluster.start(2)
    quiet = await user(cluster, n2, "quiet")
    quiet.send("PRIVMSG NickServ :REGISTER correct-horse")
    await quiet.expect("900", timeout=T)
    quiet.send("MODE quiet +R")
    await quiet.expect("MODE", timeout=T)
    spammer = await user(cluster, n1, "spammer", "#spam")  # its op, with no account
    watcher = await user(cluster, n2, "watcher", "#spam", caps=("invite-notify",))
    friend = await user(cluster, n1, "friend", "#spam")
    friend.send("PRIVMSG NickServ :REGISTER correct-horse")
    await friend.expect("900", timeout=T)
    await caught_up(spammer)  # node 1 has seen quiet's +R and the others join
    spammer.send("MODE #spam +i")
    spammer.send("MODE #spam +oo watcher friend")
    await watcher.expect(lambda m: m.command == "MODE" and m.params[1:] == ["+oo", "watcher", "friend"], timeout=T)

    spammer.send("INVITE quiet #spam")
    refused = await spammer.expect("486", timeout=T)
    assert refused.params == ["spammer", "quiet", "only takes invitations from users logged in to an account"]
    spammer.send("PRIVMSG quiet :join my channel")
    assert (await spammer.expect("486", timeout=T)).params[1] == "quiet"
    assert not [m for m in await sync(spammer) if m.command == "341"]
    await caught_up(quiet)  # node 2 has applied whatever node 1 sent before now
    quiet.send("INVITE")  # no invitation on her node either
    assert commands(await quiet.collect_until("337", timeout=T)) == ["337"]

    friend.send("INVITE quiet #spam")  # logged in: through, on the other node, and the ops hear of it
    await friend.expect("341", timeout=T)
    invite = await quiet.expect("INVITE", timeout=T)
    assert invite.source.startswith("friend!") and invite.params == ["quiet", "#spam"]
    notified = await watcher.expect("INVITE", timeout=T)
    assert notified.source.startswith("friend!")
    # spammer's INVITE and PRIVMSG, had they gone out, would have come before friend's INVITE
    assert not [m for m in quiet.received if (m.source or "").startswith("spammer!")]
    assert not [m for m in watcher.received if m.command == "INVITE" and (m.source or "").startswith("spammer!")]

    ircop = await user(cluster, n1, "ircop", "#staff")
    await oper_up(ircop)
    ircop.send("INVITE quiet #staff")  # an operator reaches everyone
    await ircop.expect("341", timeout=T)
    assert (await quiet.expect("INVITE", timeout=T)).params == ["quiet", "#staff"]
    await same_digests(ircop, 2)
