"""draft/channel-rename: RENAME keeps the channel (members, modes, topic, lists) under a
new name; clients without the capability see a PART and a JOIN instead."""

from __future__ import annotations

from tests.e2e_caps.support import capped, mask
from tests.helpers import commands, connected, sync

RENAME = "draft/channel-rename"


async def test_rename_is_relayed_with_its_reason_to_members_with_the_capability(server, clients) -> None:
    alice = await capped(server, "alice", RENAME, channels=("#boaring",))
    bob = await capped(server, "bob", RENAME, channels=("#boaring",))
    clients.extend([alice, bob])
    await sync(alice)
    alice.send("RENAME #boaring #boring :Typo fix")
    for member in (alice, bob):
        seen = await member.expect("RENAME")
        assert seen.source == mask("alice") and seen.params == ["#boaring", "#boring", "Typo fix"]
    alice.send("RENAME #boring #programming")
    await bob.expect("RENAME")
    assert bob.raw[-1] == f":{mask('alice')} RENAME #boring #programming :"  # the reason is always there


async def test_everything_but_the_name_is_kept(server, clients) -> None:
    alice = await capped(server, "alice", RENAME, channels=("#old",))
    bob = await connected(server, "bob", "#old")
    clients.extend([alice, bob])
    for line in ("TOPIC #old :the topic", "MODE #old +v bob", "MODE #old +kb sesame *!*@banned"):
        alice.send(line)
        await bob.expect(lambda m: m.command in ("TOPIC", "MODE"))
    alice.send("RENAME #old #new")
    await alice.expect("RENAME")
    alice.send("MODE #new")
    assert (await alice.expect("324")).params == ["alice", "#new", "+ntk", "sesame"]
    alice.send("NAMES #new")
    assert (await alice.expect("353")).params[-1] == "@alice +bob"
    alice.send("MODE #new b")
    assert (await alice.expect("367")).params[2] == "*!*@banned"
    alice.send("TOPIC #new")
    assert (await alice.expect("332")).params == ["alice", "#new", "the topic"]
    alice.send("WHOIS bob")
    assert (await alice.expect("319")).params[-1] == "+#new"
    alice.send("NAMES #old")  # the old name is free again
    assert (await alice.expect("366")).params[1] == "#old"
    bob.send("PRIVMSG #new :still here")
    assert (await alice.expect("PRIVMSG")).params == ["#new", "still here"]


async def test_members_without_the_capability_see_part_then_join_with_topic_and_names(server, clients) -> None:
    alice = await capped(server, "alice", RENAME, channels=("#foo",))
    bob = await connected(server, "bob", "#foo")
    clients.extend([alice, bob])
    alice.send("TOPIC #foo :Topic of the channel")
    await bob.expect("TOPIC")
    alice.send("RENAME #foo #bar :Changing the channel name")
    shown = await bob.collect_until("366")
    assert commands(shown) == ["PART", "JOIN", "332", "333", "353", "366"]
    part, join = shown[0], shown[1]
    assert part.source == mask("bob") and part.params == ["#foo", "Changing the channel name"]
    assert join.source == mask("bob") and join.params == ["#bar"]
    assert shown[2].params == ["bob", "#bar", "Topic of the channel"]
    assert shown[4].params == ["bob", "=", "#bar", "@alice bob"]


async def test_a_renamer_without_the_capability_sees_the_fallback_too(server, clients) -> None:
    alice = await connected(server, "alice", "#foo")
    carol = await capped(server, "carol", RENAME, "extended-join", channels=("#foo",))
    clients.extend([alice, carol])
    await sync(alice)
    alice.send("RENAME #foo #bar")
    shown = await alice.collect_until("366")
    assert commands(shown) == ["PART", "JOIN", "353", "366"]
    assert shown[0].params == ["#foo", "Channel renamed to #bar"]
    assert (await carol.expect("RENAME")).params == ["#foo", "#bar", ""]


