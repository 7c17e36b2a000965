"""Transcripts of KICK and INVITE, with invite-notify."""

from __future__ import annotations

from tests.e2e_channels.common import mask, op_sets, room
from tests.helpers import commands, connected, sync

# -- KICK -------------------------------------------------------------------------------


async def test_kick_is_seen_by_every_member_and_removes_the_victim(server, clients) -> None:
    alice, bob, carol = await room(server, clients, "alice", "bob", "carol")
    alice.send("KICK #room bob :bye now")
    for member in (alice, bob, carol):
        kick = await member.expect("KICK")
        assert kick.source == mask("alice") and kick.params == ["#room", "bob", "bye now"]
    carol.send("NAMES #room")
    assert (await carol.expect("353")).params[-1] == "@alice carol"
    bob.send("PRIVMSG #room :still here?")
    await bob.expect("404")  # +n: no longer a member


async def test_kick_without_reason_uses_the_kickers_nick(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    alice.send("KICK #room bob")
    assert (await bob.expect("KICK")).params == ["#room", "bob", "alice"]


async def test_kick_of_several_nicks_is_one_kick_line_each(server, clients) -> None:
    alice, _bob, _carol, dave = await room(server, clients, "alice", "bob", "carol", "dave")
    alice.send("KICK #room bob,carol :out")
    assert [(await dave.expect("KICK")).params for _ in range(2)] == [
        ["#room", "bob", "out"],
        ["#room", "carol", "out"],
    ]


async def test_kick_pairs_channels_with_nicks(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob", channel="#a")
    alice.send("JOIN #b")
    bob.send("JOIN #b")
    await bob.expect("366")
    await alice.expect("JOIN", "#b")
    alice.send("KICK #a,#b bob,bob :both")
    assert (await bob.expect("KICK")).params == ["#a", "bob", "both"]
    assert (await bob.expect("KICK")).params == ["#b", "bob", "both"]
    alice.send("KICK #a,#b bob")  # two channels, one nick: neither one nor as many
    assert (await alice.expect("461")).params == ["alice", "KICK", "Not enough parameters"]


async def test_kick_past_targmax_is_refused_whole(make_server, clients) -> None:
    """As PRIVMSG and NAMES: 407, and nobody kicked; a bot that sent too many is told, and
    no target is left without an answer."""
    server = await make_server("limits.max_kick_targets=2")
    alice, _bob, _carol, _dave = await room(server, clients, "alice", "bob", "carol", "dave")
    alice.send("KICK #room bob,carol,dave")
    got = await sync(alice)
    assert [m.params for m in got if m.command != "PONG"] == [
        ["alice", "bob,carol,dave", "Too many targets, the limit is 2"]
    ]
    alice.send("KICK #room bob,carol")
    kicked = [m.params[1] for m in await sync(alice) if m.command == "KICK"]
    assert kicked == ["bob", "carol"]
    alice.send("NAMES #room")
    assert (await alice.expect("353")).params[-1] == "@alice dave"


async def test_kick_reason_is_cut_to_kicklen(make_server, clients) -> None:
    server = await make_server("limits.kicklen=5")
    alice, bob = await room(server, clients, "alice", "bob")
    alice.send("KICK #room bob :a long reason")
    assert (await bob.expect("KICK")).params == ["#room", "bob", "a lon"]


async def test_kick_errors(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    carol = await connected(server, "carol")
    clients.append(carol)
    cases = [
        (carol, "KICK #nowhere bob", "403", ["carol", "#nowhere", "No such channel"]),
        (carol, "KICK #room bob", "442", ["carol", "#room", "You're not on that channel"]),
        (bob, "KICK #room alice", "482", ["bob", "#room", "You're not channel operator"]),
        (alice, "KICK #room nobody", "401", ["alice", "nobody", "No such nick/channel"]),
        (alice, "KICK #room carol", "441", ["alice", "carol", "#room", "They aren't on that channel"]),
        (alice, "KICK #room", "461", ["alice", "KICK", "Not enough parameters"]),
    ]
    for who, line, code, params in cases:
        who.send(line)
        assert (await who.expect(code)).params == params, line
    assert "KICK" not in commands(await sync(bob))


async def test_op_may_kick_another_op(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +o bob", bob)
    bob.send("KICK #room alice")
    assert (await alice.expect("KICK")).params == ["#room", "alice", "bob"]


# -- INVITE -----------------------------------------------------------------------------


async def test_invite_is_341_to_the_inviter_and_invite_to_the_target_only(server, clients) -> None:
    alice, carol = await room(server, clients, "alice", "carol")
    bob = await connected(server, "bob")
    clients.append(bob)
    alice.send("INVITE bob #room")
    assert (await alice.expect("341")).params == ["alice", "bob", "#room"]
    invite = await bob.expect("INVITE")
    assert invite.source == mask("alice") and invite.params == ["bob", "#room"]
    assert "INVITE" not in commands(await sync(carol))


async def test_invitation_lets_in_once_past_invite_only_ban_key_and_limit(server, clients) -> None:
    (alice,) = await room(server, clients, "alice")
    await op_sets(alice, "MODE #room +ibkl bob key 1")
    bob = await connected(server, "bob")
    clients.append(bob)
    alice.send("INVITE bob #room")
    await bob.expect("INVITE")
    bob.send("JOIN #room")
    await bob.expect("JOIN")
    alice.send("KICK #room bob")
    await bob.expect("KICK")
    bob.send("JOIN #room")  # the invitation is used up
    await bob.expect("474")


async def test_invite_errors(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    carol = await connected(server, "carol")
    clients.append(carol)
    await op_sets(alice, "MODE #room +i", bob)
    cases = [
        (alice, "INVITE nobody #room", "401", ["alice", "nobody", "No such nick/channel"]),
        (alice, "INVITE carol #nowhere", "403", ["alice", "#nowhere", "No such channel"]),
        (carol, "INVITE alice #room", "442", ["carol", "#room", "You're not on that channel"]),
        (bob, "INVITE carol #room", "482", ["bob", "#room", "You're not channel operator"]),
        (alice, "INVITE bob #room", "443", ["alice", "bob", "#room", "is already on channel"]),
        (alice, "INVITE carol", "461", ["alice", "INVITE", "Not enough parameters"]),
    ]
    for who, line, code, params in cases:
        who.send(line)
        assert (await who.expect(code)).params == params, line
    assert "INVITE" not in commands(await sync(carol))


async def test_any_member_may_invite_to_an_open_channel(server, clients) -> None:
    _alice, bob = await room(server, clients, "alice", "bob")
    carol = await connected(server, "carol")
    clients.append(carol)
    bob.send("INVITE carol #room")
    assert (await bob.expect("341")).params == ["bob", "carol", "#room"]
    assert (await carol.expect("INVITE")).params == ["carol", "#room"]


async def test_a_plain_members_invitation_does_not_lift_bans_keys_or_limits(server, clients) -> None:
    """Otherwise any member could let a banned user past the ops' +b, +k and +l."""
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +bkl carol!*@* key 2", bob)
    carol = await connected(server, "carol")
    clients.append(carol)
    bob.send("INVITE carol #room")
    await carol.expect("INVITE")
    carol.send("JOIN #room")
    await carol.expect("474")


async def test_invite_of_an_away_user_tells_the_inviter(server, clients) -> None:
    (alice,) = await room(server, clients, "alice")
    bob = await connected(server, "bob")
    clients.append(bob)
    bob.send("AWAY :lunch")
    await bob.expect("306")
    alice.send("INVITE bob #room")
    reply = await alice.collect_until("301")
    assert commands(reply) == ["341", "301"]
    assert reply[1].params == ["alice", "bob", "lunch"]


async def test_invite_notify_tells_halfops_and_ops_that_asked(server, clients) -> None:
    alice, bob, carol, dave = await room(server, clients, "alice", "bob", "carol", "dave")
    await op_sets(alice, "MODE #room +h bob", bob, carol, dave)
    for member in (bob, carol, dave):
        member.send("CAP REQ invite-notify")
        assert (await member.expect("CAP")).params[1:] == ["ACK", "invite-notify"]
    await op_sets(alice, "MODE #room +o-o dave alice", bob, carol, dave)  # dave is op, alice nothing
    eve = await connected(server, "eve")
    clients.append(eve)
    bob.send("INVITE eve #room")
    await bob.expect("341")
    seen = await dave.expect("INVITE")
    assert seen.source == mask("bob") and seen.params == ["eve", "#room"]
    assert "INVITE" not in commands(await sync(carol))  # asked, but not staff
    assert "INVITE" not in commands(await sync(alice))  # staff no more, and did not ask
    assert "INVITE" not in commands(await sync(bob))  # the inviter has its 341


async def test_invite_notify_is_offered(server, clients) -> None:
    alice = await connected(server)
    clients.append(alice)
    alice.send("CAP LS 302")
    reply = await alice.expect("CAP")
    tokens = reply.params[-1].split()
    while reply.params[2] == "*":
        reply = await alice.expect("CAP")
        tokens += reply.params[-1].split()
    assert "invite-notify" in tokens
