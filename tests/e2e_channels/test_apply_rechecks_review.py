"""Review of the apply-time re-checks (62d9f1b, 6f0afac, 3840db2): what a handler lets
through on a single server must not be refused, or partly dropped, when applied; a
refused sender gets exactly one error; and (in a cluster) a change dropped when applied
is told to its sender."""

from __future__ import annotations

from tests.cluster.conftest import cluster, cluster_config  # noqa: F401  (fixtures)
from tests.cluster.test_divergence_random_audit import agreed, log_paused, names, two_nodes
from tests.e2e_accounts.support import registered_account
from tests.e2e_channels.common import room
from tests.helpers import LineClient, connected, sync

CS = "ChanServ!ChanServ@services"


async def cs(client: LineClient, line: str) -> str:
    client.send(f"PRIVMSG ChanServ :{line}")
    return (await client.expect(lambda m: m.command == "NOTICE" and m.source == CS)).params[-1]


def codes(messages, *wanted: str) -> list[str]:
    return [m.command for m in messages if m.command in wanted]


async def modes_of(client: LineClient, channel: str) -> str:
    client.send(f"MODE {channel}")
    return (await client.expect("324")).params[2]


async def nameslist(client: LineClient, channel: str) -> list[str]:
    client.send(f"NAMES {channel}")
    return [n for m in await client.collect_until("366") if m.command == "353" for n in m.params[-1].split()]


# -- MODE ---------------------------------------------------------------------------------


async def test_op_dropping_own_op_with_other_changes_in_one_line_keeps_them_all(server, clients) -> None:
    alice, bob, _carol = await room(server, clients, "alice", "bob", "carol")
    alice.send("MODE #room -o+mv alice bob")
    change = await bob.expect("MODE")
    assert change.params == ["#room", "-o+mv", "alice", "bob"]
    assert "m" in await modes_of(bob, "#room")
    assert await nameslist(bob, "#room") == ["alice", "+bob", "carol"]
    assert codes(await sync(alice), "482") == []