async def test_extended_join_clients_get_the_extended_join_in_the_fallback(server, clients) -> None:
    alice = await capped(server, "alice", RENAME, channels=("#foo",))
    bob = await capped(server, "bob", "extended-join", channels=("#foo",), realname="Bob B")
    clients.extend([alice, bob])
    alice.send("RENAME #foo #bar")
    assert (await bob.expect("JOIN")).params == ["#bar", "*", "Bob B"]


async def test_a_change_of_case_only_is_a_rename_without_fallback(server, clients) -> None:
    alice = await capped(server, "alice", RENAME, channels=("#chan",))
    bob = await connected(server, "bob", "#chan")
    clients.extend([alice, bob])
    await sync(bob)
    alice.send("RENAME #chan #Chan")
    assert (await alice.expect("RENAME")).params == ["#chan", "#Chan", ""]
    assert commands(await sync(bob)) == []
    bob.send("NAMES #chan")
    assert (await bob.expect("353")).params[2] == "#Chan"


async def test_rename_errors(server, clients) -> None:
    alice = await capped(server, "alice", RENAME, channels=("#a", "#taken"))
    bob = await capped(server, "bob", RENAME, channels=("#a",))
    outsider = await connected(server, "outsider")
    clients.extend([alice, bob, outsider])
    bob.send("RENAME #a #b")
    assert (await bob.expect("482")).params == ["bob", "#a", "You must be a channel operator"]
    outsider.send("RENAME #a #b")
    assert (await outsider.expect("442")).params[1] == "#a"
    outsider.send("RENAME #nowhere #b")
    assert (await outsider.expect("403")).params[1] == "#nowhere"
    alice.send("RENAME #a #TAKEN")
    fail = await alice.expect("FAIL")
    assert fail.params == ["RENAME", "CHANNEL_NAME_IN_USE", "#a", "#TAKEN", "The channel name is already taken"]
    alice.send("RENAME #a bad")
    assert (await alice.expect("476")).params[1] == "bad"
    alice.send("RENAME #a #a")
    assert (await alice.expect("FAIL")).params[:2] == ["RENAME", "CANNOT_RENAME"]
    alice.send("RENAME #a")
    assert (await alice.expect("461")).params[1] == "RENAME"
    assert "RENAME" not in commands(await sync(bob))


async def test_rename_is_labeled_and_advertised(server, clients) -> None:
    alice = await capped(server, "alice", RENAME, "batch", "labeled-response", channels=("#a",))
    clients.append(alice)
    alice.send("@label=r1 RENAME #a #b :why not")
    renamed = await alice.expect("RENAME")
    assert renamed.tags.get("label") == "r1"
    alice.send("CAP LS 302")
    listed = await alice.collect_until(lambda m: m.command == "CAP" and m.params[2] != "*")
    assert RENAME in " ".join(m.params[-1] for m in listed).split()


async def test_invitations_follow_the_channel_to_its_new_name(server, clients) -> None:
    alice = await capped(server, "alice", RENAME, channels=("#a",))
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    alice.send("MODE #a +i")
    await alice.expect("MODE")
    alice.send("INVITE bob #a")
    await bob.expect("INVITE")
    alice.send("RENAME #a #b")
    await alice.expect("RENAME")
    bob.send("INVITE")
    assert (await bob.expect("336")).params == ["bob", "#b"]
    await bob.join("#b")


async def test_a_long_reason_is_cut_to_fit_every_line(server, clients) -> None:
    old, new = "#" + "o" * 60, "#" + "n" * 60
    alice = await capped(server, "alice", RENAME, channels=(old,))
    bob = await connected(server, "bob", old)
    clients.extend([alice, bob])
    line = f"RENAME {old} {new} :"
    alice.send(line + "é" * ((510 - len(line)) // 2))  # as long as a line from a client may be
    renamed = await alice.expect("RENAME")
    await bob.expect("PART")
    assert len(alice.raw[-1].encode()) <= 510 and len(bob.raw[-1].encode()) <= 510
    assert set(renamed.params[2]) == {"é"} and len(renamed.params[2]) > 150
