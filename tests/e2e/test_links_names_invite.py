"""Transcripts of three small queries: LINKS (this server alone), NAMES of several
channels at once, and INVITE without parameters (the invitations one holds)."""

from __future__ import annotations

from tests.helpers import commands, connected, isupport_tokens, sync

SERVER = "hubbub.local"


# -- LINKS ----------------------------------------------------------------------------------


async def test_links_lists_this_server_then_365(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("LINKS")
    reply = await alice.collect_until("365")
    assert commands(reply) == ["364", "365"]
    assert reply[0].params == ["alice", SERVER, SERVER, "0 hubbub chat server"]
    assert reply[1].params == ["alice", "*", "End of /LINKS list"]


async def test_links_with_a_mask_lists_only_matching_servers(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("LINKS *.local")
    assert commands(await alice.collect_until("365")) == ["364", "365"]
    alice.send("LINKS *.example.org")
    (end,) = await alice.collect_until("365")
    assert end.params == ["alice", "*.example.org", "End of /LINKS list"]
    alice.send("LINKS elsewhere.example.org *")  # asked of another server: there is none
    assert (await alice.expect("402")).params[1] == "elsewhere.example.org"


# -- NAMES with several channels ------------------------------------------------------------


async def test_names_of_several_channels_answers_each_in_turn(server, clients) -> None:
    alice = await connected(server, "alice", "#a", "#b")
    bob = await connected(server, "bob", "#b")
    clients.extend([alice, bob])
    bob.send("NAMES #a,#b,#nowhere,#A")  # #A is #a again: answered once
    reply = await bob.collect_until(lambda m: m.command == "366" and m.params[1] == "#nowhere")
    assert commands(reply) == ["353", "366", "353", "366", "366"]
    assert reply[0].params == ["bob", "=", "#a", "@alice"]
    assert reply[1].params == ["bob", "#a", "End of /NAMES list"]
    assert reply[2].params == ["bob", "=", "#b", "@alice bob"]
    assert reply[4].params == ["bob", "#nowhere", "End of /NAMES list"]
    assert commands(await sync(bob)) == []


async def test_names_of_more_channels_than_targmax_is_407(make_server, clients) -> None:
    server = await make_server("limits.max_targets=2")
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("NAMES #a,#b,#c")
    reply = await alice.expect("407")
    assert reply.params[1] == "#a,#b,#c"
    alice.send("NAMES")
    assert (await alice.expect("366")).params == ["alice", "*", "End of /NAMES list"]


async def test_targmax_advertises_the_names_limit(make_server, clients) -> None:
    server = await make_server("limits.max_targets=3")
    client = await connected(server)
    clients.append(client)
    client.send("NICK alice")
    client.send("USER a 0 * :A")
    tokens = isupport_tokens(await client.collect_until("376"))
    targmax = dict(item.split(":") for item in tokens["TARGMAX"].split(","))
    assert targmax["NAMES"] == "3"
    # TAGMSG takes several targets too, under the same limit as PRIVMSG: a client reads it here
    assert targmax["TAGMSG"] == targmax["PRIVMSG"] == "3"
    client.send("CAP REQ message-tags")
    await client.expect("CAP")
    client.send("@+typing=active TAGMSG a,b,c,d")
    assert (await client.expect("407")).params[-1] == "Too many targets, the limit is 3"


# -- INVITE without parameters ----------------------------------------------------------------


async def test_invite_alone_lists_the_invitations_held_until_used(server, clients) -> None:
    alice = await connected(server, "alice", "#a", "#b")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    bob.send("INVITE")
    (end,) = await bob.collect_until("337")
    assert end.params == ["bob", "End of /INVITE list"]
    alice.send("MODE #b +i")
    await alice.expect("MODE", "#b", "+i")
    for channel in ("#b", "#a"):
        alice.send(f"INVITE bob {channel}")
        await bob.expect("INVITE", "bob", channel)
    bob.send("INVITE")
    reply = await bob.collect_until("337")
    assert commands(reply) == ["336", "336", "337"]
    assert [m.params for m in reply[:2]] == [["bob", "#a"], ["bob", "#b"]]
    await bob.join("#b")  # an invitation is used up by the join it lets in
    bob.send("INVITE")
    reply = await bob.collect_until("337")
    assert [m.params for m in reply] == [["bob", "#a"], ["bob", "End of /INVITE list"]]


async def test_invite_with_one_parameter_is_461(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("INVITE bob")
    assert (await alice.expect("461")).params == ["alice", "INVITE", "Not enough parameters"]
