"""More moderation transcripts, as an operator or a troll would try them: ranks against
ranks (with ChanServ's founder and protected), the order of JOIN's checks, invitations
used up, lists at their limits, what an emptied channel forgets, RENAME's rights."""

from __future__ import annotations

from tests.e2e_accounts.support import registered_account
from tests.e2e_channels.common import mask, op_sets, room
from tests.helpers import LineClient, commands, connected, sync

CS = "ChanServ!ChanServ@services"


async def cs(client: LineClient, line: str) -> str:
    client.send(f"PRIVMSG ChanServ :{line}")
    return (await client.expect(lambda m: m.command == "NOTICE" and m.source == CS)).params[-1]


async def names(client: LineClient, channel: str = "#room") -> list[str]:
    client.send(f"NAMES {channel}")
    return (await client.expect("353")).params[-1].split()


# -- ranks ---------------------------------------------------------------------------


async def test_halfop_sets_every_list_key_limit_and_flag(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +h bob", bob)
    assert await op_sets(bob, "MODE #room +beIk x y z sesame", alice) == [
        "#room", "+beIk", "x!*@*", "y!*@*", "z!*@*", "sesame",
    ]  # fmt: skip
    assert await op_sets(bob, "MODE #room +lmi-t 5", alice) == ["#room", "+lmi-t", "5"]
    assert await op_sets(bob, "MODE #room -beIkl x y z", alice) == [
        "#room", "-beIkl", "x!*@*", "y!*@*", "z!*@*", "*",
    ]  # fmt: skip


async def test_halfop_cannot_take_voice_from_an_op_nor_ban_lift_its_rank(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +vh alice bob", bob)
    bob.send("MODE #room -v alice")
    await bob.expect("482")
    assert "MODE" not in commands(await sync(alice))
    # a halfop may ban an op, but the op's rank still lets it speak
    await op_sets(bob, "MODE #room +b alice", alice)
    alice.send("PRIVMSG #room :still talking")
    assert (await bob.expect("PRIVMSG")).params == ["#room", "still talking"]


async def test_op_cannot_deop_or_kick_a_protected_member_but_the_protected_can(server, clients) -> None:
    alice = await registered_account(server, "alice", "correct-horse", "#c")
    bob = await connected(server, "bob", "#c")
    carol = await connected(server, "carol", "#c")
    clients.extend([alice, bob, carol])
    await cs(alice, "REGISTER #c")
    await alice.expect("MODE", "#c", "+q", "alice")
    alice.send("MODE #c +ao bob carol")
    await carol.expect("MODE", "#c", "+ao", "bob", "carol")
    await sync(bob)
    for line in ("KICK #c bob", "MODE #c -a bob", "MODE #c +a carol", "MODE #c -q alice"):
        carol.send(line)
        assert (await carol.expect("482")).params[:2] == ["carol", "#c"], line
    assert not {"KICK", "MODE"} & set(commands(await sync(bob)))
    bob.send("KICK #c alice")  # the protected may not kick the founder
    await bob.expect("482")
    bob.send("MODE #c -o carol")  # but deops an op
    assert (await carol.expect("MODE")).params == ["#c", "-o", "carol"]
    bob.send("KICK #c carol :out")
    assert (await carol.expect("KICK")).params == ["#c", "carol", "out"]
    assert await names(alice, "#c") == ["~alice", "&bob"]


async def test_protected_member_may_drop_its_own_status(server, clients) -> None:
    alice = await registered_account(server, "alice", "correct-horse", "#c")
    bob = await connected(server, "bob", "#c")
    clients.extend([alice, bob])
    await cs(alice, "REGISTER #c")
    await alice.expect("MODE", "#c", "+q", "alice")
    alice.send("MODE #c +a bob")
    await bob.expect("MODE", "#c", "+a", "bob")
    await alice.expect("MODE", "#c", "+a", "bob")
    bob.send("MODE #c -a bob")
    assert (await alice.expect("MODE")).params == ["#c", "-a", "bob"]
    alice.send("MODE #c -q alice")
    await bob.expect("MODE", "#c", "-q", "alice")


async def test_registered_channel_keeps_its_modes_and_bans_when_it_empties(server, clients) -> None:
    alice = await registered_account(server, "alice", "correct-horse", "#c")
    clients.append(alice)
    await cs(alice, "REGISTER #c")
    await alice.expect("MODE", "#c", "+q", "alice")
    await op_sets(alice, "MODE #c +bm troll")
    alice.send("PART #c")
    await alice.expect("PART")
    alice.send("JOIN #c")
    await alice.expect("366")
    alice.send("MODE #c")
    assert (await alice.expect("324")).params[2] == "+mnt"
    alice.send("MODE #c b")
    assert (await alice.expect("367")).params[2] == "troll!*@*"


# -- voiced, moderated, banned -------------------------------------------------------------


async def test_moderated_channel_lets_halfops_speak_and_outsiders_not_even_when_minus_n(server, clients) -> None:
    alice, bob, carol = await room(server, clients, "alice", "bob", "carol")
    await op_sets(alice, "MODE #room +mh-n bob", bob, carol)
    bob.send("PRIVMSG #room :halfop speaks")
    assert (await carol.expect("PRIVMSG")).params == ["#room", "halfop speaks"]
    dave = await connected(server, "dave")
    clients.append(dave)
    dave.send("PRIVMSG #room :from outside")
    assert (await dave.expect("404")).params[-1] == "Cannot send to channel (+m)"
    await op_sets(alice, "MODE #room -m", bob, carol)
    dave.send("PRIVMSG #room :now it may")
    assert (await carol.expect("PRIVMSG")).params == ["#room", "now it may"]


async def test_ban_on_the_ip_with_wildcards_matches_whatever_the_nick(server, clients) -> None:
    (alice,) = await room(server, clients, "alice")
    await op_sets(alice, "MODE #room +b *!*@127.0.0.?")
    bob = await connected(server, "zzz")
    clients.append(bob)
    bob.send("JOIN #room")
    await bob.expect("474")


async def test_banned_outsider_cannot_speak_into_a_minus_n_channel(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room -n+b troll", bob)
    troll = await connected(server, "troll")
    clients.append(troll)
    troll.send("PRIVMSG #room :hi")
    assert (await troll.expect("404")).params[-1] == "Cannot send to channel (you are banned)"
    assert "PRIVMSG" not in commands(await sync(bob))


async def test_account_ban_keeps_a_logged_in_user_out_and_an_account_exception_lets_in(server, clients) -> None:
    (alice,) = await room(server, clients, "alice")
    await op_sets(alice, "MODE #room +b a:mallory")
    mallory = await registered_account(server, "mallory")
    clients.append(mallory)
    mallory.send("NICK innocent")
    await mallory.expect("NICK")
    mallory.send("JOIN #room")
    await mallory.expect("474")
    await op_sets(alice, "MODE #room +e a:MALLORY")
    mallory.send("JOIN #room")
    await mallory.expect("JOIN")


async def test_banned_member_cannot_dodge_by_nick_change_then_unbanned_can(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +b m:bob", bob)
    bob.send("NICK bob2")
    assert (await bob.expect("435")).params[:3] == ["bob", "bob2", "#room"]
    await op_sets(alice, "MODE #room -b m:BOB!*@*", bob)
    bob.send("NICK bob2")
    assert (await alice.expect("NICK")).params == ["bob2"]


# -- JOIN's checks and invitations ------------------------------------------------------------


async def test_join_checks_come_in_order_ban_invite_key_limit(server, clients) -> None:
    alice, _bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +bikl carol sesame 2")
    carol = await connected(server, "carol")
    clients.append(carol)
    for code, change in (("474", "-b carol"), ("473", "+I carol"), ("475", None)):
        carol.send("JOIN #room")
        assert (await carol.expect(lambda m: m.command.startswith("47"))).command == code
        if change:
            await op_sets(alice, f"MODE #room {change}")
    carol.send("JOIN #room sesame")
    assert (await carol.expect(lambda m: m.command.startswith("47"))).command == "471"


async def test_invitation_is_used_up_by_a_join_then_part(server, clients) -> None:
    (alice,) = await room(server, clients, "alice")
    await op_sets(alice, "MODE #room +i")
    bob = await connected(server, "bob")
    clients.append(bob)
    alice.send("INVITE bob #room")
    await bob.expect("INVITE")
    bob.send("INVITE")
    assert commands(await bob.collect_until("337")) == ["336", "337"]
    bob.send("JOIN #room")
    await bob.expect("JOIN")
    bob.send("PART #room")
    await bob.expect("PART")
    bob.send("JOIN #room")
    await bob.expect("473")
    bob.send("INVITE")
    assert commands(await bob.collect_until("337")) == ["337"]


async def test_invitation_survives_a_nick_change(server, clients) -> None:
    (alice,) = await room(server, clients, "alice")
    await op_sets(alice, "MODE #room +i")
    bob = await connected(server, "bob")
    clients.append(bob)
    alice.send("INVITE bob #room")
    await bob.expect("INVITE")
    bob.send("NICK robert")
    await bob.expect("NICK")
    bob.send("JOIN #room")
    await bob.expect("JOIN")


async def test_an_emptied_channel_forgets_modes_lists_and_invitations(server, clients) -> None:
    (alice,) = await room(server, clients, "alice")
    bob = await connected(server, "bob")
    clients.append(bob)
    await op_sets(alice, "MODE #room +ibk bob sesame")
    alice.send("INVITE bob #room")
    await bob.expect("INVITE")
    alice.send("PART #room")
    await alice.expect("PART")
    bob.send("INVITE")
    assert commands(await bob.collect_until("337")) == ["337"]
    bob.send("JOIN #room")
    join = await bob.collect_until("366")
    assert "JOIN" in commands(join)
    assert await names(bob) == ["@bob"]
    bob.send("MODE #room")
    assert (await bob.expect("324")).params[2:] == ["+nt"]
    await bob.expect("329")
    bob.send("MODE #room +b")
    assert commands(await bob.collect_until("368")) == ["368"]


# -- lists, keys, limits -----------------------------------------------------------------------


async def test_list_full_counts_removals_in_the_same_command(make_server, clients) -> None:
    server = await make_server("limits.max_list_entries=2")
    (alice,) = await room(server, clients, "alice")
    await op_sets(alice, "MODE #room +bb a b")
    alice.send("MODE #room +b c")
    assert (await alice.expect("478")).params == ["alice", "#room", "b", "Channel list is full"]
    assert await op_sets(alice, "MODE #room -b+b a c") == ["#room", "-b+b", "a!*@*", "c!*@*"]
    # each list has its own room
    assert await op_sets(alice, "MODE #room +ee a b") == ["#room", "+ee", "a!*@*", "b!*@*"]


async def test_minus_b_without_a_mask_lists_and_changes_nothing(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +b x", bob)
    bob.send("MODE #room -b")
    reply = await bob.collect_until("368")
    assert commands(reply) == ["367", "368"]
    assert "MODE" not in commands(await sync(alice))


async def test_key_with_a_colon_inside_is_kept_and_needed(server, clients) -> None:
    (alice,) = await room(server, clients, "alice")
    assert await op_sets(alice, "MODE #room +k a:b") == ["#room", "+k", "a:b"]
    bob = await connected(server, "bob")
    clients.append(bob)
    bob.send("JOIN #room a")
    await bob.expect("475")
    bob.send("JOIN #room a:b")
    await bob.expect("JOIN")


async def test_limit_with_leading_zeros_is_its_number(server, clients) -> None:
    (alice,) = await room(server, clients, "alice")
    assert await op_sets(alice, "MODE #room +l 0002") == ["#room", "+l", "2"]
    for value in ("-1", "+3", "1e3"):
        alice.send(f"MODE #room +l {value}")
        assert (await alice.expect("696")).params[2] == "l"


# -- KICK and TOPIC ---------------------------------------------------------------------------


async def test_kick_reason_is_cut_to_kicklen_at_a_character_boundary(server, clients) -> None:
    alice, bob, carol = await room(server, clients, "alice", "bob", "carol")
    alice.send("KICK #room bob :" + "é" * 240)  # 480 bytes: cut to KICKLEN's 300, 150 characters
    kick = await carol.expect("KICK")
    assert kick.params[2] == "é" * 150


async def test_topic_under_plus_t_by_each_rank(server, clients) -> None:
    alice, bob, carol, dave = await room(server, clients, "alice", "bob", "carol", "dave")
    await op_sets(alice, "MODE #room +hv bob carol", bob, carol, dave)
    for who, allowed in ((dave, False), (carol, False), (bob, True), (alice, True)):
        who.send(f"TOPIC #room :by {who.nick}")
        if allowed:
            assert (await dave.expect("TOPIC")).params == ["#room", f"by {who.nick}"]
        else:
            await who.expect("482")
    outsider = await connected(server, "eve")
    clients.append(outsider)
    outsider.send("TOPIC #room :from outside")
    assert (await outsider.expect("442")).params[:2] == ["eve", "#room"]
    outsider.send("TOPIC #room")
    assert (await outsider.expect("332")).params[-1] == "by alice"


async def test_topic_is_cut_to_topiclen(make_server, clients) -> None:
    server = await make_server("limits.topiclen=4")
    alice, bob = await room(server, clients, "alice", "bob")
    alice.send("TOPIC #room :abcdefgh")
    assert (await bob.expect("TOPIC")).params == ["#room", "abcd"]


# -- RENAME -------------------------------------------------------------------------------------


async def test_halfop_cannot_rename_and_op_rename_keeps_bans_and_modes(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +hbk bob troll sesame", bob)
    bob.send("RENAME #room #new")
    assert (await bob.expect("482")).params[:2] == ["bob", "#room"]
    alice.send("RENAME #room #new :moving")
    await bob.expect("JOIN", "#new")
    bob.send("MODE #new")
    assert (await bob.expect("324")).params[2:] == ["+ntk", "sesame"]
    troll = await connected(server, "troll")
    clients.append(troll)
    troll.send("JOIN #new sesame")
    await troll.expect("474")
    troll.send("JOIN #room")  # the old name is a new, empty channel
    await troll.expect("JOIN")
    assert await names(troll) == ["@troll"]


async def test_rename_onto_an_existing_channel_is_refused(server, clients) -> None:
    (alice,) = await room(server, clients, "alice")
    other = await connected(server, "other", "#taken")
    clients.append(other)
    alice.send("RENAME #room #TAKEN")
    fail = await alice.expect("FAIL")
    assert fail.params[:2] == ["RENAME", "CHANNEL_NAME_IN_USE"]
    assert await names(other, "#taken") == ["@other"]


async def test_voice_and_outsider_cannot_rename(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +v bob", bob)
    bob.send("RENAME #room #mine")
    await bob.expect("482")
    eve = await connected(server, "eve")
    clients.append(eve)
    eve.send("RENAME #room #mine")
    assert (await eve.expect("442")).params[:2] == ["eve", "#room"]
    assert "RENAME" not in commands(await sync(alice)) and "PART" not in commands(await sync(alice))


async def test_member_kicked_then_quitting_is_one_kick_and_one_quit(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    alice.send("JOIN #other")
    await alice.expect("366")
    bob.send("JOIN #other")
    await bob.expect("366")
    alice.send("KICK #room bob :bye")
    bob.send("QUIT :leaving")
    kick = await alice.expect("KICK")
    assert kick.source == mask("alice")
    quit_line = await alice.expect("QUIT")
    assert quit_line.source == mask("bob")
    assert "QUIT" not in commands(await sync(alice))


# -- changes that change nothing ------------------------------------------------------------


async def test_adding_and_removing_one_mask_in_one_command_is_not_announced(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    alice.send("MODE #room +b-b x x")
    assert "MODE" not in commands(await sync(alice))
    assert "MODE" not in commands(await sync(bob))
    alice.send("MODE #room b")
    assert commands(await alice.collect_until("368")) == ["368"]


async def test_status_already_held_is_not_announced_and_nick_case_is_the_real_one(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    assert await op_sets(alice, "MODE #room +v BOB", bob) == ["#room", "+v", "bob"]
    alice.send("MODE #room +v bob")
    assert "MODE" not in commands(await sync(alice))


async def test_outsider_mode_change_is_482_and_changes_nothing(server, clients) -> None:
    alice, _bob = await room(server, clients, "alice", "bob")
    eve = await connected(server, "eve")
    clients.append(eve)
    eve.send("MODE #room +o eve")
    await eve.expect("482")
    eve.send("MODE #room -o alice")
    await eve.expect("482")
    eve.send("MODE #room +m")
    await eve.expect("482")
    assert "MODE" not in commands(await sync(alice))


async def test_key_of_exactly_keylen_bytes_is_accepted(make_server, clients) -> None:
    server = await make_server("limits.keylen=4")
    (alice,) = await room(server, clients, "alice")
    assert await op_sets(alice, "MODE #room +k abcd") == ["#room", "+k", "abcd"]
    alice.send("MODE #room +k abcde")
    assert (await alice.expect("696")).params[2:4] == ["k", "*"]
    alice.send("MODE #room +k éé")  # 4 bytes
    assert (await alice.expect("MODE")).params == ["#room", "+k", "éé"]


async def test_devoiced_muted_member_is_silenced_again(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +vb bob m:bob", bob)
    bob.send("PRIVMSG #room :voiced")
    await alice.expect("PRIVMSG")
    await op_sets(alice, "MODE #room -v bob", bob)
    bob.send("PRIVMSG #room :muted")
    assert (await bob.expect("404")).params[-1] == "Cannot send to channel (you are muted)"


async def test_invitation_from_a_halfop_later_demoted_still_holds(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    await op_sets(alice, "MODE #room +ih bob", bob)
    carol = await connected(server, "carol")
    clients.append(carol)
    bob.send("INVITE carol #room")
    await carol.expect("INVITE")
    await op_sets(alice, "MODE #room -h bob", bob)
    carol.send("JOIN #room")
    await carol.expect("JOIN")


async def test_kick_of_oneself_by_an_op(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    alice.send("KICK #room alice :bye me")
    assert (await bob.expect("KICK")).params == ["#room", "alice", "bye me"]
    assert await names(bob) == ["bob"]


async def test_one_who_may_not_speak_leaves_without_a_reason(server, clients) -> None:
    """+m, a ban, a mute: a PART or QUIT reason would say what the channel holds back
    (the charybdis family drops it too); one who may speak keeps its reason."""
    op, bystander, muted, silent, free = await room(server, clients, "op", "bystander", "muted", "silent", "free")
    await op_sets(op, "MODE #room +b m:muted!*@*", bystander)
    muted.send("PART #room :visit spam.example")
    assert (await bystander.expect("PART")).params == ["#room"]
    await op_sets(op, "MODE #room +m", bystander)
    free.send("PART #room :voiced or not, +m silences this too")
    assert (await bystander.expect("PART")).params == ["#room"]
    silent.send("QUIT :buy now at spam.example")
    quit_line = await bystander.expect("QUIT")
    assert quit_line.source.startswith("silent!") and quit_line.params == ["Quit"]
    await op_sets(op, "MODE #room -m", bystander)
    op.send("PART #room :lunch")  # free to speak: the reason stays
    assert (await bystander.expect("PART")).params == ["#room", "lunch"]


async def test_a_quit_keeps_its_reason_where_one_may_speak_everywhere(server, clients) -> None:
    alice, bob = await room(server, clients, "alice", "bob")
    bob.send("QUIT :see you tomorrow")
    assert (await alice.expect("QUIT")).params == ["Quit: see you tomorrow"]
