"""Transcripts of channel life: JOIN, PART, TOPIC, NAMES, LIST, and NICK seen from channels."""

from __future__ import annotations

from tests.helpers import commands, connected, sync

SERVER = "hubbub.local"


def mask(nick: str) -> str:
    """The source of a LineClient's messages (registered with the default user 'u')."""
    return f"{nick}!~u@127.0.0.1"


# -- JOIN -----------------------------------------------------------------------------------


async def test_first_joiner_creates_the_channel_as_op(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("JOIN #room")
    reply = await alice.collect_until("366")
    assert commands(reply) == ["JOIN", "MODE", "353", "366"]
    join, modes, names, end = reply
    assert join.source == mask("alice") and join.params == ["#room"]
    assert modes.source == SERVER and modes.params == ["#room", "+nt"]  # the modes it starts with
    assert names.source == SERVER
    assert names.params == ["alice", "=", "#room", "@alice"]
    assert end.params == ["alice", "#room", "End of /NAMES list"]


async def test_later_joiner_is_announced_to_members_and_gets_names(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    bob.send("JOIN #ROOM")  # any case finds the channel; replies use its own spelling
    reply = await bob.collect_until("366")
    assert commands(reply) == ["JOIN", "353", "366"]
    assert reply[0].source == mask("bob") and reply[0].params == ["#room"]
    assert reply[1].params == ["bob", "=", "#room", "@alice bob"]
    seen = await alice.expect("JOIN")
    assert seen.source == mask("bob") and seen.params == ["#room"]


async def test_joining_a_channel_again_does_nothing(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    await alice.expect("JOIN", "#room")
    bob.send("JOIN #room")
    assert await sync(bob) == []
    assert "JOIN" not in commands(await sync(alice))


async def test_join_several_channels_at_once(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("JOIN #a,#b")
    reply = await alice.collect_until("366")
    reply += await alice.collect_until("366")
    assert commands(reply) == ["JOIN", "MODE", "353", "366", "JOIN", "MODE", "353", "366"]
    assert [m.params[0] for m in reply if m.command == "JOIN"] == ["#a", "#b"]
    assert reply[7].params[1] == "#b"


async def test_join_0_parts_every_channel(server, clients) -> None:
    alice = await connected(server, "alice", "#a", "#b")
    bob = await connected(server, "bob", "#a")
    clients.extend([alice, bob])
    alice.send("JOIN 0")
    parts = [m for m in await sync(alice) if m.command == "PART"]
    assert sorted(m.params[0] for m in parts) == ["#a", "#b"]
    assert all(m.source == mask("alice") for m in parts)
    seen = await bob.expect("PART")
    assert seen.source == mask("alice") and seen.params == ["#a"]
    alice.send("WHOIS alice")
    whois = await alice.collect_until("318")
    assert "319" not in commands(whois)


async def test_join_without_channel_prefix_is_403(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("JOIN room")
    reply = await alice.expect("403")
    assert reply.params == ["alice", "room", "No such channel"]


async def test_join_of_malformed_channel_names_is_476(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    for bad in ["#", "#a:b", "#bell\x07", "#" + "x" * 64]:
        alice.send(f"JOIN {bad}")
        reply = await alice.expect("476")
        assert reply.params == ["alice", bad, "Bad Channel Mask"]
    # control characters and the marks that reorder text cannot be in a name either
    for bad in ["#a\x1b[31mred", "#a\tb", "#a\x0bb", "#abc\u202efed", "#a\u2066b", "#" + "é" * 32]:
        alice.send(f"JOIN {bad}")
        reply = await alice.expect("476")
        assert reply.params[1] == bad
    alice.send("JOIN #" + "é" * 31)  # CHANNELLEN counts bytes: 63 of them fit
    await alice.expect("366", "alice", "#" + "é" * 31)
    alice.send("JOIN #ok,room,#a:b")  # errors do not stop the other names
    reply = await alice.collect_until("476")
    assert commands(reply) == ["JOIN", "MODE", "353", "366", "403", "476"]
    assert reply[0].params == ["#ok"]


async def test_too_many_channels_is_405(make_server, clients) -> None:
    server = await make_server("limits.max_channels=2")
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("JOIN #a,#b,#c")
    reply = await alice.expect("405")
    assert reply.params == ["alice", "#c", "You have joined too many channels"]
    alice.send("PART #a")
    await alice.expect("PART", "#a")
    alice.send("JOIN #c")
    await alice.expect("366", "alice", "#c")


async def test_join_shows_the_topic_before_the_names(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    alice.send("TOPIC #room :Welcome all")
    await alice.expect("TOPIC")
    bob.send("JOIN #room")
    reply = await bob.collect_until("366")
    assert commands(reply) == ["JOIN", "332", "333", "353", "366"]
    assert reply[1].params == ["bob", "#room", "Welcome all"]
    assert reply[2].params[:3] == ["bob", "#room", mask("alice")]
    assert reply[2].params[3].isdigit()


# -- TOPIC ----------------------------------------------------------------------------------


async def test_topic_query_of_a_channel_without_topic_is_331(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    clients.append(alice)
    alice.send("TOPIC #room")
    reply = await alice.expect("331")
    assert reply.params == ["alice", "#room", "No topic is set"]


async def test_topic_set_is_broadcast_and_then_queried_with_332_333(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    alice.send("TOPIC #room :Plans for today")
    for member in (alice, bob):
        change = await member.expect("TOPIC")
        assert change.source == mask("alice")
        assert change.params == ["#room", "Plans for today"]
    bob.send("TOPIC #room")
    reply = await bob.collect_until("333")
    assert commands(reply) == ["332", "333"]
    assert reply[0].params == ["bob", "#room", "Plans for today"]
    assert reply[1].params[:3] == ["bob", "#room", mask("alice")]
    assert int(reply[1].params[3]) > 0


async def test_topic_is_cut_to_topiclen(make_server, clients) -> None:
    server = await make_server("limits.topiclen=10")
    alice = await connected(server, "alice", "#room")
    clients.append(alice)
    alice.send("TOPIC #room :0123456789abcdef")
    change = await alice.expect("TOPIC")
    assert change.params == ["#room", "0123456789"]


async def test_topic_can_be_cleared(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    clients.append(alice)
    alice.send("TOPIC #room :something")
    await alice.expect("TOPIC")
    alice.send("TOPIC #room :")
    change = await alice.expect("TOPIC")
    assert change.params == ["#room", ""]
    alice.send("TOPIC #room")
    await alice.expect("331", "alice", "#room")


async def test_topic_on_plus_t_channel_needs_op(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    bob.send("TOPIC #room :bob was here")
    reply = await bob.expect("482")
    assert reply.params == ["bob", "#room", "You're not channel operator"]
    assert "TOPIC" not in commands(await sync(alice))
    alice.send("MODE #room -t")
    await bob.expect("MODE", "#room", "-t")
    bob.send("TOPIC #room :bob was here")
    change = await alice.expect("TOPIC")
    assert change.source == mask("bob") and change.params == ["#room", "bob was here"]


async def test_topic_set_from_outside_is_442_and_unknown_channel_403(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    carol = await connected(server, "carol")
    clients.extend([alice, carol])
    carol.send("TOPIC #room :hijack")
    reply = await carol.expect("442")
    assert reply.params == ["carol", "#room", "You're not on that channel"]
    carol.send("TOPIC #nowhere")
    reply = await carol.expect("403")
    assert reply.params == ["carol", "#nowhere", "No such channel"]
    alice.send("TOPIC #room")
    await alice.expect("331")  # unchanged


# -- NAMES ----------------------------------------------------------------------------------


async def test_names_lists_members_with_their_highest_prefix(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    carol = await connected(server, "carol", "#room")
    clients.extend([alice, bob, carol])
    alice.send("MODE #room +vv alice bob")
    await carol.expect("MODE", "#room", "+vv")
    carol.send("NAMES #room")
    reply = await carol.collect_until("366")
    assert commands(reply) == ["353", "366"]
    assert reply[0].params == ["carol", "=", "#room", "@alice +bob carol"]
    assert reply[1].params == ["carol", "#room", "End of /NAMES list"]


async def test_names_with_multi_prefix_shows_every_prefix(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    clients.append(alice)
    alice.send("MODE #room +v alice")
    await alice.expect("MODE", "#room", "+v", "alice")
    alice.send("CAP REQ multi-prefix")
    await alice.expect("CAP", "alice", "ACK")
    alice.send("NAMES #room")
    reply = await alice.expect("353")
    assert reply.params == ["alice", "=", "#room", "@+alice"]


async def test_names_with_userhost_in_names_shows_full_masks(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    bob.send("CAP REQ userhost-in-names")
    await bob.expect("CAP", "bob", "ACK")
    bob.send("NAMES #room")
    reply = await bob.expect("353")
    assert reply.params == ["bob", "=", "#room", f"@{mask('alice')} {mask('bob')}"]


async def test_names_of_an_unknown_channel_is_only_366(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("NAMES #nowhere")
    reply = await alice.read_message()
    assert reply is not None and reply.command == "366"
    assert reply.params == ["alice", "#nowhere", "End of /NAMES list"]


async def test_names_hides_invisible_members_from_outsiders(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    carol = await connected(server, "carol")
    clients.extend([alice, bob, carol])
    bob.send("MODE bob +i")
    await bob.expect("MODE", "bob")
    carol.send("NAMES #room")
    assert (await carol.expect("353")).params[-1] == "@alice"
    alice.send("NAMES #room")
    assert (await alice.expect("353")).params[-1] == "@alice bob"


async def test_names_of_a_big_channel_is_split_into_lines_under_512_bytes(make_server, clients) -> None:
    server = await make_server("limits.max_clients_per_ip=0")
    nicks = [f"member{i:02d}_" + "x" * 21 for i in range(20)]  # 30 characters each
    for nick in nicks:
        clients.append(await connected(server, nick, "#big"))
    watcher = await connected(server, "watcher", "#big")
    clients.append(watcher)
    for userhost in (False, True):
        if userhost:
            watcher.send("CAP REQ userhost-in-names")
            await watcher.expect("CAP", "watcher", "ACK")
        start = len(watcher.raw)
        watcher.send("NAMES #big")
        reply = await watcher.collect_until("366")
        lines = [m for m in reply if m.command == "353"]
        assert len(lines) >= 2
        raw_lines = [text for text in watcher.raw[start:] if " 353 " in text]
        assert all(len(text.encode()) + 2 <= 512 for text in raw_lines)
        listed = [entry for m in lines for entry in m.params[3].split()]
        names = [entry.lstrip("@+").split("!")[0] for entry in listed]
        assert names == [*nicks, "watcher"]
        assert listed[0].startswith("@member00_")
        if userhost:
            assert all(entry.endswith("!~u@127.0.0.1") for entry in listed)


# -- LIST -----------------------------------------------------------------------------------


async def test_list_shows_channels_with_member_count_and_topic(server, clients) -> None:
    alice = await connected(server, "alice", "#one")
    bob = await connected(server, "bob", "#one", "#two")
    clients.extend([alice, bob])
    alice.send("TOPIC #one :first topic")
    await alice.expect("TOPIC")
    alice.send("LIST")
    reply = await alice.collect_until("323")
    assert commands(reply) == ["321", "322", "322", "323"]
    assert reply[0].params == ["alice", "Channel", "Users  Name"]
    rows = sorted(m.params for m in reply[1:3])
    assert rows == [["alice", "#one", "2", "first topic"], ["alice", "#two", "1", ""]]
    assert reply[3].params == ["alice", "End of /LIST"]
    alice.send("LIST #two,#nowhere")
    reply = await alice.collect_until("323")
    assert commands(reply) == ["321", "322", "323"]
    assert reply[1].params == ["alice", "#two", "1", ""]


# -- PART -----------------------------------------------------------------------------------


async def test_part_with_reason_is_broadcast_with_it(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    bob.send("PART #room :see you later")
    for member in (bob, alice):
        part = await member.expect("PART")
        assert part.source == mask("bob")
        assert part.params == ["#room", "see you later"]
    alice.send("NAMES #room")
    assert (await alice.expect("353")).params[-1] == "@alice"


async def test_part_without_reason(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    bob.send("PART #room")
    part = await alice.expect("PART")
    assert part.source == mask("bob") and part.params == ["#room"]
    assert (await bob.expect("PART")).params == ["#room"]


async def test_part_errors_403_and_442(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    bob.send("PART #nowhere")
    reply = await bob.expect("403")
    assert reply.params == ["bob", "#nowhere", "No such channel"]
    bob.send("PART #room")
    reply = await bob.expect("442")
    assert reply.params == ["bob", "#room", "You're not on that channel"]
    bob.send("PART")
    reply = await bob.expect("461")
    assert reply.params == ["bob", "PART", "Not enough parameters"]


async def test_empty_channel_is_destroyed(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    alice.send("TOPIC #room :old topic")
    await bob.expect("TOPIC")
    alice.send("PART #room")
    await alice.expect("PART", "#room")
    bob.send("PART #room")
    await bob.expect(lambda m: m.command == "PART" and m.source == mask("bob"))
    alice.send("LIST")
    assert commands(await alice.collect_until("323")) == ["321", "323"]
    bob.send("JOIN #room")  # a new channel: bob creates it, as op, with no topic
    reply = await bob.collect_until("366")
    assert commands(reply) == ["JOIN", "MODE", "353", "366"]  # created anew: its modes shown
    assert reply[2].params[-1] == "@bob"


# -- NICK as seen from channels -------------------------------------------------------------


async def test_nick_change_is_seen_once_by_neighbours_and_self_not_strangers(server, clients) -> None:
    alice = await connected(server, "alice", "#a", "#b")
    bob = await connected(server, "bob", "#a", "#b")  # shares two channels: still one NICK
    carol = await connected(server, "carol", "#b")
    dave = await connected(server, "dave", "#elsewhere")
    clients.extend([alice, bob, carol, dave])
    await sync(alice)  # the JOINs are read
    alice.send("NICK alicia")
    mine = await alice.expect("NICK")
    assert mine.source == mask("alice") and mine.params == ["alicia"]
    for neighbour in (bob, carol):
        seen = [m for m in await sync(neighbour) if m.command == "NICK"]
        assert len(seen) == 1
        assert seen[0].source == mask("alice") and seen[0].params == ["alicia"]
    assert "NICK" not in commands(await sync(dave))
    alice.send("NAMES #b")
    assert (await alice.expect("353")).params[-1] == "@alicia bob carol"


async def test_nick_change_is_relayed_with_the_new_nick_as_trailing_parameter(server, clients) -> None:
    """`:old!u@h NICK :new`, as most servers send it: clients that read only the
    trailing parameter (ii) follow the change, their own included."""
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    await sync(alice)
    alice.send("NICK alicia")
    await alice.expect("NICK")
    assert alice.raw[-1] == f":{mask('alice')} NICK :alicia"
    await bob.expect("NICK")
    assert bob.raw[-1] == f":{mask('alice')} NICK :alicia"


async def test_nick_change_to_a_taken_nick_is_433(server, clients) -> None:
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    alice.send("NICK BOB")
    reply = await alice.expect("433")
    assert reply.params == ["alice", "BOB", "Nickname is already in use"]


async def test_case_only_change_of_own_nick_is_allowed(server, clients) -> None:
    alice = await connected(server, "alice", "#room")
    bob = await connected(server, "bob", "#room")
    clients.extend([alice, bob])
    alice.send("NICK Alice")
    mine = await alice.expect("NICK")
    assert mine.source == mask("alice") and mine.params == ["Alice"]
    seen = await bob.expect("NICK")
    assert seen.params == ["Alice"]
    alice.send("NICK Alice")  # the same nick exactly: nothing happens
    assert "NICK" not in commands(await sync(alice))
    bob.send("WHOIS alice")
    assert (await bob.expect("311")).params[1] == "Alice"


# -- parameters that cannot be repeated as they are -------------------------------------------


async def test_unrepeatable_channel_names_are_shown_as_star(server, clients) -> None:
    """A last parameter may be empty or hold spaces; the error names it `*` and goes on."""
    alice = await connected(server, "alice", "#room")
    clients.append(alice)
    cases = [
        ("TOPIC :", "403", ["alice", "*", "No such channel"]),
        ("TOPIC :#room x", "403", ["alice", "*", "No such channel"]),
        ("JOIN :#a b", "476", ["alice", "*", "Bad Channel Mask"]),
        ("JOIN :a b", "403", ["alice", "*", "No such channel"]),
        ("PART :#a b", "403", ["alice", "*", "No such channel"]),
        ("NAMES :#a b", "366", ["alice", "*", "End of /NAMES list"]),
        ("NAMES ,", "366", ["alice", "*", "End of /NAMES list"]),
    ]
    for line, code, params in cases:
        alice.send(line)
        reply = await alice.read_message()
        assert reply is not None, line
        assert (reply.command, reply.params) == (code, params), line
    alice.send("PRIVMSG #room :still here")  # the connection is still usable
    assert await sync(alice) == []
