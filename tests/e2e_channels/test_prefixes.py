"""Transcripts of membership ranks (ohv, @%+) and what each may do, the same for MODE,
TOPIC, KICK and INVITE."""

from __future__ import annotations

from tests.e2e_channels.common import mask, op_sets, room
from tests.helpers import commands, connected, sync


async def test_op_gives_halfop_shown_as_percent_with_multi_prefix(server, clients) -> None:
    alice, bob, carol = await room(server, clients, "alice", "bob", "carol")
    assert await op_sets(alice, "MODE #room +hv bob bob", bob, carol) == ["#room", "+hv", "bob", "bob"]
    carol.send("NAMES #room")
    assert (await carol.expect("353")).params[-1] == "@alice %bob carol"
    carol.send("CAP REQ multi-prefix")
    await carol.expect("CAP")
    carol.send("NAMES #room")
    assert (await carol.expect("353")).params[-1] == "@alice %+bob carol"
    carol.send("WHO #room")
    flags = {m.params[5]: m.params[6] for m in await carol.collect_until("315") if m.command == "352"}
    assert flags == {"alice": "H@", "bob": "H%+", "carol": "H"}


async def test_halfop_voices_and_moderates_but_cannot_op(server, clients) -> None:
    alice, bob, carol = await room(server, clients, "alice", "bob", "carol")
    await op_sets(alice, "MODE #room +h bob", bob, carol)
    assert await op_sets(bob, "MODE #room +v carol", alice, carol) == ["#room", "+v", "carol"]
    assert await op_sets(bob, "MODE #room +mb-t x", alice, carol) == ["#room", "+mb-t", "x!*@*"]
    for line in ("MODE #room +o carol", "MODE #room +h carol", "MODE #room -o alice", "MODE #room -h alice"):
        bob.send(line)
        assert (await bob.expect("482")).params == ["bob", "#room", "You're not channel operator"]
    assert "MODE" not in commands(await sync(carol))
    carol.send("NAMES #room")
    assert (await carol.expect("353")).params[-1] == "@alice %bob +carol"


async def test_denied_letters_are_one_482_and_allowed_ones_still_apply(server, clients) -> None:
    alice, bob, carol = await room(server, clients, "alice", "bob", "carol")
    await op_sets(alice, "MODE #room +h bob", bob, carol)
    bob.send("MODE #room +ovo carol carol carol")
    reply = await bob.collect_until("MODE")
    assert commands(reply) == ["482", "MODE"]
    assert reply[1].params == ["#room", "+v", "carol"]


async def test_voice_and_nothing_else_cannot_change_modes(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +v bob", bob)
    for line in ("MODE #room +v alice", "MODE #room -t", "MODE #room +k x"):
        bob.send(line)
        await bob.expect("482")
    assert "MODE" not in commands(await sync(alice))


async def test_anyone_may_drop_their_own_status(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +hv bob bob", bob)
    assert await op_sets(bob, "MODE #room -hv bob bob", alice) == ["#room", "-hv", "bob", "bob"]
    assert await op_sets(alice, "MODE #room -o alice", bob) == ["#room", "-o", "alice"]
    alice.send("MODE #room +o alice")
    await alice.expect("482")


async def test_topic_under_plus_t_needs_halfop(server, clients) -> None:
    alice, bob, carol = await room(server, clients, "alice", "bob", "carol")
    await op_sets(alice, "MODE #room +v carol", bob, carol)
    carol.send("TOPIC #room :voice is not enough")
    assert (await carol.expect("482")).params == ["carol", "#room", "You're not channel operator"]
    await op_sets(alice, "MODE #room +h bob", bob, carol)
    bob.send("TOPIC #room :halfops may")
    topic = await carol.expect("TOPIC")
    assert topic.source == mask("bob") and topic.params == ["#room", "halfops may"]


async def test_halfop_kicks_below_it_but_not_ops_or_halfops(server, clients) -> None:
    alice, bob, carol, dave = await room(server, clients, "alice", "bob", "carol", "dave")
    await op_sets(alice, "MODE #room +hh bob dave", bob, carol, dave)
    bob.send("KICK #room alice")
    reply = await bob.expect("482")
    assert reply.params[:2] == ["bob", "#room"]
    bob.send("KICK #room dave")
    await bob.expect("482")
    assert "KICK" not in commands(await sync(alice))
    bob.send("KICK #room carol :behave")
    kick = await alice.expect("KICK")
    assert kick.source == mask("bob") and kick.params == ["#room", "carol", "behave"]


async def test_halfop_may_invite_to_an_invite_only_channel_and_voice_may_not(server, clients) -> None:
    alice, bob, carol = await room(server, clients, "alice", "bob", "carol")
    await op_sets(alice, "MODE #room +ih-o bob alice", bob, carol)  # alice drops op: only bob is staff
    await op_sets(bob, "MODE #room +v carol", alice, carol)
    dave = await connected(server, "dave")
    clients.append(dave)
    carol.send("INVITE dave #room")
    assert (await carol.expect("482")).params == ["carol", "#room", "You're not channel operator"]
    bob.send("INVITE dave #room")
    assert (await bob.expect("341")).params == ["bob", "dave", "#room"]
    dave.send("JOIN #room")
    await dave.expect("JOIN")


async def test_an_operator_refused_a_higher_rank_is_told_its_rank_is_too_low(server, clients) -> None:
    """An operator is one: what it lacks for +q or +a is the founder's rank, and the 482
    says so rather than "not channel operator"."""
    alice, bob, carol = await room(server, clients, "alice", "bob", "carol")
    for line in ("MODE #room +q bob", "MODE #room +a bob"):
        alice.send(line)
        assert (await alice.expect("482")).params == ["alice", "#room", "Your channel rank is too low for that"]
    carol.send("MODE #room +q bob")
    assert (await carol.expect("482")).params == ["carol", "#room", "You're not channel operator"]
    assert "MODE" not in commands(await sync(bob))