async def test_mode_right_after_creation_and_both_ways_in_one_line(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("JOIN #new")
    alice.send("MODE #new +kl sesame 5")  # pipelined straight after the JOIN
    change = await alice.expect("MODE", "#new", "+kl")
    assert change.params == ["#new", "+kl", "sesame", "5"]
    alice.send("MODE #new -o+o alice alice")
    got = await sync(alice)
    assert codes(got, "482") == []
    assert await nameslist(alice, "#new") == ["@alice"]


async def test_non_op_granting_itself_op_in_the_same_line_gets_one_482_and_nothing(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    bob.send("MODE #room +o+m bob")
    got = await sync(bob)
    assert codes(got, "482", "MODE") == ["482"]
    assert codes(await sync(alice), "MODE") == []
    assert "m" not in await modes_of(alice, "#room")


async def test_halfop_may_voice_and_drop_own_halfop_but_not_op(server, clients) -> None:
    alice, bob, carol = await room(server, clients, "alice", "bob", "carol")
    alice.send("MODE #room +h bob")
    await bob.expect("MODE", "#room", "+h", "bob")
    await carol.expect("MODE", "#room", "+h", "bob")
    bob.send("MODE #room +b-k x!*@* *")  # list mode and -k without a key set: +b only
    assert (await carol.expect("MODE")).params == ["#room", "+b", "x!*@*"]
    await sync(bob)
    bob.send("MODE #room +o carol")
    assert codes(await sync(bob), "482", "MODE") == ["482"]
    bob.send("MODE #room -o alice")  # a halfop does not outrank an op
    assert codes(await sync(bob), "482", "MODE") == ["482"]
    bob.send("MODE #room +v-h carol bob")
    assert (await carol.expect("MODE")).params == ["#room", "+v-h", "carol", "bob"]
    assert await nameslist(carol, "#room") == ["@alice", "bob", "+carol"]


async def test_minus_k_with_a_wrong_key_removes_the_key(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    alice.send("MODE #room +k right")
    await bob.expect("MODE", "#room", "+k")
    alice.send("MODE #room -k wrong")
    assert (await bob.expect("MODE")).params[:2] == ["#room", "-k"]


async def test_founder_gives_protected_and_drops_own_founder_in_one_line(server, clients) -> None:
    alice = await registered_account(server, "alice", "correct-horse", "#c")
    bob = await connected(server, "bob", "#c")
    clients.extend([alice, bob])
    assert await cs(alice, "REGISTER #c") == "Channel #c successfully registered"
    await bob.expect("MODE", "#c", "+q", "alice")
    alice.send("MODE #c +a-q+o bob alice bob")
    assert (await bob.expect("MODE")).params == ["#c", "+a-q+o", "bob", "alice", "bob"]
    assert codes(await sync(alice), "482") == []
    assert await nameslist(bob, "#c") == ["@alice", "&bob"]  # alice kept the @ of the channel's creator


async def test_founder_topic_and_kick_on_plus_t_and_amode_op_rights(server, clients) -> None:
    alice = await registered_account(server, "alice", "correct-horse", "#c")
    bob = await registered_account(server, "bob", "correct-horse")
    carol = await connected(server, "carol")
    clients.extend([alice, bob, carol])
    await cs(alice, "REGISTER #c")
    await alice.expect("MODE", "#c", "+q")
    alice.send("MODE #c -o alice")  # ~ only now
    alice.send("TOPIC #c :founder's topic")
    assert (await alice.expect("TOPIC")).params == ["#c", "founder's topic"]
    assert await cs(alice, "AMODE #c +o bob") == "Successfully set persistent mode +o on bob"
    bob.send("JOIN #c")
    carol.send("JOIN #c")
    await carol.expect("366")
    await bob.expect("JOIN", "#c")  # carol's
    bob.send("TOPIC #c :bob's topic")
    assert (await carol.expect("TOPIC")).params == ["#c", "bob's topic"]
    bob.send("MODE #c +mv carol")
    assert (await carol.expect("MODE")).params == ["#c", "+mv", "carol"]
    bob.send("KICK #c carol :out")
    assert (await carol.expect("KICK")).params[:2] == ["#c", "carol"]
    await sync(bob)
    bob.send("MODE #c -q alice")  # an op does not outrank the founder
    assert codes(await sync(bob), "482", "MODE") == ["482"]
    alice.send("KICK #c bob :founder kicks")
    assert (await bob.expect("KICK")).params[:2] == ["#c", "bob"]


async def test_topic_on_plus_t_refused_once_for_a_plain_member(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    bob.send("TOPIC #room :nope")
    assert codes(await sync(bob), "482", "TOPIC") == ["482"]
    alice.send("MODE #room -t")
    await bob.expect("MODE", "#room", "-t")
    bob.send("TOPIC #room :yes")
    assert (await alice.expect("TOPIC")).params == ["#room", "yes"]


# -- KICK ---------------------------------------------------------------------------------


async def test_kick_of_oneself(server, clients) -> None:
    alice, bob, carol = await room(server, clients, "alice", "bob", "carol")
    alice.send("MODE #room +h bob")
    await bob.expect("MODE", "#room", "+h")
    await carol.expect("MODE", "#room", "+h")
    bob.send("KICK #room bob")  # a halfop does not outrank itself: refused, once, by the handler
    assert codes(await sync(bob), "482", "KICK") == ["482"]
    alice.send("KICK #room alice :me")
    assert (await carol.expect("KICK")).params == ["#room", "alice", "me"]
    assert await nameslist(carol, "#room") == ["%bob", "carol"]


async def test_kick_refused_by_rank_leaves_the_member_and_one_error(server, clients) -> None:
    alice, bob, carol = await room(server, clients, "alice", "bob", "carol")
    alice.send("MODE #room +h bob")
    await bob.expect("MODE", "#room", "+h")
    bob.send("KICK #room alice,carol :x")
    got = await sync(bob)
    assert codes(got, "482", "KICK") == ["482", "KICK"]
    # a halfop is an operator: what it lacks is rank, and the refusal says so
    refused = [m.params for m in got if m.command == "482"]
    assert refused == [["bob", "#room", "Your channel rank is too low to kick them"]]
    assert await nameslist(bob, "#room") == ["@alice", "%bob"]


# -- JOIN ---------------------------------------------------------------------------------


async def test_invited_joins_past_i_k_l_and_plus_I_and_keys(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    carol = await connected(server, "carol")
    dave = await connected(server, "dave")
    clients.extend([carol, dave])
    alice.send("MODE #room +ikl sesame 2")
    await bob.expect("MODE", "#room", "+ikl")
    carol.send("JOIN #room")
    assert codes(await sync(carol), "473", "JOIN") == ["473"]  # one refusal
    alice.send("INVITE carol #room")
    await carol.expect("INVITE")
    carol.send("JOIN #room")
    await carol.expect("366")
    assert codes(await sync(carol), "471", "473", "475") == []
    alice.send("MODE #room -kl+I * dave!*@*")
    await bob.expect("MODE", "#room")
    dave.send("JOIN #room wrongkey")  # a key given where none is asked
    await dave.expect("366")
    assert await nameslist(alice, "#room") == ["@alice", "bob", "carol", "dave"]


async def test_key_join_and_refusals_one_each(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    carol = await connected(server, "carol")
    clients.append(carol)
    alice.send("MODE #room +k sesame")
    await bob.expect("MODE")
    carol.send("JOIN #room,#other nope")
    got = await carol.collect_until(lambda m: m.command == "366" and m.params[1] == "#other")
    assert codes(got, "475") == ["475"]
    carol.send("JOIN #room sesame")
    await carol.expect("366", "carol", "#room")


async def test_registered_founder_and_access_join_past_i_k_l_b(server, clients) -> None:
    alice = await registered_account(server, "alice", "correct-horse", "#c")
    bob = await registered_account(server, "bob", "correct-horse")
    carol = await connected(server, "carol", "#c")
    clients.extend([alice, bob, carol])
    await cs(alice, "REGISTER #c")
    await alice.expect("MODE", "#c", "+q")
    await carol.expect("MODE", "#c", "+q")
    assert await cs(alice, "AMODE #c +h bob") == "Successfully set persistent mode +h on bob"
    alice.send("MODE #c +iklb sesame 1 *!*@*")
    await carol.expect("MODE", "#c")
    alice.send("PART #c")
    await carol.expect("PART")
    alice.send("JOIN #c")
    await alice.expect("366", "alice", "#c")
    bob.send("JOIN #c")
    await bob.expect("366", "bob", "#c")
    assert codes(await sync(bob), "471", "473", "474", "475") == []
    assert sorted(await nameslist(carol, "#c")) == ["%bob", "carol", "~alice"]


# -- cluster: a change dropped when applied ------------------------------------------------


async def test_a_mode_partly_dropped_when_applied_tells_its_sender(cluster, redis_server) -> None:  # noqa: F811
    n1, n2, w1, w2 = await two_nodes(cluster)
    boss = await cluster.client(n1, "boss", "#c")
    rogue = await cluster.client(n2, "rogue", "#c")
    boss.send("MODE #c +oh rogue rogue")
    await rogue.expect("MODE", "#c", "+oh")
    await agreed([w1, w2], 2)
    async with log_paused(redis_server.url) as waiting:
        boss.send("MODE #c -o rogue")
        await sync(w1)
        await waiting(1)
        rogue.send("MODE #c +mh boss")  # +h needs op, +m halfop: as an op when sent
        await sync(w2)
        await waiting(2)
    await agreed([w1, w2], 2)
    assert await names(w1, "#c") == await names(w2, "#c") == ["@boss", "%rogue"]
    got = await sync(rogue)
    applied = [m.params for m in got if m.command == "MODE" and m.params[1] != "-o"]
    assert applied == [["#c", "+m"]]  # +h dropped, +m kept (as the docs say)
    assert codes(got, "482") == ["482"]  # the sender is told its +h was refused
