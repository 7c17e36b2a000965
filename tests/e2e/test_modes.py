"""Transcripts of MODE: channel flags (+n +t), member status (+o +v), user modes (+i)."""

from __future__ import annotations

from tests.helpers import commands, connected, sync

SERVER = "hubbub.local"


def mask(nick: str) -> str:
    return f"{nick}!~u@127.0.0.1"


# -- channel modes --------------------------------------------------------------------------


async def test_channel_mode_query_is_324_and_329(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    carol = await connected(server, "carol")
    clients.extend([alice, carol])
    for asker, nick in ((alice, "alice"), (carol, "carol")):  # members and outsiders alike
        asker.send("MODE #room")
        reply = await asker.collect_until("329")
        assert commands(reply) == ["324", "329"]
        assert reply[0].source == SERVER
        assert reply[0].params == [nick, "#room", "+nt"]
        assert reply[1].params[:2] == [nick, "#room"]
        assert int(reply[1].params[2]) > 0


async def test_mode_of_unknown_channel_is_403(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("MODE #nowhere")
    assert (await alice.expect("403")).params == ["alice", "#nowhere", "No such channel"]
    alice.send("MODE")
    assert (await alice.expect("461")).params == ["alice", "MODE", "Not enough parameters"]


async def test_op_gives_and_takes_op_and_voice_seen_by_all_members(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    carol = await connected(server, "carol", "#room")
    clients.extend([alice, bob, carol])
    steps = [
        ("MODE #room +o bob", ["#room", "+o", "bob"], "@alice @bob carol"),
        ("MODE #room +v carol", ["#room", "+v", "carol"], "@alice @bob +carol"),
        ("MODE #room -o+v bob bob", ["#room", "-o+v", "bob", "bob"], "@alice +bob +carol"),
        ("MODE #room -vv bob carol", ["#room", "-vv", "bob", "carol"], "@alice bob carol"),
    ]
    for line, params, names in steps:
        alice.send(line)
        for member in (alice, bob, carol):
            change = await member.expect("MODE")
            assert change.source == mask("alice")
            assert change.params == params
        carol.send("NAMES #room")
        assert (await carol.expect("353")).params[-1] == names


async def test_new_op_can_use_op_rights(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    alice.send("MODE #room +o bob")
    await alice.expect("MODE", "#room", "+o", "bob")
    await bob.expect("MODE", "#room", "+o", "bob")
    bob.send("MODE #room -o alice")
    change = await alice.expect("MODE")
    assert change.source == mask("bob") and change.params == ["#room", "-o", "alice"]
    alice.send("MODE #room +o alice")
    assert (await alice.expect("482")).params == ["alice", "#room", "You're not channel operator"]


async def test_mode_change_that_changes_nothing_is_not_broadcast(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    alice.send("MODE #room +nt")
    alice.send("MODE #room +o alice")
    alice.send("MODE #room -v bob")
    await sync(alice)
    assert "MODE" not in commands(await sync(bob))


async def test_op_toggles_channel_flags(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    alice.send("MODE #room -nt")
    change = await bob.expect("MODE")
    assert change.source == mask("alice") and change.params == ["#room", "-nt"]
    alice.send("MODE #room")
    assert (await alice.expect("324")).params == ["alice", "#room", "+"]
    alice.send("MODE #room +t-n")  # -n is already off: only +t is announced
    assert (await bob.expect("MODE")).params == ["#room", "+t"]
    alice.send("MODE #room")
    assert (await alice.expect("324")).params == ["alice", "#room", "+t"]


async def test_non_op_mode_change_is_482_and_changes_nothing(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    for line in ("MODE #room +o bob", "MODE #room -t", "MODE #room -o alice"):
        bob.send(line)
        reply = await bob.expect("482")
        assert reply.params == ["bob", "#room", "You're not channel operator"]
    assert "MODE" not in commands(await sync(alice))
    alice.send("MODE #room")
    assert (await alice.expect("324")).params[-1] == "+nt"
    alice.send("NAMES #room")
    assert (await alice.expect("353")).params[-1] == "@alice bob"


async def test_unknown_channel_mode_letter_is_472(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    alice.send("MODE #room +X")
    assert (await alice.expect("472")).params == ["alice", "X", "is unknown mode char to me"]
    alice.send("MODE #room +Xv bob")  # the known letters still apply
    assert (await alice.expect("472")).params == ["alice", "X", "is unknown mode char to me"]
    assert (await bob.expect("MODE")).params == ["#room", "+v", "bob"]


async def test_status_mode_for_a_non_member_is_441(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    carol = await connected(server, "carol")
    clients.extend([alice, carol])
    alice.send("MODE #room +o carol")
    reply = await alice.expect("441")
    assert reply.params == ["alice", "carol", "#room", "They aren't on that channel"]
    assert "MODE" not in commands(await sync(alice))


async def test_status_mode_for_an_unknown_nick_is_401(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    clients.append(alice)
    alice.send("MODE #room +v nobody")
    reply = await alice.expect("401")
    assert reply.params == ["alice", "nobody", "No such nick/channel"]


async def test_status_modes_with_a_parameter_are_capped_at_modes(make_server, clients) -> None:
    server = await make_server("limits.max_modes=2")
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    carol = await connected(server, "carol", "#room")
    clients.extend([alice, bob, carol])
    alice.send("MODE #room +vvv alice bob carol")
    change = await carol.expect("MODE")
    assert change.params == ["#room", "+vv", "alice", "bob"]
    carol.send("NAMES #room")
    assert (await carol.expect("353")).params[-1] == "@alice +bob carol"


async def test_op_status_follows_a_nick_change(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    alice.send("NICK alicia")
    await bob.expect("NICK")
    alice.send("MODE #room +v bob")
    change = await bob.expect("MODE")
    assert change.source == mask("alicia") and change.params == ["#room", "+v", "bob"]


# -- user modes -----------------------------------------------------------------------------


async def test_user_mode_query_is_221_and_plus_i_is_confirmed(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    alice.send("MODE alice")
    assert (await alice.expect("221")).params == ["alice", "+"]
    alice.send("MODE alice +i")
    change = await alice.expect("MODE")
    assert change.source == mask("alice") and change.params == ["alice", "+i"]
    alice.send("MODE ALICE")
    assert (await alice.expect("221")).params == ["alice", "+i"]
    alice.send("MODE alice +i")  # already set: nothing to announce
    assert "MODE" not in commands(await sync(alice))
    alice.send("MODE alice -i")
    assert (await alice.expect("MODE")).params == ["alice", "-i"]
    assert "MODE" not in commands(await sync(bob))  # a user mode is nobody else's business


async def test_unknown_user_mode_flag_is_501(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("MODE alice +Z")
    assert (await alice.expect("501")).params == ["alice", "Unknown MODE flag"]
    alice.send("MODE alice +iZ")  # the known flag is still applied
    reply = await alice.collect_until("MODE")
    assert [(m.command, m.params) for m in reply] == [
        ("501", ["alice", "Unknown MODE flag"]),
        ("MODE", ["alice", "+i"]),
    ]


async def test_user_mode_of_another_user_is_502(server, clients) -> None:
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    for line in ("MODE bob", "MODE bob +i"):
        alice.send(line)
        assert (await alice.expect("502")).params == ["alice", "Can't change mode for other users"]
    bob.send("MODE bob")
    assert (await bob.expect("221")).params == ["bob", "+"]


async def test_user_mode_of_unknown_nick_is_401(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("MODE nobody +i")
    assert (await alice.expect("401")).params == ["alice", "nobody", "No such nick/channel"]


async def test_unrepeatable_mode_parameters_are_shown_as_star(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    clients.append(alice)
    cases = [
        ("MODE :", "401", ["alice", "*", "No such nick/channel"]),
        ("MODE :a b", "401", ["alice", "*", "No such nick/channel"]),
        ("MODE :#a b", "403", ["alice", "*", "No such channel"]),
        ("MODE #room +v :", "401", ["alice", "*", "No such nick/channel"]),
        ("MODE #room +v :a b", "401", ["alice", "*", "No such nick/channel"]),
        ("MODE #room :+ ", "472", ["alice", "*", "is unknown mode char to me"]),
        ("MODE #room :+:", "472", ["alice", "*", "is unknown mode char to me"]),
    ]
    for line, code, params in cases:
        alice.send(line)
        reply = await alice.read_message()
        assert reply is not None, line
        assert (reply.command, reply.params) == (code, params), line
    alice.send("MODE #room")
    assert (await alice.read_message()).params == ["alice", "#room", "+nt"]
