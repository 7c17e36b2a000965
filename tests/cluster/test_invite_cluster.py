"""INVITE on a cluster of two nodes: the inviter's node lets it through against its own
replica, and the log decides. Its 341 (and 301) come once the invitation is applied;
one ordered after its target's quit, after its channel's rename, or after its
inviter's deop, on the other node, is refused there like everywhere, and the inviter
gets the 401, 403 or 482 it would have had on one server, not a 341 for an invitation
that never was.

Each race is made exact as in test_divergence_random_audit.py: Redis takes no writes
while both nodes take their line in, and then takes the appends in the order they came.
"""

from __future__ import annotations

from tests.cluster.support import Cluster, caught_up
from tests.cluster.test_divergence_random_audit import agreed, log_paused, names, two_nodes
from tests.helpers import sync
from tests.services import RedisServer

NOTIFY = ("invite-notify",)


async def test_an_invite_ordered_after_its_target_s_quit_gets_401_and_no_341(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    n1, n2, w1, w2 = await two_nodes(cluster)
    op = await cluster.client(n1, "op", "#c", caps=NOTIFY)
    inviter = await cluster.client(n1, "inviter", "#c")  # #c is open: any member may invite
    watcher = await cluster.client(n2, "watcher", "#c", caps=NOTIFY)
    # the watcher's JOIN must have reached the op's node, or the +o meets a stranger (441)
    await op.expect(lambda m: m.command == "JOIN" and (m.source or "").startswith("watcher!"))
    op.send("MODE #c +o watcher")
    await watcher.expect("MODE", "#c", "+o", "watcher")
    target = await cluster.client(n2, "target")
    await agreed([w1, w2], 2)
    async with log_paused(redis_server.url) as waiting:
        target.send("QUIT :bye")
        await sync(w2)
        await waiting(1)
        inviter.send("INVITE target #c")  # node 1 has not read the quit: the target is there
        await sync(w1)
        await waiting(2)
    answer = await inviter.expect(lambda m: m.command in ("341", "401"))
    assert answer.command == "401" and answer.params[1:] == ["target", "No such nick/channel"], answer
    assert not [m for m in await sync(inviter) if m.command in ("341", "301")]
    await agreed([w1, w2], 2)
    for told in (op, watcher):  # invite-notify: no invitation, nobody told
        assert not [m for m in await sync(told) if m.command == "INVITE"]


async def test_an_invite_ordered_after_its_channel_s_rename_gets_403_and_no_341(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    n1, n2, w1, w2 = await two_nodes(cluster)
    op = await cluster.client(n2, "op", "#old", caps=("draft/channel-rename",))
    inviter = await cluster.client(n1, "inviter", "#old", caps=("draft/channel-rename",))
    target = await cluster.client(n1, "target")
    await agreed([w1, w2], 2)
    async with log_paused(redis_server.url) as waiting:
        op.send("RENAME #old #new :moving")
        await sync(w2)
        await waiting(1)
        inviter.send("INVITE target #old")
        await sync(w1)
        await waiting(2)
    answer = await inviter.expect(lambda m: m.command in ("341", "403"))
    assert answer.command == "403" and answer.params[1:] == ["#old", "No such channel"], answer
    assert not [m for m in await sync(inviter) if m.command == "341"]
    assert not [m for m in await sync(target) if m.command == "INVITE"]
    await agreed([w1, w2], 2)
    target.send("INVITE")  # no invitation held, to the new name either
    assert [m.command for m in await target.collect_until("337")] == ["337"]


async def test_an_invite_ordered_after_its_inviter_s_deop_gets_482_and_lets_nobody_in(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    n1, n2, w1, w2 = await two_nodes(cluster)
    chief = await cluster.client(n2, "chief", "#c", caps=NOTIFY)
    inviter = await cluster.client(n1, "inviter", "#c")
    target = await cluster.client(n1, "target")
    # the inviter's JOIN must have reached the chief's node, or the +o meets a stranger (441)
    await chief.expect(lambda m: m.command == "JOIN" and (m.source or "").startswith("inviter!"))
    chief.send("MODE #c +i")
    chief.send("MODE #c +o inviter")
    await inviter.expect("MODE", "#c", "+o", "inviter")
    await agreed([w1, w2], 2)
    async with log_paused(redis_server.url) as waiting:
        chief.send("MODE #c -o inviter")
        await sync(w2)
        await waiting(1)
        inviter.send("INVITE target #c")  # node 1 has not read the deop: the inviter is op there
        await sync(w1)
        await waiting(2)
    answer = await inviter.expect(lambda m: m.command in ("341", "482"))
    assert answer.command == "482" and answer.params[1:] == ["#c", "You're not channel operator"], answer
    assert not [m for m in await sync(inviter) if m.command in ("341", "301")]
    await agreed([w1, w2], 2)
    assert not [m for m in await sync(chief) if m.command == "INVITE"]  # invite-notify: nobody told
    assert not [m for m in await sync(target) if m.command == "INVITE"]
    target.send("JOIN #c")  # no invitation past +i
    assert (await target.expect(lambda m: m.command in ("JOIN", "473"))).command == "473"
    assert await names(chief, "#c") == ["@chief", "inviter"]


async def test_the_inviter_hears_341_and_301_before_what_the_invitation_lets_happen(cluster: Cluster) -> None:
    n1, n2 = await cluster.start(2)
    op = await cluster.client(n1, "op", "#c")
    op.send("MODE #c +i")
    await op.expect("MODE", "#c", "+i")
    target = await cluster.client(n2, "target")
    target.send("AWAY :out")
    await target.expect("306")
    await caught_up(op)  # the op's node knows the target, and that it is away
    op.send("INVITE target #c")
    invite = await target.expect("INVITE")
    assert invite.params == ["target", "#c"]
    target.send("JOIN #c")  # ordered after the invitation, on the other node
    got = await op.collect_until(lambda m: m.command == "JOIN")
    assert [m.command for m in got if m.command in ("341", "301", "JOIN")] == ["341", "301", "JOIN"]
    assert await names(op, "#c") == ["@op", "target"]
